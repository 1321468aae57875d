using System.ComponentModel;
using Unlearn.Plugins;

namespace MyLab.Methods;

/// <summary>Options of <c>scaled-ga</c>: pipeline keys are the snake_case property names (<c>scale</c>).</summary>
public sealed class ScaledAscentOptions : IValidatableOptions
{
    /// <summary>The factor the ascent loss is multiplied by.</summary>
    [Description("Factor the ascent loss is multiplied by (> 0).")]
    public double Scale { get; init; } = 1.0;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Scale > 0) || double.IsInfinity(Scale)) yield return $"scale must be a finite number > 0, got {Scale}";
    }
}

/// <summary>Scaled gradient ascent: L = −scale · mean NLL of the forget batch's answer tokens. The host owns the
/// optimiser, schedule, batching and device; an objective only returns the loss to minimise.</summary>
/// <param name="scale">The loss scale, &gt; 0.</param>
public sealed class ScaledAscent(double scale) : IObjective
{
    /// <inheritdoc />
    public ObjectiveNeeds Needs => ObjectiveNeeds.None;

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        var nll = AnswerLoss.MeanNll(context.Model, batch.Forget);
        return new ObjectiveLoss(-scale * nll, new Dictionary<string, double> { ["forget_nll"] = nll.item<float>() });
    }
}
