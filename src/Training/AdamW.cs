using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unlearn.Training;

/// <summary>An optimiser over a fixed parameter list whose state is plain tensors that checkpoints save and restore
/// exactly.</summary>
public interface IOptimizer : IDisposable
{
    /// <summary>Optimiser steps taken.</summary>
    long Steps { get; }

    /// <summary>The state buffers, named for checkpoints (none for plain SGD).</summary>
    IEnumerable<(string Name, Tensor Tensor)> State();

    /// <summary>Restores the step count after loading <see cref="State"/>.</summary>
    void SetSteps(long steps);

    /// <summary>One update with learning rate <paramref name="lr"/>. Parameters without a gradient are skipped.</summary>
    void Step(double lr);

    /// <summary>The optimiser <paramref name="settings"/> name, over <paramref name="parameters"/>.</summary>
    static IOptimizer Create(IReadOnlyList<Parameter> parameters, TrainerSettings settings) => settings.Optimizer switch
    {
        OptimizerKind.Sgd => new Sgd(parameters, settings.WeightDecay),
        var kind => new AdamW(parameters, settings.Beta1, settings.Beta2, settings.Epsilon, settings.WeightDecay,
            kind == OptimizerKind.AdamwBf16State ? ScalarType.BFloat16 : ScalarType.Float32),
    };
}

/// <summary>AdamW with decoupled weight decay (Loshchilov &amp; Hutter), written on tensors. One-dimensional parameters
/// (biases, norms) get no decay. The moments are kept in <c>stateType</c>: float32, or bfloat16 to halve their
/// memory (each update is computed in the parameter's dtype and rounded to the nearest bfloat16 once).</summary>
public sealed class AdamW : IOptimizer
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;
    private readonly double _beta1, _beta2, _eps, _weightDecay;

    /// <summary>Creates the optimiser over <paramref name="parameters"/>, its moments in <paramref name="stateType"/>.</summary>
    public AdamW(IReadOnlyList<Parameter> parameters, double beta1, double beta2, double eps, double weightDecay, ScalarType stateType = ScalarType.Float32)
    {
        _parameters = parameters;
        _beta1 = beta1; _beta2 = beta2; _eps = eps; _weightDecay = weightDecay;
        _m = parameters.Select(p => zeros_like(p, dtype: stateType).DetachFromDisposeScope()).ToArray();
        _v = parameters.Select(p => zeros_like(p, dtype: stateType).DetachFromDisposeScope()).ToArray();
    }

    /// <inheritdoc />
    public long Steps { get; private set; }

    /// <inheritdoc />
    public IEnumerable<(string Name, Tensor Tensor)> State()
    {
        for (var i = 0; i < _m.Length; i++)
        {
            yield return ($"m.{i}", _m[i]);
            yield return ($"v.{i}", _v[i]);
        }
    }

    /// <inheritdoc />
    public void SetSteps(long steps) => Steps = steps;

    /// <inheritdoc />
    public void Step(double lr)
    {
        Steps++;
        var bc1 = 1 - Math.Pow(_beta1, Steps);
        var bc2 = 1 - Math.Pow(_beta2, Steps);
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var p = _parameters[i];
            var g = p.grad;
            if (g is null) continue;
            var exact = _m[i].dtype == p.dtype;
            var m = exact ? _m[i] : _m[i].to_type(p.dtype);
            var v = exact ? _v[i] : _v[i].to_type(p.dtype);
            m.mul_(_beta1).add_(g, alpha: 1 - _beta1);
            v.mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
            if (!exact) { _m[i].copy_(m); _v[i].copy_(v); }
            if (_weightDecay > 0 && p.dim() > 1) p.mul_(1 - lr * _weightDecay);
            var denom = (v / bc2).sqrt_().add_(_eps);
            p.addcdiv_(m, denom, value: -lr / bc1);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}

/// <summary>Plain stochastic gradient descent with AdamW's decoupled weight decay: p ← p·(1 − lr·wd) − lr·g (no decay
/// for one-dimensional parameters). No state, so no optimiser memory.</summary>
public sealed class Sgd(IReadOnlyList<Parameter> parameters, double weightDecay) : IOptimizer
{
    /// <inheritdoc />
    public long Steps { get; private set; }

    /// <inheritdoc />
    public IEnumerable<(string Name, Tensor Tensor)> State() => [];

    /// <inheritdoc />
    public void SetSteps(long steps) => Steps = steps;

    /// <inheritdoc />
    public void Step(double lr)
    {
        Steps++;
        using var noGrad = no_grad();
        foreach (var p in parameters)
        {
            if (p.grad is not { } g) continue;
            if (weightDecay > 0 && p.dim() > 1) p.mul_(1 - lr * weightDecay);
            p.add_(g, alpha: -lr);
        }
    }

    /// <inheritdoc />
    public void Dispose() { }
}
