using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>PDU (constrained entropic unlearning, Entesari et al. 2025, arXiv:2506.05314): minimise the logit-margin
/// flattening loss on the forget set subject to a retain constraint L_r ≤ ε, by primal-dual steps on the Lagrangian
/// L_f + λ·(L_r − ε).
/// <list type="bullet">
/// <item>L_f = mean over forget sequences of (1/|a|)·Σ_t (max_v z_t,v − (1/V)·Σ_v z_t,v)² over the answer positions t
/// (softmax-free; 0 when the logits are flat, i.e. the next-token distribution is uniform).</item>
/// <item>L_r is the mean answer-token NLL of the retain batch; ε is <see cref="PduOptions.RetainBound"/> or
/// (1 + α)·the reference model's L_r on the same batch.</item>
/// <item>After each batch (micro-batch under gradient accumulation) the dual variable takes a projected ascent step
/// λ ← max(0, λ + η_λ·(L_r − ε)) with the detached values; the loss of that batch used the λ from before.</item>
/// </list>
/// λ is state of this objective instance (one run); it starts at <see cref="PduOptions.InitialDual"/>.</summary>
public sealed class PrimalDualObjective(PduOptions options) : IObjective
{
    /// <summary>The options in use.</summary>
    public PduOptions Options { get; } = options;

    /// <summary>The current dual variable λ (the retain weight the next batch uses).</summary>
    public double Dual { get; private set; } = options.InitialDual;

    /// <inheritdoc />
    public ObjectiveNeeds Needs => ObjectiveNeeds.RetainBatch | (Options.RetainBound is null ? ObjectiveNeeds.ReferenceModel : ObjectiveNeeds.None);

    /// <inheritdoc />
    public void Prepare(ObjectiveSetup setup) => Dual = Options.InitialDual;

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var forget = batch.Forget;
        var forgetLogits = context.Model.Forward(forget.InputIds, forget.AttentionMask).Logits;
        var flattening = FlatteningLoss(forgetLogits, forget.Labels);

        var retain = batch.Retain ?? throw new InvalidOperationException("PDU needs a retain batch (ObjectiveNeeds.RetainBatch) but the host passed none");
        var retainNll = AnswerLoss.MeanNll(context.Model.Forward(retain.InputIds, retain.AttentionMask).Logits, retain.Labels);
        var bound = RetainBound(context, retain);
        var dual = Dual;
        var loss = flattening + dual * (retainNll - bound);

        var retainValue = (double)retainNll.item<float>();
        Dual = Math.Max(0.0, dual + Options.DualStepSize * (retainValue - bound));
        var logs = new Dictionary<string, double>
        {
            ["flattening_loss"] = flattening.item<float>(),
            ["retain_nll"] = retainValue,
            ["retain_bound"] = bound,
            ["dual"] = dual,
        };
        using (no_grad())
            logs["forget_nll"] = AnswerLoss.MeanNll(forgetLogits, forget.Labels).item<float>();
        return new ObjectiveLoss(loss, logs);
    }

    /// <summary>The logit-margin flattening loss of one batch: per sequence the mean over its answer positions of
    /// (max_v z − mean_v z)², then the mean over the sequences that have answer tokens. Positions follow
    /// <see cref="AnswerLoss.TokenNll"/>: the logits at t where the label at t + 1 is an answer token.</summary>
    public static Tensor FlatteningLoss(Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = NewDisposeScope();
        var (shifted, _, mask) = ShiftedAnswer.Of(logits, labels);
        var (maxima, _) = shifted.max(-1);
        var margin = maxima - shifted.mean([-1L]);
        var counts = mask.sum(1);
        var perSequence = (margin * margin * mask).sum(1) / counts.clamp_min(1.0);
        var present = counts.gt(0).to_type(ScalarType.Float32);
        var loss = (perSequence * present).sum() / present.sum().clamp_min(1.0);
        return loss.MoveToOuterDisposeScope();
    }

    private double RetainBound(ObjectiveContext context, TokenBatch retain)
    {
        if (Options.RetainBound is { } bound) return bound;
        var reference = context.Reference
            ?? throw new InvalidOperationException("PDU with a relative retain bound needs the reference model (ObjectiveNeeds.ReferenceModel) but the host passed none");
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var referenceNll = AnswerLoss.MeanNll(reference.Forward(retain.InputIds, retain.AttentionMask).Logits, retain.Labels).item<float>();
        return (1.0 + Options.RetainTolerance) * referenceNll;
    }
}
