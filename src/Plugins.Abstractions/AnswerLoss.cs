using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins;

/// <summary>The logits of a batch at the positions that predict an answer token, and nowhere else. With the Hugging
/// Face shift, the logits at position t predict the label at t + 1, so the positions are those t &lt; T − 1 whose next
/// label is not <see cref="TokenBatch.IgnoreIndex"/>.</summary>
/// <param name="Logits">[N, V] float32, the N answer positions of the batch in row-major order.</param>
/// <param name="Labels">[N] int64, the answer token each position predicts.</param>
/// <param name="Mask">[B, T − 1] bool, which shifted positions the N rows are.</param>
public sealed record AnswerLogits(Tensor Logits, Tensor Labels, Tensor Mask)
{
    /// <summary>Runs <paramref name="model"/> and applies its output head only at the answer positions: question tokens
    /// and padding never reach the head, which is most of a small model's FLOPs. Gradients flow as with full logits.</summary>
    public static AnswerLogits Of(ILanguageModel model, TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        var (labels, mask) = Shift(batch.Labels);
        var hidden = model.LastHiddenState(batch.InputIds, batch.AttentionMask).narrow(1, 0, mask.shape[1]);
        var logits = model.Head(hidden[mask]).to_type(ScalarType.Float32);
        return new AnswerLogits(logits.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    /// <summary>The answer positions of full logits [B, T, V] with their labels [B, T].</summary>
    public static AnswerLogits FromFull(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = NewDisposeScope();
        var (picked, mask) = Shift(labels);
        var selected = logits.narrow(1, 0, mask.shape[1])[mask].to_type(ScalarType.Float32);
        return new AnswerLogits(selected.MoveToOuterDisposeScope(), picked.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    /// <summary>The same positions with the logits cut from the autograd graph.</summary>
    public AnswerLogits Detach() => this with { Logits = Logits.detach() };

    private static (Tensor Labels, Tensor Mask) Shift(Tensor labels)
    {
        var t = labels.shape[1];
        if (t < 2) throw new ArgumentException($"a batch needs at least 2 positions to have a label after the first, got {t}", nameof(labels));
        var shifted = labels.narrow(1, 1, t - 1);
        var mask = shifted.ne(TokenBatch.IgnoreIndex);
        return (shifted[mask], mask);
    }
}

/// <summary>Per-token answer log-likelihoods, the quantity every GA-family objective and every teacher-forced metric
/// is built from. Per-token results are laid out [B, T − 1] over the shifted positions (see <see cref="TokenBatch"/>),
/// 0 on question tokens and padding. The overloads on a model and batch apply the output head only at answer
/// positions (<see cref="AnswerLogits.Of"/>); those on full logits [B, T, V] give the same values.</summary>
public static class AnswerLoss
{
    /// <summary>Token NLL of each answer token, and the mask of answer tokens: (nll [B, T−1], mask [B, T−1] float, 1 on
    /// answer tokens). Logits are divided by <paramref name="temperature"/> first (temperature scaling).</summary>
    public static (Tensor Nll, Tensor Mask) TokenNll(AnswerLogits answer, double temperature = 1.0)
    {
        ArgumentNullException.ThrowIfNull(answer);
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be > 0");
        using var scope = NewDisposeScope();
        var logits = temperature != 1.0 ? answer.Logits / temperature : answer.Logits;
        var picked = -nn.functional.log_softmax(logits, -1).gather(-1, answer.Labels.unsqueeze(-1)).squeeze(-1);
        var nll = zeros(answer.Mask.shape, dtype: ScalarType.Float32, device: picked.device).masked_scatter(answer.Mask, picked);
        var maskF = answer.Mask.to_type(ScalarType.Float32);
        return (nll.MoveToOuterDisposeScope(), maskF.MoveToOuterDisposeScope());
    }

    /// <summary><see cref="TokenNll(AnswerLogits, double)"/> from full logits [B, T, V] and labels [B, T].</summary>
    public static (Tensor Nll, Tensor Mask) TokenNll(Tensor logits, Tensor labels, double temperature = 1.0) =>
        WithAnswers(AnswerLogits.FromFull(logits, labels), a => TokenNll(a, temperature));

    /// <summary><see cref="TokenNll(AnswerLogits, double)"/> of a batch, the head applied only at answer positions.</summary>
    public static (Tensor Nll, Tensor Mask) TokenNll(ILanguageModel model, TokenBatch batch, double temperature = 1.0) =>
        WithAnswers(AnswerLogits.Of(model, batch), a => TokenNll(a, temperature));

    /// <summary>Summed answer NLL per sequence, ℓ(a|q) [B], and answer token counts [B] (float).</summary>
    public static (Tensor Sum, Tensor Count) SequenceNll(Tensor logits, Tensor labels, double temperature = 1.0) =>
        Sums(TokenNll(logits, labels, temperature));

    /// <summary><see cref="SequenceNll(Tensor, Tensor, double)"/> of a batch, the head applied only at answer positions.</summary>
    public static (Tensor Sum, Tensor Count) SequenceNll(ILanguageModel model, TokenBatch batch, double temperature = 1.0) =>
        Sums(TokenNll(model, batch, temperature));

    /// <summary>Summed answer NLL per sequence and answer token counts, from answer logits.</summary>
    public static (Tensor Sum, Tensor Count) SequenceNll(AnswerLogits answer, double temperature = 1.0) => Sums(TokenNll(answer, temperature));

    /// <summary>Mean NLL over all answer tokens, from answer logits.</summary>
    public static Tensor MeanNll(AnswerLogits answer, double temperature = 1.0) => Mean(TokenNll(answer, temperature));

    /// <summary>Mean NLL over all answer tokens of the batch (the usual language-model loss).</summary>
    public static Tensor MeanNll(Tensor logits, Tensor labels, double temperature = 1.0) => Mean(TokenNll(logits, labels, temperature));

    /// <summary><see cref="MeanNll(Tensor, Tensor, double)"/> of a batch, the head applied only at answer positions.</summary>
    public static Tensor MeanNll(ILanguageModel model, TokenBatch batch, double temperature = 1.0) => Mean(TokenNll(model, batch, temperature));

    private static T WithAnswers<T>(AnswerLogits answer, Func<AnswerLogits, T> use)
    {
        try { return use(answer); }
        finally { answer.Logits.Dispose(); answer.Labels.Dispose(); answer.Mask.Dispose(); }
    }

    private static (Tensor Sum, Tensor Count) Sums((Tensor Nll, Tensor Mask) tokens)
    {
        using (tokens.Nll) using (tokens.Mask)
            return (tokens.Nll.sum(1), tokens.Mask.sum(1));
    }

    private static Tensor Mean((Tensor Nll, Tensor Mask) tokens)
    {
        using (tokens.Nll) using (tokens.Mask)
            return tokens.Nll.sum() / tokens.Mask.sum().clamp_min(1.0);
    }
}
