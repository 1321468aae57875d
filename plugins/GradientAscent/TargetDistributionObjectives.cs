using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>The shifted view of a forget batch that CE-U and UNDIAL work on: logits at t [B, T-1, V] against the label
/// at t + 1, with the labels made safe for indexing and the mask of answer tokens.</summary>
internal static class ShiftedAnswer
{
    public static (Tensor Logits, Tensor Labels, Tensor Mask) Of(Tensor logits, Tensor labels)
    {
        var t = logits.shape[1];
        var shiftedLogits = logits.narrow(1, 0, t - 1).to_type(ScalarType.Float32);
        var shiftedLabels = labels.narrow(1, 1, t - 1);
        var mask = shiftedLabels.ne(TokenBatch.IgnoreIndex);
        return (shiftedLogits, shiftedLabels.masked_fill(mask.logical_not(), 0), mask.to_type(ScalarType.Float32));
    }

    /// <summary>One-hot [B, T-1, V] (bool) of the labels.</summary>
    public static Tensor LabelPositions(Tensor safeLabels, long vocabulary) =>
        nn.functional.one_hot(safeLabels, vocabulary).to_type(ScalarType.Bool);

    /// <summary>Cross-entropy −Σ_v q(v)·log p_θ(v) of each position [B, T-1] against a target distribution q.</summary>
    public static Tensor CrossEntropy(Tensor target, Tensor logits) =>
        -(target * nn.functional.log_softmax(logits, -1)).sum(-1);

    public static Tensor MaskedMean(Tensor perPosition, Tensor mask) => (perPosition * mask).sum() / mask.sum().clamp_min(1.0);

    /// <summary>The objective's loss with its logs (<paramref name="lossName"/> and "forget_nll") plus the optional λ·retain NLL.</summary>
    public static ObjectiveLoss WithRetainNll(Tensor loss, string lossName, Tensor forgetLogits, ObjectiveContext context, UnlearnBatch batch, double retainWeight)
    {
        var logs = new Dictionary<string, double> { [lossName] = loss.item<float>() };
        using (no_grad())
            logs["forget_nll"] = AnswerLoss.MeanNll(forgetLogits, batch.Forget.Labels).item<float>();
        var retainTerm = RetainRegulariser.Compute(RetainTerm.Nll, retainWeight, context, batch, logs);
        return ObjectiveLoss.Sum(logs, loss, retainTerm);
    }
}

/// <summary>CE-U (cross-entropy unlearning, Yang 2025, arXiv:2503.01224): at every forget answer position the target is
/// the model's own next-token distribution with the true token removed, q = softmax(z̄ with z̄_y = −∞) from the detached
/// logits z̄, and the loss is the cross-entropy −Σ_v q(v)·log p_θ(v), averaged over the answer tokens; the first
/// <c>ignoreFirst</c> answer tokens of each sequence carry no loss. Its gradient on the logits is p_θ − q: the true
/// token's probability is pushed to 0 while the other tokens keep their relative odds. An optional λ·retain NLL.</summary>
/// <param name="ignoreFirst">Leading answer tokens of each sequence left out (≥ 0).</param>
/// <param name="retainWeight">λ ≥ 0.</param>
public sealed class CrossEntropyUnlearningObjective(int ignoreFirst, double retainWeight) : IObjective
{
    /// <inheritdoc />
    public ObjectiveNeeds Needs => RetainRegulariser.Needs(RetainTerm.Nll, retainWeight);

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var forget = batch.Forget;
        var output = context.Model.Forward(forget.InputIds, forget.AttentionMask).Logits;
        var (logits, labels, mask) = ShiftedAnswer.Of(output, forget.Labels);
        if (ignoreFirst > 0) mask = mask * mask.cumsum(1).gt(ignoreFirst).to_type(ScalarType.Float32);
        var target = nn.functional.softmax(logits.detach().masked_fill(ShiftedAnswer.LabelPositions(labels, logits.shape[2]), double.NegativeInfinity), -1);
        var loss = ShiftedAnswer.MaskedMean(ShiftedAnswer.CrossEntropy(target, logits), mask);
        return ShiftedAnswer.WithRetainNll(loss, "ceu_loss", output, context, batch, retainWeight);
    }
}

/// <summary>UNDIAL (self-distillation with adjusted logits, Dong et al. 2025, arXiv:2402.10052): at every forget answer
/// position the target is the frozen reference model's distribution with the true token's logit lowered by γ,
/// q = softmax(z_ref − γ·e_y), and the loss is the cross-entropy −Σ_v q(v)·log p_θ(v), averaged over the answer tokens.
/// Question and padding positions carry no loss. An optional λ·retain NLL.</summary>
/// <param name="strength">γ &gt; 0.</param>
/// <param name="retainWeight">λ ≥ 0.</param>
public sealed class UndialObjective(double strength, double retainWeight) : IObjective
{
    /// <inheritdoc />
    public ObjectiveNeeds Needs => ObjectiveNeeds.ReferenceModel | RetainRegulariser.Needs(RetainTerm.Nll, retainWeight);

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var reference = context.Reference
            ?? throw new InvalidOperationException("UNDIAL needs the reference model (ObjectiveNeeds.ReferenceModel) but the host passed none");
        var forget = batch.Forget;
        var output = context.Model.Forward(forget.InputIds, forget.AttentionMask).Logits;
        var (logits, labels, mask) = ShiftedAnswer.Of(output, forget.Labels);
        Tensor target;
        using (no_grad())
        {
            var referenceLogits = ShiftedAnswer.Of(reference.Forward(forget.InputIds, forget.AttentionMask).Logits, forget.Labels).Logits;
            var trueToken = ShiftedAnswer.LabelPositions(labels, referenceLogits.shape[2]).to_type(ScalarType.Float32);
            target = nn.functional.softmax(referenceLogits - strength * trueToken, -1).detach();
        }
        var loss = ShiftedAnswer.MaskedMean(ShiftedAnswer.CrossEntropy(target, logits), mask);
        return ShiftedAnswer.WithRetainNll(loss, "undial_loss", output, context, batch, retainWeight);
    }
}
