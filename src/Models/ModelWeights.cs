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
            Mix(d, sa, sb, alpha);
        }
    }

    /// <summary><see cref="Interpolate"/> with θ_a and θ_b read tensor by tensor from their checkpoints (as float32,
    /// exactly as <see cref="CausalLM.Load"/> reads them) instead of resident models: only one tensor of each is in
    /// memory at a time, and the result is bit for bit the one <see cref="Interpolate"/> gives over the loaded models.
    /// α = 0 reads only <paramref name="a"/>, α = 1 only <paramref name="b"/>.</summary>
    public static void Interpolate(CausalLM dst, SafetensorsCheckpoint a, SafetensorsCheckpoint b, double alpha)
    {
        if (double.IsNaN(alpha) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be finite");
        using var noGrad = no_grad();
        foreach (var (name, d) in dst.named_parameters())
        {
            using var scope = NewDisposeScope();
            Tensor Read(SafetensorsCheckpoint checkpoint)
            {
                var entry = checkpoint.Find(name) ?? throw new InvalidDataException($"{checkpoint.Directory}: weight '{name}' is missing from the checkpoint");
                if (!entry.Shape.SequenceEqual(d.shape))
                    throw new InvalidDataException($"{checkpoint.Directory}: weight '{name}' has shape [{string.Join(", ", entry.Shape)}] but the model has [{string.Join(", ", d.shape)}]");
                return checkpoint.ReadFloat32(name);
            }
            if (alpha == 0) d.copy_(Read(a));
            else if (alpha == 1) d.copy_(Read(b));
            else Mix(d, Read(a), Read(b), alpha);
        }
    }

    // d = (1 − α)·a + α·b, in place in d; α = 0 and α = 1 copy exactly.
    private static void Mix(Tensor d, Tensor a, Tensor b, double alpha)
    {
        if (alpha == 0) d.copy_(a);
        else if (alpha == 1) d.copy_(b);
        else
        {
            using var scope = NewDisposeScope();
            // d = a + α(b − a), computed in place in d.
            d.copy_(b).sub_(a).mul_(alpha).add_(a);
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
