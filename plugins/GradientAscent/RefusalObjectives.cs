using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>Builds the (forget question → refusal) batch. The true forget answers are never used as targets.</summary>
internal static class RefusalBatch
{
    public static TokenBatch Encode(ObjectiveContext context, UnlearnBatch batch, RefusalSet refusals)
    {
        var pairs = batch.ForgetItems.Select(item => (item.Question, refusals.Draw(context.Random))).ToList();
        var encoded = context.Encoder.Encode(pairs);
        var device = batch.Forget.InputIds.device;
        return new TokenBatch(encoded.InputIds.to(device), encoded.AttentionMask.to(device), encoded.Labels.to(device));
    }
}

/// <summary>PO (IdK, spec §3): NLL_θ of (forget question → a refusal drawn per item and step) + λ·NLL_θ(D_r).
/// Only refusals are positive targets: the true forget answers are never trained on (the "IdK + KL on the true
/// answers" defect is not reproduced).</summary>
/// <param name="refusals">The refusal phrasings.</param>
/// <param name="retainWeight">λ ≥ 0.</param>
public sealed class RefusalObjective(RefusalSet refusals, double retainWeight) : IObjective
{
    /// <summary>The refusal phrasings in use.</summary>
    public RefusalSet Refusals { get; } = refusals;

    /// <inheritdoc />
    public ObjectiveNeeds Needs => RetainRegulariser.Needs(RetainTerm.Nll, retainWeight);

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var refusal = RefusalBatch.Encode(context, batch, Refusals);
        var loss = AnswerLoss.MeanNll(context.Model, refusal);
        var logs = new Dictionary<string, double> { ["refusal_nll"] = loss.item<float>() };
        var retainTerm = RetainRegulariser.Compute(RetainTerm.Nll, retainWeight, context, batch, logs);
        return ObjectiveLoss.Sum(logs, loss, retainTerm);
    }
}

/// <summary>DPO (IdK, spec §3): −(2/β)·mean_i log σ(β·[(ℓ_ref(r_i) − ℓ_θ(r_i)) − (ℓ_ref(a_i) − ℓ_θ(a_i))]) with r_i a
/// refusal (preferred) and a_i the true forget answer (dispreferred), ℓ summed answer NLLs, ℓ_ref from the reference
/// model. An optional λ·retain NLL is added when λ &gt; 0.</summary>
/// <param name="refusals">The refusal phrasings.</param>
/// <param name="beta">β &gt; 0.</param>
/// <param name="retainWeight">λ ≥ 0 (0 = the spec's DPO).</param>
public sealed class RefusalDpoObjective(RefusalSet refusals, double beta, double retainWeight) : IObjective
{
    /// <summary>The refusal phrasings in use.</summary>
    public RefusalSet Refusals { get; } = refusals;

    /// <inheritdoc />
    public ObjectiveNeeds Needs => ObjectiveNeeds.ReferenceModel | RetainRegulariser.Needs(RetainTerm.Nll, retainWeight);

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var reference = context.Reference
            ?? throw new InvalidOperationException("DPO needs the reference model (ObjectiveNeeds.ReferenceModel) but the host passed none");
        var forget = batch.Forget;
        var refusal = RefusalBatch.Encode(context, batch, Refusals);

        var (answerNll, answerCount) = AnswerLoss.SequenceNll(context.Model, forget);
        var (refusalNll, refusalCount) = AnswerLoss.SequenceNll(context.Model, refusal);
        Tensor referenceAnswerNll, referenceRefusalNll;
        using (no_grad())
        {
            referenceAnswerNll = AnswerLoss.SequenceNll(reference, forget).Sum.detach();
            referenceRefusalNll = AnswerLoss.SequenceNll(reference, refusal).Sum.detach();
        }

        var margin = (referenceRefusalNll - refusalNll) - (referenceAnswerNll - answerNll);
        var loss = -(2.0 / beta) * nn.functional.logsigmoid(beta * margin).mean();
        var logs = new Dictionary<string, double>
        {
            ["forget_nll"] = (answerNll.sum() / answerCount.sum().clamp_min(1.0)).item<float>(),
            ["refusal_nll"] = (refusalNll.sum() / refusalCount.sum().clamp_min(1.0)).item<float>(),
            ["preference_margin"] = margin.mean().item<float>(),
            ["dpo_loss"] = loss.item<float>(),
        };
        var retainTerm = RetainRegulariser.Compute(RetainTerm.Nll, retainWeight, context, batch, logs);
        return ObjectiveLoss.Sum(logs, loss, retainTerm);
    }
}
