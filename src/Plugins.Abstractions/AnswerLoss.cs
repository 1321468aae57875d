using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins;

/// <summary>Per-token answer log-likelihoods, the quantity every GA-family objective and every
/// teacher-forced metric is built from. Shapes: logits [B, T, V], labels [B, T] (see <see cref="TokenBatch"/>).</summary>
public static class AnswerLoss
{
    /// <summary>Token NLL of each label under the shifted logits, and the mask of answer tokens.
    /// Returns (nll [B, T-1], mask [B, T-1] float, 1 on answer tokens). Logits are divided by
    /// <paramref name="temperature"/> first (temperature scaling); padding and question tokens carry 0.</summary>
    public static (Tensor Nll, Tensor Mask) TokenNll(Tensor logits, Tensor labels, double temperature = 1.0)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be > 0");
        using var scope = NewDisposeScope();
        var t = logits.shape[1];
        var shiftedLogits = logits.narrow(1, 0, t - 1).to_type(ScalarType.Float32);
        if (temperature != 1.0) shiftedLogits = shiftedLogits / temperature;
        var shiftedLabels = labels.narrow(1, 1, t - 1);
        var mask = shiftedLabels.ne(TokenBatch.IgnoreIndex);
        var safeLabels = shiftedLabels.masked_fill(mask.logical_not(), 0);
        var logProbs = nn.functional.log_softmax(shiftedLogits, -1);
        var picked = logProbs.gather(-1, safeLabels.unsqueeze(-1)).squeeze(-1);
        var maskF = mask.to_type(ScalarType.Float32);
        var nll = -picked * maskF;
        return (nll.MoveToOuterDisposeScope(), maskF.MoveToOuterDisposeScope());
    }

    /// <summary>Summed answer NLL per sequence, ℓ(a|q) [B], and answer token counts [B] (float).</summary>
    public static (Tensor Sum, Tensor Count) SequenceNll(Tensor logits, Tensor labels, double temperature = 1.0)
    {
        var (nll, mask) = TokenNll(logits, labels, temperature);
        using (nll) using (mask)
            return (nll.sum(1), mask.sum(1));
    }

    /// <summary>Mean NLL over all answer tokens of the batch (the usual language-model loss).</summary>
    public static Tensor MeanNll(Tensor logits, Tensor labels, double temperature = 1.0)
    {
        var (nll, mask) = TokenNll(logits, labels, temperature);
        using (nll) using (mask)
            return nll.sum() / mask.sum().clamp_min(1.0);
    }
}
