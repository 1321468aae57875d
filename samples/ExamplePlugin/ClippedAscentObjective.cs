using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Samples.ExamplePlugin;

/// <summary>Gradient ascent with a per-token ceiling: L = −(1/N) Σ_t min(nll_t, c) over the N answer tokens of the
/// forget batch, where nll_t = −log p_θ(a_t | q, a_&lt;t) and c is <c>max_nll</c>.</summary>
/// <remarks>Plain gradient ascent keeps pushing tokens whose likelihood is already near zero, which is what drives the
/// model to collapse. Clamping at c gives those tokens a zero gradient, so the ascent spends its steps on tokens the
/// model still remembers. The host owns the optimiser, schedule, batching and device: an objective only returns the
/// loss to minimise (hence the minus sign) for the batch it is handed.</remarks>
/// <param name="maxNll">The ceiling c (nats), &gt; 0.</param>
public sealed class ClippedAscentObjective(double maxNll) : IObjective
{
    /// <summary>The ceiling c.</summary>
    public double MaxNll { get; } = maxNll > 0 ? maxNll : throw new ArgumentOutOfRangeException(nameof(maxNll), maxNll, "max_nll must be > 0");

    /// <inheritdoc />
    /// <remarks>Forget batches only: no retain batch, no reference model.</remarks>
    public ObjectiveNeeds Needs => ObjectiveNeeds.None;

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(batch);
        var forget = batch.Forget;

        // The host runs every step inside a dispose scope, so intermediate tensors need no explicit disposal.
        // nll [B, T-1] is 0 on question and padding tokens; mask [B, T-1] is 1 on answer tokens (EOS included). The
        // model's output head runs only at the answer positions.
        var (nll, mask) = AnswerLoss.TokenNll(context.Model, forget);
        var tokens = mask.sum().clamp_min(1.0);
        var clipped = nll.clamp_max(MaxNll) * mask;
        var loss = -clipped.sum() / tokens;

        // Logged values show up in the run's trajectory: the unclipped forget NLL and the share of answer tokens at
        // the ceiling (those no longer receive a gradient).
        var meanNll = (nll.sum() / tokens).item<float>();
        var atCeiling = (nll.ge(MaxNll).to_type(ScalarType.Float32) * mask).sum() / tokens;
        var logs = new Dictionary<string, double>
        {
            ["forget_nll"] = meanNll,
            ["clipped_share"] = atCeiling.item<float>(),
        };
        return new ObjectiveLoss(loss, logs);
    }
}
