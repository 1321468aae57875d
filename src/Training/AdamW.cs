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

/// <summary>AdamW with decoupled weight decay (Loshchilov &amp; Hutter). One-dimensional parameters (biases, norms) get
/// no decay. The moments are kept in <c>stateType</c>: float32, or bfloat16 to halve their memory. Each parameter is
/// updated by one fused pass over its float32 weights, gradient and moments (in parallel slices), computed in float32
/// and, with bfloat16 state, rounded to the nearest bfloat16 once when stored: no temporary tensor the size of a
/// parameter is made, which on a 1B model is both most of the step's optimiser time and gigabytes of short-lived
/// memory.</summary>
public sealed class AdamW : IOptimizer
{
    private const long Slice = 1 << 16; // elements per parallel work item
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;
    private readonly double _beta1, _beta2, _eps, _weightDecay;

    /// <summary>Creates the optimiser over <paramref name="parameters"/> (float32 CPU tensors), its moments in
    /// <paramref name="stateType"/> (float32 or bfloat16).</summary>
    public AdamW(IReadOnlyList<Parameter> parameters, double beta1, double beta2, double eps, double weightDecay, ScalarType stateType = ScalarType.Float32)
    {
        if (stateType is not (ScalarType.Float32 or ScalarType.BFloat16)) throw new ArgumentException($"AdamW keeps its moments in float32 or bfloat16, not {stateType}", nameof(stateType));
        foreach (var p in parameters)
            if (p.dtype != ScalarType.Float32 || p.device_type != DeviceType.CPU || !p.is_contiguous())
                throw new ArgumentException($"AdamW updates contiguous float32 CPU parameters; got a {p.dtype} parameter on {p.device_type}", nameof(parameters));
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
        var update = new Update(
            (float)_beta1, (float)(1 - _beta1), (float)_beta2, (float)(1 - _beta2), (float)(1 - Math.Pow(_beta2, Steps)),
            (float)_eps, (float)(-lr / (1 - Math.Pow(_beta1, Steps))), 1f);
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            using var scope = NewDisposeScope();
            var p = _parameters[i];
            var g = p.grad;
            if (g is null) continue;
            if (!g.is_contiguous()) g = g.contiguous();
            var u = update with { Decay = _weightDecay > 0 && p.dim() > 1 ? (float)(1 - lr * _weightDecay) : 1f };
            Apply(u, p, g, _m[i], _v[i]);
        }
    }

    // The per-step constants of one parameter's update.
    private readonly record struct Update(float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2, float Correction2,
        float Eps, float StepSize, float Decay);

    private static unsafe void Apply(Update u, Tensor p, Tensor g, Tensor m, Tensor v)
    {
        var n = p.numel();
        using var pf = p.view(-1);
        using var gf = g.view(-1);
        using var mf = m.view(-1);
        using var vf = v.view(-1);
        // A span covers at most 2 GiB, so a larger parameter is taken in parts.
        const long part = 1L << 28;
        for (long start = 0; start < n; start += part)
        {
            var count = Math.Min(part, n - start);
            using var pp = pf.narrow(0, start, count);
            using var gp = gf.narrow(0, start, count);
            using var mp = mf.narrow(0, start, count);
            using var vp = vf.narrow(0, start, count);
            fixed (byte* pb = pp.bytes, gb = gp.bytes, mb = mp.bytes, vb = vp.bytes)
            {
                var (pa, ga, ma, va) = ((nint)pb, (nint)gb, (nint)mb, (nint)vb);
                var bf16 = m.dtype == ScalarType.BFloat16;
                var slices = (count + Slice - 1) / Slice;
                if (slices == 1) Run(u, pa, ga, ma, va, bf16, 0, count);
                else Parallel.For(0, slices, s => Run(u, pa, ga, ma, va, bf16, s * Slice, Math.Min(count, (s + 1) * Slice)));
            }
        }
    }

    private static unsafe void Run(Update u, nint pa, nint ga, nint ma, nint va, bool bf16, long from, long to)
    {
        var p = (float*)pa;
        var g = (float*)ga;
        for (var j = from; j < to; j++)
        {
            var gj = g[j];
            float mj, vj;
            if (bf16)
            {
                mj = FromBf16(((ushort*)ma)[j]) * u.Beta1 + gj * u.OneMinusBeta1;
                vj = FromBf16(((ushort*)va)[j]) * u.Beta2 + gj * gj * u.OneMinusBeta2;
                ((ushort*)ma)[j] = ToBf16(mj);
                ((ushort*)va)[j] = ToBf16(vj);
            }
            else
            {
                mj = ((float*)ma)[j] * u.Beta1 + gj * u.OneMinusBeta1;
                vj = ((float*)va)[j] * u.Beta2 + gj * gj * u.OneMinusBeta2;
                ((float*)ma)[j] = mj;
                ((float*)va)[j] = vj;
            }
            p[j] = p[j] * u.Decay + u.StepSize * mj / (MathF.Sqrt(vj / u.Correction2) + u.Eps);
        }
    }

    private static float FromBf16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    // Round to nearest, ties to even (as torch converts); NaN stays NaN.
    private static ushort ToBf16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
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
