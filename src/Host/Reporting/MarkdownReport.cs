using System.Globalization;
using System.Text;
using Unlearn.Host.Configuration;
using Unlearn.Host.Running;
using Unlearn.Plugins;

namespace Unlearn.Host.Reporting;

/// <summary>The human-readable report of a run.</summary>
public static class MarkdownReport
{
    // Aggregates per model (columns) for each metric and split (rows).
    // One row per metric use and split; a use whose metric declares a direction (IMetric.Direction) is marked ↑ or ↓.
    private static void MetricTable(StringBuilder sb, IReadOnlyList<MetricRecord> metrics, IReadOnlyDictionary<string, MetricDirection> directions)
    {
        var models = ModelRoles.All.Where(r => metrics.Any(m => m.Model == r)).ToList();
        sb.Append("| metric | split | ").Append(string.Join(" | ", models)).Append(" |\n|---|---|").Append(string.Concat(models.Select(_ => "---:|"))).Append('\n');
        foreach (var group in metrics.GroupBy(m => (m.Metric, m.Split)))
        {
            sb.Append("| ").Append(group.Key.Metric).Append(Arrow(directions.GetValueOrDefault(group.Key.Metric))).Append(" | ").Append(group.Key.Split).Append(" | ");
            sb.Append(string.Join(" | ", models.Select(r => group.FirstOrDefault(m => m.Model == r) is { } m ? F(m.Value) : ""))).Append(" |\n");
        }
        sb.Append('\n');
    }

    private static string Arrow(MetricDirection direction) => direction switch
    {
        MetricDirection.HigherIsBetter => " ↑",
        MetricDirection.LowerIsBetter => " ↓",
        _ => "",
    };

    private static string F(double v) => double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The reproducible form of the report (<c>report.deterministic: true</c>).</summary>
    public const string SnapshotFile = "report.snapshot.md";

    /// <summary>What the reproducible form leaves out and how it rounds; written at its top.</summary>
    public const string SnapshotNote = "Reproducible form of `report.md` (`report.deterministic: true`): no times, dates, durations, paths, "
        + "machine facts or charts; metric values rounded to 3 decimals, α and losses to 4, gradient norms to 3, learning rates to 3 "
        + "significant digits. The same run on the same machine gives the same bytes.";

    /// <summary>Renders report.md; <paramref name="charts"/> are embedded where they belong (or their problem noted).
    /// With <paramref name="snapshot"/> it renders <see cref="SnapshotFile"/> instead: the same sections without what
    /// differs between two runs of the same pipeline (stage timings, cache reuse, calibration seconds, folder paths,
    /// charts and their font notes).</summary>
    public static string Render(PipelineSpec spec, RunResult result, IReadOnlyList<ChartFile>? charts = null, bool snapshot = false)
    {
        if (snapshot) charts = null;
        var sb = new StringBuilder();
        sb.Append("# ").Append(spec.Name).Append(result.SweepLabel.Length > 0 ? $" ({result.SweepLabel})" : "").Append("\n\n");
        if (snapshot) sb.Append(SnapshotNote).Append("\n\n");
        if (spec.Description != null) sb.Append(spec.Description.Trim()).Append("\n\n");
        if (result.Failure != null) sb.Append("**The run failed:** ").Append(result.Failure).Append(".\n\n");

        sb.Append("## Setting\n\n| | |\n|---|---|\n");
        sb.Append("| model | ").Append(Folder(spec.Model.Path, snapshot) ?? $"built-in `{spec.Model.Architecture}` (learn recipe `{spec.Learn.Recipe}`)").Append(" |\n");
        sb.Append("| data | ").Append(Folder(spec.Data.Folder, snapshot) ?? $"built-in world ({spec.Data.World!.Authors} authors, seed {spec.Data.World.Seed})").Append($", forget split `{spec.Data.Forget}` |\n");
        if (result.Method != null) sb.Append("| method | `").Append(result.Method).Append("` ").Append(result.MethodOptions).Append(" |\n");
        if (spec.Unlearn != null)
        {
            var t = spec.Unlearn.Trainer;
            sb.Append(CultureInfo.InvariantCulture, $"| trainer | lr {t.Lr:G3}, epochs {t.Epochs}, batch {t.BatchSize}×{t.GradientAccumulation}, {t.Schedule.ToString().ToLowerInvariant()} schedule, clip {t.MaxGradNorm} |\n");
        }
        if (spec.Controls.Count > 0) sb.Append("| controls | ").Append(string.Join(", ", spec.Controls.Select(c => $"`{c.Name}`"))).Append(" |\n");
        if (result.Calibration != null) sb.Append("| calibration | `").Append(result.Calibration.Method).Append("` |\n");
        sb.Append("| seed | ").Append(result.Seed).Append(" |\n\n");

        sb.Append("## Results\n\nAggregate values per model (columns) for each metric and split (rows).\n\n");
        MetricTable(sb, result.Metrics, result.Directions);
        if (result.Metrics.Any(m => Arrow(result.Directions.GetValueOrDefault(m.Metric)).Length > 0))
            sb.Append("↑: higher is better, ↓: lower is better, as the metric declares it; unmarked metrics have no preferred direction.\n\n");
        foreach (var attack in result.AttackMetrics.GroupBy(m => m.Attack))
        {
            sb.Append("## Under attack `").Append(attack.Key).Append("`\n\nThe same metrics on the attacked models (the `attacks` entry ")
                .Append(attack.Key).Append("); clean values are in Results.\n\n");
            MetricTable(sb, attack.ToList(), result.Directions);
        }

        if (result.Calibration is { } c)
        {
            sb.Append("## Calibration\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"α* = **{c.Alpha:0.0000}**: the model is θ(α*) = (1 − α*)·θ_orig + α*·θ_unl. Retain metric of θ_orig {F(c.OriginalValue)}, target {F(c.Target)}; {c.Evaluations} evaluations")
                .Append(snapshot ? "" : string.Create(CultureInfo.InvariantCulture, $" in {c.Seconds:0.0} s")).Append(".\n\n");
            sb.Append(c.Note).Append("\n\n");
            sb.Append("| order | α | retain | forget | non-monotone |\n|---:|---:|---:|---:|---|\n");
            for (var i = 0; i < c.Curve.Count; i++)
            {
                var p = c.Curve[i];
                sb.Append(CultureInfo.InvariantCulture, $"| {i} | {p.Alpha:0.0000} | {F(p.Retain)} | {(p.Forget is { } f ? F(f) : "")} | {(p.NonMonotone ? "yes" : "")} |\n");
            }
            sb.Append('\n');
            OtherTaus(sb, spec.Report.Taus, c, c.Settings ?? CalibrationSettings.Unknown);
            Embed(sb, charts, Charts.CalibrationFile);
        }

        if (result.Unlearning is { } u)
        {
            sb.Append("## Unlearning\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"{u.Steps} of {u.PlannedSteps} steps");
            if (u.StopReason != null) sb.Append("; stopped early: ").Append(u.StopReason.TrimEnd('.', ' '));
            if (u.RestoredCheckpoint != null) sb.Append("; restored checkpoint `").Append(u.RestoredCheckpoint).Append('`');
            sb.Append(".\n\n");
            if (u.History.Count > 0)
            {
                sb.Append("| step | loss | grad norm | lr |\n|---:|---:|---:|---:|\n");
                var stride = Math.Max(1, u.History.Count / 10);
                for (var i = 0; i < u.History.Count; i += stride) Row(sb, u.History[i]);
                if ((u.History.Count - 1) % stride != 0) Row(sb, u.History[^1]);
                sb.Append('\n');
            }
            Embed(sb, charts, Charts.TrainingFile);
        }

        if (!snapshot)
        {
            sb.Append("## Stages\n\n| stage | seconds | cached |\n|---|---:|---|\n");
            foreach (var t in result.Timings) sb.Append(CultureInfo.InvariantCulture, $"| {t.Stage} | {t.Seconds:0.0} | {(t.Cached ? "yes" : "")} |\n");
            sb.Append('\n');
        }
        sb.Append("Files: `summary.csv`, `summary.json`, `items.csv` (per-item values), `manifest.json` (versions, hashes, timings), `pipeline.yaml` (the resolved pipeline)");
        if (result.Calibration != null) sb.Append(", `calibration.csv`");
        if (result.Unlearning != null) sb.Append(", `trajectory.csv`").Append(result.Unlearning.Trajectory.Count > 0 ? ", `controls.csv`" : "");
        if (charts is { Count: > 0 }) sb.Append(", `charts/`");
        sb.Append(". Schema: docs/results-schema.md in the tool's repository; compare runs with `dotnet unlearn compare`.\n");
        return sb.ToString();
    }

    /// <summary>A model or data folder as the report names it: the path, or in the snapshot form only its folder name
    /// (a path names the machine it ran on).</summary>
    private static string? Folder(string? path, bool snapshot) =>
        path == null ? null : snapshot ? $"folder `{Path.GetFileName(Path.TrimEndingDirectorySeparator(path))}`" : path;

    /// <summary>The calibration at the extra τ of <c>report.taus</c>, read off the visited curve as <c>compare</c> does
    /// (<see cref="Comparison.FromCurve"/>): the largest visited α that meets τ·M(θ_orig).</summary>
    private static void OtherTaus(StringBuilder sb, IReadOnlyList<double> taus, CalibrationRecord c, CalibrationSettings settings)
    {
        if (taus.Count == 0) return;
        var summary = new CalibrationSummary(c.Method, c.Alpha, c.OriginalValue, c.Target, c.Curve);
        sb.Append("### Other calibration targets\n\nFrom the visited α above (`report.taus`): for each τ, the largest visited α whose retain value meets τ·")
            .Append(F(c.OriginalValue)).Append("; the exact α* lies between it and the next visited α. Sweep `calibrate.options.tau` for a full calibration and evaluation at each τ.\n\n");
        sb.Append("| τ | target | α (visited) | next visited α | retain | forget |\n|---:|---:|---:|---:|---:|---:|\n");
        foreach (var tau in taus)
        {
            var cells = Comparison.FromCurve(summary, settings with { Metric = null }, tau);
            var point = cells.Alpha is { } lo ? c.Curve.Last(p => p.Alpha == lo) : null;
            sb.Append(CultureInfo.InvariantCulture, $"| {tau:0.###} | {F(tau * c.OriginalValue)} | ")
                .Append(cells.Alpha is { } a ? a.ToString("0.0000", CultureInfo.InvariantCulture) : "none meets it").Append(" | ")
                .Append(cells.AlphaUpper is { } h && cells.Alpha is { } l && h > l ? h.ToString("0.0000", CultureInfo.InvariantCulture) : "").Append(" | ")
                .Append(point != null ? F(point.Retain) : "").Append(" | ")
                .Append(point?.Forget is { } f ? F(f) : "").Append(" |\n");
        }
        sb.Append('\n');
    }

    private static void Embed(StringBuilder sb, IReadOnlyList<ChartFile>? charts, string file)
    {
        if (charts?.FirstOrDefault(c => c.RelativePath == file) is not { } chart) return;
        if (chart.Written) sb.Append("![").Append(chart.Caption).Append("](").Append(chart.RelativePath).Append(")\n\n")
            .Append(chart.Warning == null ? "" : $"Chart `{chart.RelativePath}` {chart.Warning}\n\n");
        else sb.Append("Chart `").Append(chart.RelativePath).Append("` ").Append(chart.Problem).Append("\n\n");
    }

    private static void Row(StringBuilder sb, Training.StepReport h) =>
        sb.Append(CultureInfo.InvariantCulture, $"| {h.Step} | {h.Loss:0.0000} | {h.GradientNorm:0.000} | {h.LearningRate:0.###E+0} |\n");
}
