using System.ComponentModel;

namespace Unlearn.Plugins.Metrics;

/// <summary>Forget Quality: the two-sided two-sample Kolmogorov–Smirnov p-value between the per-item truth ratios R of
/// the current model and of the retain model on the evaluated (forget) split, with scipy's ks_2samp 'auto' rule.
/// No per-item values. Extras: <c>ks_statistic</c> and <c>exact</c> (1 when the exact p-value was used).</summary>
public sealed class ForgetQualityMetric : IMetric
{
    private const string TruthRatio = "truth-ratio";

    /// <inheritdoc />
    public IReadOnlyList<MetricDependency> Dependencies { get; } =
    [
        new(TruthRatio, null, ModelRole.Current),
        new(TruthRatio, null, ModelRole.Retain),
    ];

    /// <inheritdoc />
    public MetricDirection Direction => MetricDirection.HigherIsBetter;

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.HasModel(ModelRole.Retain))
            throw new InvalidOperationException("forget-quality needs the retain model (trained without the forget set); the run has none");
        var current = context.Result(TruthRatio, null, ModelRole.Current).Items;
        var retain = context.Result(TruthRatio, null, ModelRole.Retain).Items;
        var test = KolmogorovSmirnov.TwoSample(current, retain);
        return new MetricResult(test.PValue, [])
        {
            Extras = new Dictionary<string, double>
            {
                ["ks_statistic"] = test.Statistic,
                ["exact"] = test.Method == KsMethod.Exact ? 1.0 : 0.0,
            },
        };
    }
}

/// <summary>Options of <c>model-utility</c>.</summary>
public sealed class ModelUtilityOptions : IValidatableOptions
{
    /// <summary>The retain split.</summary>
    [Description("Logical name of the retain split.")]
    public string RetainSplit { get; init; } = "retain";

    /// <summary>The real-authors split.</summary>
    [Description("Logical name of the real_authors split.")]
    public string RealAuthorsSplit { get; init; } = "real_authors";

    /// <summary>The world-facts split.</summary>
    [Description("Logical name of the world_facts split.")]
    public string WorldFactsSplit { get; init; } = "world_facts";

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(RetainSplit)) yield return "retain_split must not be empty";
        if (string.IsNullOrWhiteSpace(RealAuthorsSplit)) yield return "real_authors_split must not be empty";
        if (string.IsNullOrWhiteSpace(WorldFactsSplit)) yield return "world_facts_split must not be empty";
    }
}

/// <summary>Model Utility: the harmonic mean of {probability, rouge-l, truth-ratio} × {retain, real_authors,
/// world_facts} (9 aggregates of the current model; 0 when any is 0). No per-item values; each input is in Extras
/// as "metric/split".</summary>
public sealed class ModelUtilityMetric : IMetric
{
    private static readonly string[] Inputs = ["probability", "rouge-l", "truth-ratio"];
    private readonly string[] _splits;

    /// <summary>Creates the metric for the configured split names.</summary>
    public ModelUtilityMetric(ModelUtilityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _splits = [options.RetainSplit, options.RealAuthorsSplit, options.WorldFactsSplit];
        Dependencies = _splits.SelectMany(s => Inputs.Select(m => new MetricDependency(m, s, ModelRole.Current))).ToList();
    }

    /// <inheritdoc />
    public IReadOnlyList<MetricDependency> Dependencies { get; }

    /// <inheritdoc />
    public MetricDirection Direction => MetricDirection.HigherIsBetter;

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var extras = new Dictionary<string, double>();
        foreach (var dependency in Dependencies)
            extras[$"{dependency.Metric}/{dependency.Split}"] = context.Result(dependency.Metric, dependency.Split, ModelRole.Current).Value;
        return new MetricResult(Aggregates.HarmonicMean(extras.Values.ToList()), []) { Extras = extras };
    }
}
