using Unlearn.Host.Configuration;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Robustness;

/// <summary>One unlearned model's metric before and under an attack.</summary>
/// <param name="Model">Which model: the run (and sweep point) and the role.</param>
/// <param name="Before">The metric on the clean model.</param>
/// <param name="After">The metric on the attacked model.</param>
public sealed record RobustnessPoint(string Model, double Before, double After);

/// <summary>How one metric holds up under one attack across the unlearned models.</summary>
/// <param name="Metric">Metric name.</param>
/// <param name="Attack">Attack label.</param>
/// <param name="Points">One point per model with both values finite.</param>
/// <param name="Pearson">Pearson r of after on before, with its bootstrap interval.</param>
/// <param name="Slope">Least-squares slope of after on before, with its bootstrap interval.</param>
public sealed record RobustnessRow(string Metric, string Attack, IReadOnlyList<RobustnessPoint> Points, Estimate Pearson, Estimate Slope);

/// <summary>How well one metric separates models that know the forget data from models that never saw it.</summary>
/// <param name="Metric">Metric name.</param>
/// <param name="Auc">P(metric of a knowing model &gt; metric of a never-saw model), ties half.</param>
/// <param name="Knowing">Values of the models that know the forget data (<see cref="FaithfulnessPools.Knowing"/>).</param>
/// <param name="NeverSaw">Values of the models that never saw it (<see cref="FaithfulnessPools.NeverSaw"/>).</param>
public sealed record FaithfulnessRow(string Metric, double Auc, IReadOnlyList<double> Knowing, IReadOnlyList<double> NeverSaw);

/// <summary>Which models faithfulness counts as knowing the forget data and which as never having seen it: patterns
/// over model names ("run/sweep-point:role", <c>*</c> any text, <c>?</c> one character). By default the original
/// models know it and the retain models never saw it; under-unlearned models (e.g. the points with the smallest
/// learning rate) are added to the knowing ones with another pattern (<c>--knowing</c>).</summary>
/// <param name="Knowing">Patterns of the models that know the forget data.</param>
/// <param name="NeverSaw">Patterns of the models that never saw it.</param>
public sealed record FaithfulnessPools(IReadOnlyList<string> Knowing, IReadOnlyList<string> NeverSaw)
{
    /// <summary>Original models know, retain models never saw.</summary>
    public static readonly FaithfulnessPools Default = new(["*:" + ModelRoles.Original], ["*:" + ModelRoles.Retain]);

    /// <summary>True when <paramref name="model"/> matches one of <paramref name="patterns"/>.</summary>
    public static bool Matches(IReadOnlyList<string> patterns, string model)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        return patterns.Any(p => System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(p, model, ignoreCase: false));
    }
}

/// <summary>The meta-evaluation of many runs on one split.</summary>
public sealed record RobustnessTable(string Split, int Resamples, int Seed, int Models, IReadOnlyList<RobustnessRow> Rows, IReadOnlyList<FaithfulnessRow> Faithfulness,
    FaithfulnessPools Pools);

/// <summary>Builds the meta-evaluation from finished runs: the unlearned models are every run's <c>unlearned</c> and
/// <c>calibrated</c> roles (raw and calibrated); robustness compares each model's clean metric with the same metric
/// under each attack; faithfulness compares the models that know the forget data with those that never saw it
/// (<see cref="FaithfulnessPools"/>).</summary>
public static class RobustnessAnalysis
{
    /// <summary>The roles whose models count as unlearned models.</summary>
    public static readonly string[] UnlearnedRoles = [ModelRoles.Unlearned, ModelRoles.Calibrated];

    /// <summary>The table; throws <see cref="InvalidDataException"/> when the runs hold no attacked values on the split,
    /// or when a model is in both faithfulness pools.</summary>
    public static RobustnessTable Build(IReadOnlyList<RunSummary> runs, string split, int resamples, int seed, FaithfulnessPools? pools = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        pools ??= FaithfulnessPools.Default;
        var rows = new List<RobustnessRow>();
        var attacked = runs.SelectMany(r => r.AttackMetrics.Where(m => m.Split == split && UnlearnedRoles.Contains(m.Model)).Select(m => (Run: r, Metric: m))).ToList();
        if (attacked.Count == 0)
            throw new InvalidDataException($"none of the {runs.Count} runs has a metric on split '{split}' of an unlearned or calibrated model under an attack: " +
                "run pipelines with an attacks: section (see docs/robustness.md), or choose another --split.");
        var models = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in attacked.GroupBy(a => (a.Metric.Metric, a.Metric.Attack)).OrderBy(g => g.Key.Metric, StringComparer.Ordinal))
        {
            var points = new List<RobustnessPoint>();
            foreach (var (run, after) in group)
            {
                if (run.Value(after.Model, split, after.Metric) is not { } before || !double.IsFinite(before) || !double.IsFinite(after.Value)) continue;
                var model = ModelName(run, after.Model);
                models.Add(model);
                points.Add(new RobustnessPoint(model, before, after.Value));
            }
            var x = points.Select(p => p.Before).ToList();
            var y = points.Select(p => p.After).ToList();
            rows.Add(new RobustnessRow(group.Key.Metric, group.Key.Attack, points,
                RobustnessStatistics.Bootstrap(x, y, RobustnessStatistics.Pearson, resamples, seed),
                RobustnessStatistics.Bootstrap(x, y, RobustnessStatistics.Slope, resamples, seed)));
        }
        var both = runs.SelectMany(r => r.Metrics.Select(m => ModelName(r, m.Model))).Distinct()
            .FirstOrDefault(m => FaithfulnessPools.Matches(pools.Knowing, m) && FaithfulnessPools.Matches(pools.NeverSaw, m));
        if (both != null)
            throw new InvalidDataException($"the model {both} matches both a --knowing pattern ({string.Join(", ", pools.Knowing)}) and a --never-saw pattern " +
                $"({string.Join(", ", pools.NeverSaw)}): a model either knows the forget data or never saw it; narrow one of the patterns.");
        var faithfulness = rows.Select(r => r.Metric).Distinct().Select(metric =>
        {
            var knowing = CleanValues(runs, pools.Knowing, split, metric);
            var neverSaw = CleanValues(runs, pools.NeverSaw, split, metric);
            return new FaithfulnessRow(metric, RobustnessStatistics.Auc(knowing, neverSaw), knowing, neverSaw);
        }).ToList();
        return new RobustnessTable(split, resamples, seed, models.Count, rows, faithfulness, pools);
    }

    /// <summary>One warning per unlearned model whose clean values equal an earlier one's on every metric and split: almost
    /// surely the same model counted twice (sweep points that differ in nothing the model depends on, or a calibrated
    /// model at α* = 1, which is its raw model), which the correlations weigh twice and the intervals take as two.</summary>
    public static IReadOnlyList<string> Twins(IReadOnlyList<RunSummary> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var first = new Dictionary<string, string>(StringComparer.Ordinal);
        var warnings = new List<string>();
        foreach (var run in runs)
        foreach (var role in UnlearnedRoles)
        {
            var values = run.Metrics.Where(m => m.Model == role).OrderBy(m => m.Split, StringComparer.Ordinal).ThenBy(m => m.Metric, StringComparer.Ordinal)
                .Select(m => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{m.Split}/{m.Metric}={m.Value:R}")).ToList();
            if (values.Count == 0) continue;
            var key = string.Join(";", values);
            if (first.TryGetValue(key, out var twin))
                warnings.Add($"{ModelName(run, role)} has the clean values of {twin} on every metric and split: probably the same model counted twice");
            else first[key] = ModelName(run, role);
        }
        return warnings;
    }

    /// <summary>"run/sweep-point:role", the model's name in tables and the CSV.</summary>
    public static string ModelName(RunSummary run, string role)
    {
        ArgumentNullException.ThrowIfNull(run);
        return $"{run.Name}{(run.SweepLabel.Length > 0 ? "/" + run.SweepLabel : "")}:{role}";
    }

    // Clean values of every model (run × role) a pattern matches.
    private static List<double> CleanValues(IReadOnlyList<RunSummary> runs, IReadOnlyList<string> patterns, string split, string metric) =>
        runs.SelectMany(r => ModelRoles.All.Where(role => FaithfulnessPools.Matches(patterns, ModelName(r, role))).Select(role => r.Value(role, split, metric)))
            .OfType<double>().Where(double.IsFinite).ToList();
}
