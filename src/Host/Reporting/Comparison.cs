using Unlearn.Host.Configuration;

namespace Unlearn.Host.Reporting;

/// <summary>The four extraction-strength cells the published tables report for one model: ES on the original questions
/// ("exact") and on the paraphrased questions ("perturb"), on the retain and the forget split. Null = not measured.</summary>
public sealed record EsCells(double? ExactRetain, double? ExactForget, double? PerturbRetain, double? PerturbForget)
{
    /// <summary>No value measured.</summary>
    public static EsCells Empty { get; } = new(null, null, null, null);

    /// <summary>True when no cell has a value.</summary>
    public bool IsEmpty => ExactRetain == null && ExactForget == null && PerturbRetain == null && PerturbForget == null;
}

/// <summary>Where a calibrated value comes from.</summary>
public enum CalibrationSource
{
    /// <summary>The run has no calibration (or no point meets the bar).</summary>
    None,
    /// <summary>The calibrated model θ(α*) was evaluated by the run at this τ: every metric, on the full splits.</summary>
    Evaluated,
    /// <summary>Read off the calibration curve the run visited (another τ than the run's own): only the calibration
    /// metric, on the calibrator's items, at the largest visited α that meets the bar.</summary>
    Curve,
}

/// <summary>One row's calibrated values at one τ.</summary>
/// <param name="Tau">The target fraction τ.</param>
/// <param name="Alpha">α* (for <see cref="CalibrationSource.Curve"/>: the largest visited α meeting τ·M(θ_orig)).</param>
/// <param name="AlphaUpper">For <see cref="CalibrationSource.Curve"/>: the smallest visited α above <paramref name="Alpha"/>
/// (the true α* lies in between when the curve is monotone); otherwise equal to <paramref name="Alpha"/>.</param>
/// <param name="Values">The ES cells of θ(α*).</param>
/// <param name="Source">Where the values come from.</param>
/// <param name="Selected">True for the setting hyper-parameter selection picks for this row's method at this τ.</param>
public sealed record CalibratedCells(double Tau, double? Alpha, double? AlphaUpper, EsCells Values, CalibrationSource Source, bool Selected);

/// <summary>One compared run: a method (and sweep setting) with its original, raw and calibrated ES.</summary>
/// <param name="Method">Unlearning method ("(none)" for an evaluation-only run).</param>
/// <param name="Setting">The sweep label without the method axis ("" for a single run).</param>
/// <param name="Run">Pipeline name and the run folder's own name, e.g. <c>methods/method-ga</c>.</param>
/// <param name="Folder">Run folder.</param>
/// <param name="Original">ES of θ_orig.</param>
/// <param name="Raw">ES of the unlearned model θ_unl (before calibration).</param>
/// <param name="Calibrated">Calibrated ES, one entry per τ of the table (same order as <see cref="ComparisonTable.Taus"/>).</param>
public sealed record ComparisonRow(string Method, string Setting, string Run, string Folder, EsCells Original, EsCells Raw, IReadOnlyList<CalibratedCells> Calibrated);

/// <summary>The comparison table of <c>compare</c>: one row per run, calibrated at each τ.</summary>
/// <param name="Taus">The calibration targets, ascending.</param>
/// <param name="Rows">The rows, in the order the runs were given.</param>
public sealed record ComparisonTable(IReadOnlyList<double> Taus, IReadOnlyList<ComparisonRow> Rows)
{
    /// <summary>Index of <paramref name="tau"/> in <see cref="Taus"/> (within <see cref="Comparison.TauTolerance"/>), or -1.</summary>
    public int TauIndex(double tau)
    {
        for (var i = 0; i < Taus.Count; i++) if (Math.Abs(Taus[i] - tau) <= Comparison.TauTolerance) return i;
        return -1;
    }
}

/// <summary>Builds the comparison the published work reports (spec §5 and §7): per method, ES exact and perturb on
/// retain and forget, raw and calibrated at τ; and hyper-parameter selection: per method, the setting with the lowest
/// calibrated forget ES (exact) at each τ.</summary>
public static class Comparison
{
    /// <summary>The metric of exact ES.</summary>
    public const string ExactMetric = "es";

    /// <summary>The metric of perturb ES (paraphrased questions).</summary>
    public const string PerturbMetric = "es-paraphrased";

    /// <summary>Two τ closer than this are the same target (summaries round values to 4 decimals).</summary>
    public const double TauTolerance = 5e-4;

    /// <summary>Builds the table. <paramref name="taus"/> empty = the τ values the runs were calibrated at.</summary>
    public static ComparisonTable Build(IReadOnlyList<RunSummary> runs, IReadOnlyList<double> taus)
    {
        ArgumentNullException.ThrowIfNull(runs);
        ArgumentNullException.ThrowIfNull(taus);
        foreach (var t in taus)
            if (!(t > 0 && t <= 1)) throw new ArgumentOutOfRangeException(nameof(taus), t, $"tau must be in (0, 1], got {t}.");
        var chosen = (taus.Count > 0 ? taus : runs.Select(r => r.Tau).OfType<double>().Select(t => Math.Round(t, 4)))
            .Order().Aggregate(new List<double>(), (list, t) => { if (list.Count == 0 || t - list[^1] > TauTolerance) list.Add(t); return list; });
        var rows = runs.Select(r => new ComparisonRow(
            r.Method ?? "(none)", SettingOf(r.SweepLabel), r.Name + "/" + Path.GetFileName(r.Folder), r.Folder,
            Cells(r, ModelRoles.Original), Cells(r, ModelRoles.Unlearned),
            chosen.Select(t => CalibratedAt(r, t)).ToList())).ToList();
        return SelectBest(new ComparisonTable(chosen, rows));
    }

    /// <summary>The ES cells of one model role of a run.</summary>
    public static EsCells Cells(RunSummary run, string model)
    {
        ArgumentNullException.ThrowIfNull(run);
        return new EsCells(run.Value(model, "retain", ExactMetric), run.Value(model, "forget", ExactMetric),
            run.Value(model, "retain", PerturbMetric), run.Value(model, "forget", PerturbMetric));
    }

    /// <summary>A run's calibrated values at <paramref name="tau"/>: the evaluated θ(α*) when the run was calibrated at
    /// this τ, otherwise read off the visited calibration curve (<see cref="FromCurve"/>).</summary>
    public static CalibratedCells CalibratedAt(RunSummary run, double tau)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.Calibration is not { } c) return new CalibratedCells(tau, null, null, EsCells.Empty, CalibrationSource.None, false);
        var evaluated = Cells(run, ModelRoles.Calibrated);
        if (run.Tau is { } own && Math.Abs(own - tau) <= TauTolerance && !evaluated.IsEmpty)
            return new CalibratedCells(tau, c.Alpha, c.Alpha, evaluated, CalibrationSource.Evaluated, false);
        return FromCurve(c, run.CalibrationSettings, tau);
    }

    /// <summary>Calibration at another τ from the curve a run visited: target = τ·M(θ_orig); α* = 1 when the α = 1 point
    /// meets it, else the largest visited α that meets it (the true α* lies below the next visited α when M falls
    /// monotonically in α). The point's values fill the exact cells when the calibration metric is <c>es</c>, the
    /// perturb cells when it is <c>es-paraphrased</c>, none otherwise.</summary>
    public static CalibratedCells FromCurve(CalibrationSummary calibration, CalibrationSettings settings, double tau)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(settings);
        var target = tau * calibration.Original;
        var points = calibration.Curve.Where(p => double.IsFinite(p.Alpha) && double.IsFinite(p.Retain)).ToList();
        var meeting = points.Where(p => p.Retain >= target).ToList();
        if (!double.IsFinite(target) || meeting.Count == 0) return new CalibratedCells(tau, null, null, EsCells.Empty, CalibrationSource.None, false);
        var lo = meeting.Max(p => p.Alpha);
        var point = meeting.Last(p => p.Alpha == lo);
        var above = points.Where(p => p.Alpha > lo).Select(p => p.Alpha).DefaultIfEmpty(lo).Min();
        var values = settings.Metric switch
        {
            ExactMetric => new EsCells(point.Retain, point.Forget, null, null),
            PerturbMetric => new EsCells(null, null, point.Retain, point.Forget),
            _ => EsCells.Empty,
        };
        return new CalibratedCells(tau, lo, above, values, CalibrationSource.Curve, false);
    }

    /// <summary>Hyper-parameter selection (spec §5): for each τ and each method with at least two calibrated settings,
    /// marks the one with the lowest calibrated exact forget ES (ties: the higher calibrated exact retain ES, then the
    /// first given). Rows without a calibrated forget ES are not candidates.</summary>
    public static ComparisonTable SelectBest(ComparisonTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var selected = new HashSet<(int Row, int Tau)>();
        for (var t = 0; t < table.Taus.Count; t++)
        {
            var column = t;
            var byMethod = table.Rows.Select((row, index) => (row, index))
                .Where(x => x.row.Calibrated[column].Values.ExactForget is { } f && double.IsFinite(f))
                .GroupBy(x => x.row.Method, StringComparer.Ordinal);
            foreach (var method in byMethod)
            {
                if (method.Count() < 2) continue;
                var best = method
                    .OrderBy(x => x.row.Calibrated[column].Values.ExactForget!.Value)
                    .ThenByDescending(x => x.row.Calibrated[column].Values.ExactRetain ?? double.NegativeInfinity)
                    .ThenBy(x => x.index)
                    .First();
                selected.Add((best.index, column));
            }
        }
        var rows = table.Rows.Select((row, i) => row with
        {
            Calibrated = row.Calibrated.Select((c, t) => c with { Selected = selected.Contains((i, t)) }).ToList(),
        }).ToList();
        return table with { Rows = rows };
    }

    /// <summary>The setting of a sweep run: its label without the method axis (the method has its own column).</summary>
    public static string SettingOf(string sweepLabel)
    {
        ArgumentNullException.ThrowIfNull(sweepLabel);
        var parts = sweepLabel.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(p => !p.StartsWith("unlearn.method=", StringComparison.Ordinal));
        return string.Join(",", parts);
    }
}
