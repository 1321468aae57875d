using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>NPO, NPO+GD and NPO+KL (spec §3): −(2/β)·mean_i log σ(β·(ℓ_θ(a_i) − ℓ_ref(a_i))) over the forget batch,
/// with ℓ the summed answer NLL and ℓ_ref read from <see cref="ObjectiveContext.ReferenceForgetLoss"/> (precomputed
/// once by the host, so NPO and NPO+GD never hold a second model), plus λ times the retain term. β and λ are
/// independent. The ascent tricks are not applied (see <see cref="NpoOptions"/>).</summary>
/// <param name="beta">β &gt; 0.</param>
/// <param name="retain">The retain regulariser (None, Nll for npo-gd, Kl for npo-kl).</param>
/// <param name="retainWeight">λ ≥ 0.</param>
public sealed class NpoObjective(double beta, RetainTerm retain, double retainWeight) : IObjective
{
    /// <inheritdoc />
    public ObjectiveNeeds Needs => ObjectiveNeeds.ReferenceForgetLoss | RetainRegulariser.Needs(retain, retainWeight);

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var referenceLosses = context.ReferenceForgetLoss
            ?? throw new InvalidOperationException("NPO needs the reference forget losses (ObjectiveNeeds.ReferenceForgetLoss) but the host passed none");
        var forget = batch.Forget;
        var (sums, counts) = AnswerLoss.SequenceNll(context.Model, forget);
        var referenceValues = batch.ForgetIndices.Select(i => (float)referenceLosses[i]).ToArray();
        var reference = tensor(referenceValues, device: sums.device);
        var loss = -(2.0 / beta) * nn.functional.logsigmoid(beta * (sums - reference)).mean();
        var logs = new Dictionary<string, double>
        {
            ["forget_nll"] = (sums.sum() / counts.sum().clamp_min(1.0)).item<float>(),
            ["forget_sequence_nll"] = sums.mean().item<float>(),
            ["reference_sequence_nll"] = referenceValues.Average(),
            ["npo_loss"] = loss.item<float>(),
        };
        var retainTerm = RetainRegulariser.Compute(retain, retainWeight, context, batch, logs);
        return ObjectiveLoss.Sum(logs, loss, retainTerm);
    }
}

/// <summary>SimNPO (spec §3): −(2/β)·mean_i log σ((β/|a_i|)·ℓ_θ(a_i) − γ), length-normalised NPO without a reference
/// model; |a_i| counts the answer tokens including EOS. An optional λ·retain NLL is added when λ &gt; 0.</summary>
/// <param name="beta">β &gt; 0.</param>
/// <param name="gamma">γ, the margin.</param>
/// <param name="retainWeight">λ ≥ 0 (0 = the spec's SimNPO).</param>
public sealed class SimNpoObjective(double beta, double gamma, double retainWeight) : IObjective
{
    /// <inheritdoc />
    public ObjectiveNeeds Needs => RetainRegulariser.Needs(RetainTerm.Nll, retainWeight);

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var forget = batch.Forget;
        var (sums, counts) = AnswerLoss.SequenceNll(context.Model, forget);
        var normalised = sums / counts.clamp_min(1.0);
        var loss = -(2.0 / beta) * nn.functional.logsigmoid(beta * normalised - gamma).mean();
        var logs = new Dictionary<string, double>
        {
            ["forget_nll"] = (sums.sum() / counts.sum().clamp_min(1.0)).item<float>(),
            ["simnpo_loss"] = loss.item<float>(),
        };
        var retainTerm = RetainRegulariser.Compute(RetainTerm.Nll, retainWeight, context, batch, logs);
        return ObjectiveLoss.Sum(logs, loss, retainTerm);
    }
}
