using System.ComponentModel;

namespace Unlearn.Plugins.Metrics;

/// <summary>Options of <c>rouge-l</c>.</summary>
public sealed class RougeOptions : IValidatableOptions
{
    /// <summary>Generation budget.</summary>
    [Description("Maximum number of new tokens in the greedy generation.")]
    public int MaxNewTokens { get; init; } = 200;

    /// <summary>Porter-stem the word tokens, as rouge_score's <c>use_stemmer=True</c> (TOFU).</summary>
    [Description("Porter-stem word tokens longer than 3 characters before the LCS, as rouge_score with use_stemmer=True (TOFU's setting); false compares unstemmed tokens.")]
    public bool Stemmer { get; init; } = true;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (MaxNewTokens < 1) yield return $"max_new_tokens must be >= 1, got {MaxNewTokens}";
    }
}

/// <summary>ROUGE-L recall of the greedy generation for each question against the gold answer, on Porter-stemmed tokens
/// unless <see cref="RougeOptions.Stemmer"/> is off; aggregate: the mean.</summary>
public sealed class RougeMetric(RougeOptions options) : IMetric
{
    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = SplitScoring.NonEmptyItems(context, "rouge-l");
        var generated = context.Generate(items.Select(i => i.Question).ToList(), options.MaxNewTokens);
        var values = items.Select((item, i) => RougeL.Recall(generated[i].Text, item.Answer, options.Stemmer)).ToList();
        return new MetricResult(Aggregates.Mean(values), values);
    }
}

/// <summary>Options of <c>fluency</c>.</summary>
public sealed class FluencyOptions : IValidatableOptions
{
    /// <summary>Generation budget.</summary>
    [Description("Maximum number of new tokens in the greedy generation.")]
    public int MaxNewTokens { get; init; } = 200;

    /// <summary>n of the repetition rate.</summary>
    [Description("n-gram length (in words) of the repetition rate.")]
    public int N { get; init; } = 3;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (MaxNewTokens < 1) yield return $"max_new_tokens must be >= 1, got {MaxNewTokens}";
        if (N < 1) yield return $"n must be >= 1, got {N}";
    }
}

/// <summary>Fluency of greedy generations for the split's questions, where catastrophic forgetting shows first.
/// Per item: the repetition rate of the generation (share of its word n-grams that repeat an earlier one,
/// 1 − distinct/total; 0 when it has fewer than n words). Aggregate: the mean per-item repetition rate.
/// Extras: <c>distinct_2</c> (corpus distinct bigrams / bigrams), <c>empty_rate</c> (share of generations without a
/// word), <c>mean_entropy</c> (mean next-token entropy in nats over all generated positions, 0 when none).</summary>
public sealed class FluencyMetric(FluencyOptions options) : IMetric
{
    /// <inheritdoc />
    public MetricDirection Direction => MetricDirection.LowerIsBetter;

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = SplitScoring.NonEmptyItems(context, "fluency");
        var generated = context.Generate(items.Select(i => i.Question).ToList(), options.MaxNewTokens);
        var words = generated.Select(g => RougeL.Tokenize(g.Text)).ToList();
        var repetition = words.Select(w => NGramStatistics.RepetitionRate(w, options.N)).ToList();
        var entropies = generated.SelectMany(g => g.Entropies).ToList();
        return new MetricResult(Aggregates.Mean(repetition), repetition)
        {
            Extras = new Dictionary<string, double>
            {
                ["distinct_2"] = NGramStatistics.Distinct(words, 2),
                ["empty_rate"] = (double)words.Count(w => w.Count == 0) / words.Count,
                ["mean_entropy"] = entropies.Count == 0 ? 0.0 : entropies.Average(e => (double)e),
            },
        };
    }
}
