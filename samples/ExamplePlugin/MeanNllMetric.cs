using Unlearn.Plugins;

namespace Unlearn.Samples.ExamplePlugin;

/// <summary>Mean answer NLL in nats per token, EOS included. Per item: ℓ(a|q)/|a| (its own mean); aggregate:
/// Σ ℓ / Σ |a| over the split (token-weighted, so the aggregate equals the log of the split's perplexity).</summary>
/// <remarks>A metric never runs the model itself when the host can do it: <see cref="MetricContext.ScoreSplit"/>
/// returns teacher-forced scores from one forward pass that every metric scoring the same pairs on the same model
/// shares. High values on the forget split mean the answers were unlearned; on the retain split they mean damage,
/// so the direction is neutral.</remarks>
/// <param name="question">Which question text the answers are scored after.</param>
public sealed class MeanNllMetric(QuestionField question) : IMetric
{
    /// <inheritdoc />
    public MetricDirection Direction => MetricDirection.Neutral;

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var scores = context.ScoreSplit(question);
        if (scores.Count == 0)
            throw new InvalidOperationException($"mean-nll: the split '{context.Split.Name}' has no items.");

        var items = new List<double>(scores.Count);
        double totalNll = 0;
        long totalTokens = 0;
        foreach (var s in scores)
        {
            // LogProbs holds one entry per scored token (answer tokens, then EOS); Nll is minus their sum.
            var tokens = s.LogProbs.Length;
            items.Add(tokens == 0 ? 0 : s.Nll / tokens);
            totalNll += s.Nll;
            totalTokens += tokens;
        }
        var aggregate = totalTokens == 0 ? 0 : totalNll / totalTokens;
        return new MetricResult(aggregate, items)
        {
            Extras = new Dictionary<string, double> { ["tokens"] = totalTokens },
        };
    }
}
