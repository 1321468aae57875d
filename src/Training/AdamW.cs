using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unlearn.Training;

/// <summary>AdamW with decoupled weight decay (Loshchilov &amp; Hutter), written on tensors so its state is plain
/// tensors that checkpoints save and restore exactly. One-dimensional parameters (biases, norms) get no decay.</summary>
public sealed class AdamW : IDisposable
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;
    private readonly double _beta1, _beta2, _eps, _weightDecay;

    /// <summary>Creates the optimiser over <paramref name="parameters"/>.</summary>
    public AdamW(IReadOnlyList<Parameter> parameters, double beta1, double beta2, double eps, double weightDecay)
    {
        _parameters = parameters;
        _beta1 = beta1; _beta2 = beta2; _eps = eps; _weightDecay = weightDecay;
        _m = parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _v = parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Optimiser steps taken.</summary>
    public long Steps { get; private set; }

    /// <summary>First and second moment buffers, named for checkpoints.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State()
    {
        for (var i = 0; i < _m.Length; i++)
        {
            yield return ($"m.{i}", _m[i]);
            yield return ($"v.{i}", _v[i]);
        }
    }

    /// <summary>Restores the step count after loading <see cref="State"/>.</summary>
    public void SetSteps(long steps) => Steps = steps;

    /// <summary>One update with learning rate <paramref name="lr"/>. Parameters without a gradient are skipped.</summary>
    public void Step(double lr)
    {
        Steps++;
        var bc1 = 1 - Math.Pow(_beta1, Steps);
        var bc2 = 1 - Math.Pow(_beta2, Steps);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        for (var i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i];
            var g = p.grad;
            if (g is null) continue;
            _m[i].mul_(_beta1).add_(g, alpha: 1 - _beta1);
            _v[i].mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
            if (_weightDecay > 0 && p.dim() > 1) p.mul_(1 - lr * _weightDecay);
            var denom = (_v[i] / bc2).sqrt_().add_(_eps);
            p.addcdiv_(_m[i], denom, value: -lr / bc1);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
