using static TorchSharp.torch;

namespace Unlearn.Plugins.Attacks.Weights;

/// <summary>Round-trips every weight matrix through symmetric integer quantization: per output channel (each row
/// has the scale max|w| / q_max) or group-wise (each run of <see cref="QuantizeOptions.GroupSize"/> weights of a row
/// has its own scale), q_max = 2^(bits−1) − 1, w' = clamp(round(w / scale), −q_max, q_max) · scale. Every weight
/// moves by at most half its step (scale / 2). Vectors (norms, biases) stay in full precision, as quantizers keep
/// them. The attack that un-does unlearning whose weight change is smaller than the quantization step.</summary>
public sealed class QuantizeAttack(QuantizeOptions options) : IAttack
{
    /// <inheritdoc />
    public bool ChangesWeights => true;

    /// <inheritdoc />
    public void AttackWeights(AttackSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        using var noGrad = no_grad();
        foreach (var (_, parameter) in setup.Model.Module.named_parameters())
        {
            if (parameter.dim() < 2) continue;
            using var scope = NewDisposeScope();
            parameter.copy_(RoundTrip(parameter, options.Bits, options.GroupSize));
        }
    }

    /// <summary>The quantized-then-dequantized copy of a matrix (rows = output channels; higher dimensions are
    /// flattened into rows of the last dimension).</summary>
    public static Tensor RoundTrip(Tensor weight, int bits, int? groupSize)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var qmax = (1 << (bits - 1)) - 1;
        var columns = weight.shape[^1];
        var rows = weight.reshape(-1, columns).to_type(ScalarType.Float32);
        var group = groupSize is { } g && g < columns ? g : columns;
        var padded = (columns + group - 1) / group * group;
        var grouped = (padded == columns ? rows : nn.functional.pad(rows, [0, padded - columns])).reshape(rows.shape[0], -1, group);
        var scale = grouped.abs().amax([2], keepdim: true) / qmax;
        // An all-zero group keeps scale 0 and stays zero.
        var safe = where(scale > 0, scale, ones_like(scale));
        var dequantized = (grouped / safe).round().clamp(-qmax, qmax) * scale;
        return dequantized.reshape(rows.shape[0], padded)[.., ..(int)columns].reshape(weight.shape).to_type(weight.dtype);
    }
}
