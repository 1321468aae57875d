using System.Globalization;
using Unlearn.Host.Configuration;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Checking;

/// <summary>The outcome of one expectation on one run.</summary>
/// <param name="Run">The run as the report names it (<c>quickstart</c>, or <c>methods/method-ga</c> in a sweep).</param>
/// <param name="Name">The expectation: <c>calibrated.forget.es &lt;= 0.3</c>.</param>
/// <param name="Expected">The condition (<c>&lt;= 0.3</c>, <c>0.523 ± 0.02</c>).</param>
/// <param name="Got">The run's value, or null when the run lacks it.</param>
/// <param name="Difference">How far the value lies from the bar (got − limit) or snapshot (got − value); null when unknown.</param>
/// <param name="Passed">True when the expectation holds.</param>
/// <param name="Message">Why it failed (empty when it held).</param>
public sealed record CheckCase(string Run, string Name, string Expected, double? Got, double? Difference, bool Passed, string Message);

/// <summary>Evaluates an expectation file against finished runs read by <see cref="RunSummaries"/>.</summary>
public static class ExpectationCheck
{
    /// <summary>The expectations that apply to one run: those of <c>expect:</c>, with the entries of its <c>runs:</c>
    /// section replacing same-key ones.</summary>
    public static IReadOnlyList<ExpectationEntry> For(ExpectationFile file, ExpectationSection? own)
    {
        ArgumentNullException.ThrowIfNull(file);
        var entries = new List<ExpectationEntry>(file.Common?.Entries ?? []);
        foreach (var e in own?.Entries ?? [])
        {
            var at = entries.FindIndex(c => c.Key == e.Key);
            if (at >= 0) entries[at] = e; else entries.Add(e);
        }
        return entries;
    }

    /// <summary>The <c>runs:</c> section of a sweep run: named by its sub-folder, or by its sweep label.</summary>
    public static ExpectationSection? SectionOf(ExpectationFile file, RunSummary run)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(run);
        var folder = Path.GetFileName(run.Folder);
        return file.Runs.FirstOrDefault(s => s.Name == folder) ?? file.Runs.FirstOrDefault(s => run.SweepLabel.Length > 0 && s.Name == run.SweepLabel);
    }

    /// <summary>Checks every run. <paramref name="sweep"/> says the runs are the points of one sweep folder (then
    /// <c>runs:</c> sections apply, and one naming no run is a failure); a single run refuses a file with <c>runs:</c>.</summary>
    public static IReadOnlyList<CheckCase> Run(ExpectationFile file, IReadOnlyList<RunSummary> runs, bool sweep)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(runs);
        if (!sweep && file.Runs.Count > 0)
            throw new PipelineException(file.Root.LocationOf("runs"), "runs", $"'runs:' holds expectations per sweep run, but '{runs[0].Folder}' is a single run; put its expectations under 'expect:'.");
        var cases = new List<CheckCase>();
        foreach (var run in runs)
        {
            var name = RunName(run, sweep);
            if (run.Failure != null)
                cases.Add(new CheckCase(name, "run finished without failure", "no failure", null, null, false, $"the run failed: {run.Failure}"));
            foreach (var entry in For(file, sweep ? SectionOf(file, run) : null))
                foreach (var condition in entry.Conditions)
                    cases.Add(Evaluate(name, run, entry.Key, condition));
        }
        if (sweep)
        {
            foreach (var section in file.Runs.Where(s => !runs.Any(r => SectionOf(file, r) == s)))
            {
                var present = string.Join(", ", runs.Select(r => Path.GetFileName(r.Folder)));
                cases.Add(new CheckCase($"{runs[0].Name}/{section.Name}", "sweep run exists", "a finished run", null, null, false,
                    $"the sweep has no finished run '{section.Name}' ({section.At}); its runs: {present}"));
            }
        }
        return cases;
    }

    /// <summary>How cases name a run: the pipeline name, and in a sweep its sub-folder.</summary>
    public static string RunName(RunSummary run, bool sweep)
    {
        ArgumentNullException.ThrowIfNull(run);
        return sweep ? $"{run.Name}/{Path.GetFileName(run.Folder)}" : run.Name;
    }

    private static CheckCase Evaluate(string runName, RunSummary run, MetricKey key, Condition condition)
    {
        var name = $"{key} {condition.Describe()}";
        if (run.Value(key.Model, key.Split, key.Metric) is not { } got)
            return new CheckCase(runName, name, condition.Describe(), null, null, false, Missing(run, key));
        switch (condition)
        {
            case Snapshot s:
                return new CheckCase(runName, name, s.Describe(), got, got - s.Value, s.Holds(got),
                    s.Holds(got) ? "" : $"{key} is {Num(got)}, {Num(Math.Abs(got - s.Value))} from the snapshot {Num(s.Value)} (tolerance {Num(s.Tolerance)})");
            case Bar b:
                var limit = b.Limit.Factor;
                if (b.Limit.Reference is { } r)
                {
                    if (run.Value(r.Model, r.Split, r.Metric) is not { } reference)
                        return new CheckCase(runName, name, b.Describe(), got, null, false, "the bar's reference is missing: " + Missing(run, r));
                    limit *= reference;
                }
                var holds = b.Holds(got, limit);
                var bar = b.Limit.Reference == null ? b.Describe() : $"{b.Operator} {Num(limit)} ({b.Limit})";
                return new CheckCase(runName, name, bar, got, got - limit, holds, holds ? "" : $"{key} is {Num(got)}, expected {bar}");
            default:
                throw new InvalidOperationException($"unknown condition {condition}");
        }
    }

    /// <summary>Says what of role, split and metric the run lacks, listing what it has.</summary>
    private static string Missing(RunSummary run, MetricKey key)
    {
        static string List(IEnumerable<string> names) => string.Join(", ", names.Distinct().DefaultIfEmpty("none"));
        var ofModel = run.Metrics.Where(m => m.Model == key.Model).ToList();
        if (ofModel.Count == 0) return $"the run has no model '{key.Model}' (its models: {List(run.Metrics.Select(m => m.Model))})";
        var ofSplit = ofModel.Where(m => m.Split == key.Split).ToList();
        if (ofSplit.Count == 0) return $"the run evaluated no split '{key.Split}' on {key.Model} (its splits: {List(ofModel.Select(m => m.Split))})";
        return $"the run has no metric '{key.Metric}' on {key.Model}/{key.Split} (its metrics: {List(ofSplit.Select(m => m.Metric))})";
    }

    /// <summary>A value as the failure table writes it.</summary>
    public static string Num(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>A signed difference as the failure table writes it.</summary>
    public static string Signed(double v) => (v >= 0 ? "+" : "") + Num(v);
}
