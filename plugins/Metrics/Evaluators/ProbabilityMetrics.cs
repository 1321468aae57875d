using System.ComponentModel;

namespace Unlearn.Plugins.Metrics;

/// <summary>Whether <c>probability</c> normalises over the perturbed answers.</summary>
public enum ProbabilityNormalisation
{
    /// <summary>Normalise when every item has perturbed answers and none has a paraphrased answer (the
    /// real_authors / world_facts shape).</summary>
    Auto,
    /// <summary>Always p̄(a) / (p̄(a) + Σⱼ p̄(âⱼ)).</summary>
    True,
    /// <summary>Always the plain p̄(a).</summary>
    False,
}

/// <summary>Options of <c>probability</c>.</summary>
public sealed class ProbabilityOptions : IValidatableOptions
{
    /// <summary>Normalisation over perturbed answers.</summary>
    [Description("Normalise p̄(a) over the perturbed answers: auto (general-knowledge shaped splits), true or false.")]
    public ProbabilityNormalisation Normalise { get; init; } = ProbabilityNormalisation.Auto;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(Normalise)) yield return $"normalise must be auto, true or false, got {Normalise}";
    }
}

/// <summary>Probability: per item p̄(a|q) = exp(−ℓ/|a|), or p̄(a)/(p̄(a)+Σⱼ p̄(âⱼ)) when normalised; aggregate: the mean.</summary>
public sealed class ProbabilityMetric(ProbabilityOptions options) : IMetric
{
    /// <inheritdoc />
    public ItemFields RequiredFields => options.Normalise == ProbabilityNormalisation.True ? ItemFields.PerturbedAnswers : ItemFields.None;

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = SplitScoring.NonEmptyItems(context, "probability");
        var scores = context.ScoreSplit();
        var normalise = options.Normalise switch
        {
            ProbabilityNormalisation.True => true,
            ProbabilityNormalisation.False => false,
            _ => IsGeneralKnowledgeShape(items),
        };
        List<double> values;
        if (normalise)
        {
            var perturbed = SplitScoring.ScorePerturbed(context, items, "probability (normalised)");
            values = scores.Select((s, i) => AnswerProbability.RelativeToPerturbed(s, perturbed[i])).ToList();
        }
        else values = scores.Select(AnswerProbability.Normalised).ToList();
        return new MetricResult(Aggregates.Mean(values), values)
        {
            Extras = new Dictionary<string, double> { ["normalised"] = normalise ? 1.0 : 0.0 },
        };
    }

    /// <summary>True when every item has perturbed answers and none has a paraphrased answer.</summary>
    public static bool IsGeneralKnowledgeShape(IReadOnlyList<QaItem> items) =>
        items.Count > 0 && items.All(i => i.PerturbedAnswers.Count > 0 && string.IsNullOrEmpty(i.ParaphrasedAnswer));
}

/// <summary>Perplexity. Per item: exp(ℓ(a|q)/|a|), the item's own perplexity. Aggregate: exp of the mean token NLL over
/// every scored answer token of the split (Σℓ / Σ|a|, token-weighted), not the mean of per-item perplexities.</summary>
public sealed class PerplexityMetric : IMetric
{
    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        SplitScoring.NonEmptyItems(context, "perplexity");
        var scores = context.ScoreSplit();
        var items = scores.Select(s => Math.Exp(AnswerProbability.MeanNll(s))).ToList();
        var totalNll = scores.Sum(s => s.Nll);
        var totalTokens = scores.Sum(s => s.LogProbs.Length);
        return new MetricResult(Math.Exp(totalNll / totalTokens), items);
    }
}

/// <summary>How <c>truth-ratio</c> aggregates its per-item ratios.</summary>
public enum TruthRatioAggregation
{
    /// <summary><see cref="Forget"/> when the split name contains "forget", otherwise <see cref="Other"/>.</summary>
    Auto,
    /// <summary>Mean of min(R, 1/R).</summary>
    Forget,
    /// <summary>Mean of max(0, 1 − R).</summary>
    Other,
}

/// <summary>Options of <c>truth-ratio</c>.</summary>
public sealed class TruthRatioOptions : IValidatableOptions
{
    /// <summary>Aggregation form.</summary>
    [Description("Aggregate as mean min(R,1/R) (forget), mean max(0,1-R) (other), or auto by the split name.")]
    public TruthRatioAggregation Aggregation { get; init; } = TruthRatioAggregation.Auto;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(Aggregation)) yield return $"aggregation must be auto, forget or other, got {Aggregation}";
    }
}

/// <summary>Truth Ratio R = p̃_pert / p̄(ã), ã the paraphrased answer when present, else the answer. Per item: R itself
/// (what forget quality consumes). Aggregate: the chosen form. Extras: <c>forget_form</c> (mean min(R,1/R)),
/// <c>other_form</c> (mean max(0,1−R)) and <c>mean_ratio</c> (mean R), so both forms are always reported.</summary>
public sealed class TruthRatioMetric(TruthRatioOptions options) : IMetric
{
    /// <inheritdoc />
    public MetricDirection Direction => MetricDirection.HigherIsBetter;

    /// <inheritdoc />
    public ItemFields RequiredFields => ItemFields.PerturbedAnswers;

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = SplitScoring.NonEmptyItems(context, "truth-ratio");
        var perturbed = SplitScoring.ScorePerturbed(context, items, "truth-ratio");
        var reference = context.ScoreAnswers(items.Select(i => (i.Question, string.IsNullOrEmpty(i.ParaphrasedAnswer) ? i.Answer : i.ParaphrasedAnswer)).ToList());
        var ratios = reference.Select((r, i) => AnswerProbability.TruthRatio(r, perturbed[i])).ToList();
        var forgetForm = Aggregates.Mean(ratios.Select(AnswerProbability.ForgetForm).ToList());
        var otherForm = Aggregates.Mean(ratios.Select(AnswerProbability.OtherForm).ToList());
        var useForget = options.Aggregation switch
        {
            TruthRatioAggregation.Forget => true,
            TruthRatioAggregation.Other => false,
            _ => context.Split.Name.Contains("forget", StringComparison.OrdinalIgnoreCase),
        };
        return new MetricResult(useForget ? forgetForm : otherForm, ratios)
        {
            Extras = new Dictionary<string, double>
            {
                ["forget_form"] = forgetForm,
                ["other_form"] = otherForm,
                ["mean_ratio"] = Aggregates.Mean(ratios),
            },
        };
    }
}
