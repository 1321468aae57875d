using Unlearn.Plugins;

namespace MyLab.Methods;

/// <summary>Mean answer NLL in nats per token (EOS included): per item ℓ(a|q)/|a|, aggregate the mean over items.
/// It uses the host's shared teacher-forced scores (<see cref="MetricContext.ScoreSplit"/>) instead of running the model.</summary>
public sealed class AnswerNll : IMetric
{
    /// <inheritdoc />
    public MetricDirection Direction => MetricDirection.Neutral;

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = context.ScoreSplit().Select(s => s.LogProbs.Length == 0 ? 0 : s.Nll / s.LogProbs.Length).ToList();
        if (items.Count == 0) throw new InvalidOperationException($"answer-nll: the split '{context.Split.Name}' has no items.");
        return new MetricResult(items.Average(), items);
    }
}
