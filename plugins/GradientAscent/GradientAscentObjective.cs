namespace Unlearn.Plugins.GradientAscent;

/// <summary>GA, GD and KL (spec §3): the ascent term of <see cref="AscentTricks"/> on the forget batch plus λ times
/// the retain term. Loss = ascent + λ·(0 | NLL_θ(D_r) | KL(p_ref ‖ p_θ)).</summary>
/// <param name="tricks">Temperature, likelihood cap and bound of the ascent term.</param>
/// <param name="retain">The retain regulariser.</param>
/// <param name="retainWeight">λ ≥ 0; 0 drops the retain term (and its needs).</param>
public sealed class GradientAscentObjective(AscentTricks tricks, RetainTerm retain, double retainWeight) : IObjective
{
    /// <summary>The ascent tricks in use.</summary>
    public AscentTricks Tricks { get; } = tricks;

    /// <inheritdoc />
    public ObjectiveNeeds Needs => RetainRegulariser.Needs(retain, retainWeight);

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var forget = batch.Forget;
        var (loss, logs) = Tricks.Compute(AnswerLogits.Of(context.Model, forget));
        var retainTerm = RetainRegulariser.Compute(retain, retainWeight, context, batch, logs);
        return ObjectiveLoss.Sum(logs, loss, retainTerm);
    }
}
