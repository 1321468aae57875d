using static TorchSharp.torch;

namespace Unlearn.Models;

/// <summary>Whole-model weight operations, parameter by parameter (matched by name), in place and without
/// gradient tracking.</summary>
public static class ModelWeights
{
    private static IEnumerable<(string Name, Tensor Dst, Tensor Src)> Pairs(CausalLM dst, CausalLM src, string what)
    {
        var source = src.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var targets = dst.named_parameters().ToList();
        if (targets.Count != source.Count)
            throw new ArgumentException($"{what}: the models have different parameter sets ({targets.Count} vs {source.Count})");
        foreach (var (name, p) in targets)
        {
            if (!source.TryGetValue(name, out var s)) throw new ArgumentException($"{what}: parameter '{name}' is missing from the other model");
            if (!s.shape.SequenceEqual(p.shape)) throw new ArgumentException($"{what}: parameter '{name}' has shape [{string.Join(", ", p.shape)}] vs [{string.Join(", ", s.shape)}]");
            yield return (name, p, s);
        }
    }

    /// <summary>Copies every weight of <paramref name="src"/> into <paramref name="dst"/> (same architecture).</summary>
    public static void CopyInto(CausalLM dst, CausalLM src)
    {
        using var noGrad = no_grad();
        foreach (var (_, d, s) in Pairs(dst, src, nameof(CopyInto))) d.copy_(s);
    }

    /// <summary>Writes θ = (1 − α)·a + α·b into the preallocated <paramref name="dst"/>, parameter by parameter, with no
    /// full-model temporaries. α = 0 reproduces <paramref name="a"/> and α = 1 reproduces <paramref name="b"/> exactly.</summary>
    public static void Interpolate(CausalLM dst, CausalLM a, CausalLM b, double alpha)
    {
        if (double.IsNaN(alpha) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be finite");
        using var noGrad = no_grad();
        var bParams = b.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        foreach (var (name, d, sa) in Pairs(dst, a, nameof(Interpolate)))
        {
            var sb = bParams.TryGetValue(name, out var t) ? t : throw new ArgumentException($"{nameof(Interpolate)}: parameter '{name}' is missing from model b");
            if (!sb.shape.SequenceEqual(d.shape)) throw new ArgumentException($"{nameof(Interpolate)}: parameter '{name}' has a different shape in model b");
            if (alpha == 0) d.copy_(sa);
            else if (alpha == 1) d.copy_(sb);
            else
            {
                using var scope = NewDisposeScope();
                // d = a + α(b − a), computed in place in d.
                d.copy_(sb).sub_(sa).mul_(alpha).add_(sa);
            }
        }
    }

    /// <summary>The largest absolute difference between corresponding weights.</summary>
    public static double MaxAbsDifference(CausalLM a, CausalLM b)
    {
        using var noGrad = no_grad();
        double max = 0;
        foreach (var (_, x, y) in Pairs(a, b, nameof(MaxAbsDifference)))
        {
            using var scope = NewDisposeScope();
            max = Math.Max(max, (x - y).abs().max().item<float>());
        }
        return max;
    }

    /// <summary>True when every weight is bit-for-bit equal.</summary>
    public static bool AreIdentical(CausalLM a, CausalLM b)
    {
        using var noGrad = no_grad();
        foreach (var (_, x, y) in Pairs(a, b, nameof(AreIdentical)))
        {
            using var scope = NewDisposeScope();
            if (!x.equal(y).all().item<bool>()) return false;
        }
        return true;
    }
}
