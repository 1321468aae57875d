using System.Globalization;
using ScottPlot;
using SkiaSharp;
using Unlearn.Host.Running;

namespace Unlearn.Host.Reporting;

/// <summary>A chart of a run or comparison: where it is (relative to the folder), its caption, and why it is missing
/// when it could not be drawn.</summary>
/// <param name="RelativePath">The PNG file relative to the folder (forward slashes), e.g. <c>charts/calibration.png</c>.</param>
/// <param name="Caption">What the chart shows (used as the image's alt text).</param>
/// <param name="Problem">Null when the file was written; otherwise why it was not drawn.</param>
/// <param name="Warning">A problem with a chart that was written (e.g. drawn without text because no font was found).</param>
public sealed record ChartFile(string RelativePath, string Caption, string? Problem = null, string? Warning = null)
{
    /// <summary>True when the PNG exists.</summary>
    public bool Written => Problem == null;
}

/// <summary>PNG charts (ScottPlot) for run folders and comparisons: the model-mixing calibration curve, the unlearning
/// trajectory, and grouped bars of extraction strength per method. Drawing never fails a run: a chart that cannot be
/// rendered (no native SkiaSharp, no usable font) is reported as a <see cref="ChartFile"/> with a problem instead.</summary>
public static partial class Charts
{
    /// <summary>The calibration chart of a run.</summary>
    public const string CalibrationFile = "charts/calibration.png";

    /// <summary>The training (unlearning) chart of a run.</summary>
    public const string TrainingFile = "charts/training.png";

    /// <summary>The comparison chart of <c>compare</c> (and of a sweep).</summary>
    public const string ComparisonFile = "comparison.png";

    private const int Width = 900;
    private const int PanelHeight = 480;
    private const int MaxGroups = 12;

    // Category10 colours, fixed so charts look the same in every run.
    private static readonly Color Retain = Color.FromHex("#1f77b4");
    private static readonly Color Forget = Color.FromHex("#d62728");
    private static readonly Color Target = Color.FromHex("#2ca02c");
    private static readonly Color Chosen = Color.FromHex("#7f7f7f");
    private static readonly Color Flag = Color.FromHex("#ff7f0e");
    private static readonly Color[] Series = new[] { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22" }
        .Select(Color.FromHex).ToArray();

    /// <summary>Writes the charts of a finished run into <c>charts/</c> of its folder: the calibration curve when the
    /// run calibrated, the training trajectory when it unlearned. Returns one entry per chart it tried.</summary>
    public static IReadOnlyList<ChartFile> WriteRunCharts(RunFolder folder, RunResult result)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(result);
        var written = new List<ChartFile>();
        if (result.Calibration is { Curve.Count: > 0 } calibration)
        {
            var settings = calibration.Settings ?? CalibrationSettings.Unknown;
            written.Add(TryWrite(folder, CalibrationFile, "calibration: retain and forget metric against the mixing coefficient α",
                () => Calibration(calibration, settings)));
        }
        if (result.Unlearning is { History.Count: > 0 } unlearning)
            written.Add(TryWrite(folder, TrainingFile, "unlearning: loss and gradient norm against step", () => Training(unlearning)));
        return written;
    }

    /// <summary>Renders <paramref name="draw"/> and writes it; a rendering failure becomes the entry's problem.</summary>
    public static ChartFile TryWrite(RunFolder folder, string relativePath, string caption, Func<byte[]> draw)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(draw);
        byte[] png;
        try { png = draw(); }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException
                                      or InvalidOperationException or ArgumentException or NullReferenceException or BadImageFormatException)
        {
            return new ChartFile(relativePath, caption, $"not drawn: {e.GetType().Name}: {e.Message}");
        }
        folder.Write(relativePath, stream => stream.Write(png));
        return new ChartFile(relativePath, caption, Warning: FontProblem());
    }

    /// <summary>Null when SkiaSharp finds at least one font; otherwise a message (charts are then drawn without any text:
    /// no title, labels or legend text).</summary>
    public static string? FontProblem()
    {
        try
        {
            // Without any font file SkiaSharp still answers with one nameless typeface that has no glyphs.
            using var typeface = SKTypeface.CreateDefault();
            return typeface.GlyphCount > 0 ? null
                : "drawn without text: no font was found (on Debian/Ubuntu install fonts-dejavu-core, or put a .ttf file under /usr/share/fonts).";
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException)
        {
            return $"fonts could not be checked: {e.Message}";
        }
    }

    /// <summary>The calibration curve: retain and forget metric against α at every visited point, the target τ·M(θ_orig)
    /// as a horizontal line, α* as a vertical line, and non-monotone points ringed.</summary>
    public static byte[] Calibration(CalibrationRecord calibration, CalibrationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(settings);
        var metric = settings.Metric ?? "calibration metric";
        var split = settings.Split ?? "retain";
        var forgetSplit = settings.ForgetSplit ?? "forget";
        var tau = settings.Tau is { } t ? Invariant($", τ = {t:0.###}") : "";
        var plot = NewPlot($"Calibration ({calibration.Method}): {metric} against the mixing coefficient α{tau}",
            "mixing coefficient α (0 = θ_orig, 1 = θ_unl)", $"{metric} (aggregate, higher = more retained)");

        var sorted = calibration.Curve.OrderBy(p => p.Alpha).ToList();
        var retain = plot.Add.Scatter(sorted.Select(p => p.Alpha).ToArray(), sorted.Select(p => p.Retain).ToArray(), Retain);
        Style(retain, $"{metric} on {split} (visited α)", MarkerShape.FilledCircle);
        var forgetPoints = sorted.Where(p => p.Forget is { } f && double.IsFinite(f)).ToList();
        if (forgetPoints.Count > 0)
        {
            var forget = plot.Add.Scatter(forgetPoints.Select(p => p.Alpha).ToArray(), forgetPoints.Select(p => p.Forget!.Value).ToArray(), Forget);
            Style(forget, $"{metric} on {forgetSplit} (visited α)", MarkerShape.FilledSquare);
        }
        var flagged = sorted.Where(p => p.NonMonotone && double.IsFinite(p.Retain)).ToList();
        if (flagged.Count > 0)
        {
            var ring = plot.Add.Markers(flagged.Select(p => p.Alpha).ToArray(), flagged.Select(p => p.Retain).ToArray(), MarkerShape.OpenCircle, 18, Flag);
            ring.MarkerStyle.LineWidth = 2.5f;
            ring.LegendText = $"non-monotone point ({flagged.Count})";
        }
        if (double.IsFinite(calibration.Target))
        {
            var target = plot.Add.HorizontalLine(calibration.Target, 2, Target, LinePattern.Dashed);
            target.LegendText = Invariant($"target τ·M(θ_orig) = {calibration.Target:0.000}");
        }
        var alpha = plot.Add.VerticalLine(calibration.Alpha, 2, Chosen, LinePattern.Dotted);
        alpha.LegendText = Invariant($"α* = {calibration.Alpha:0.0000}");

        var values = calibration.Curve.SelectMany(p => p.Forget is { } f ? new[] { p.Retain, f } : [p.Retain]).Append(calibration.Target).Append(calibration.OriginalValue);
        plot.Axes.SetLimitsX(-0.03, 1.03);
        plot.Axes.SetLimitsY(0, UpperLimit(values));
        plot.ShowLegend(Alignment.UpperRight);
        return Png([plot]);
    }

    /// <summary>The unlearning trajectory: loss (left axis) and gradient norm (right axis) against step; below it, when
    /// controllers recorded retain/forget metrics (keys ending in <c>.retain</c>, <c>.forget</c>, <c>.bar</c>,
    /// <c>.threshold</c>), those against step.</summary>
    public static byte[] Training(UnlearnRecord unlearning)
    {
        ArgumentNullException.ThrowIfNull(unlearning);
        var title = Invariant($"Unlearning: {unlearning.Steps} of {unlearning.PlannedSteps} steps")
            + (unlearning.StopReason != null ? " (stopped early)" : "");
        var plot = NewPlot(title, "optimiser step", "loss (objective value, minimised)");
        var steps = unlearning.History.Where(h => double.IsFinite(h.Loss)).ToList();
        var loss = plot.Add.Scatter(steps.Select(h => (double)h.Step).ToArray(), steps.Select(h => h.Loss).ToArray(), Retain);
        Style(loss, "loss", steps.Count <= 60 ? MarkerShape.FilledCircle : MarkerShape.None);
        var norms = unlearning.History.Where(h => double.IsFinite(h.GradientNorm)).ToList();
        if (norms.Count > 0)
        {
            var norm = plot.Add.Scatter(norms.Select(h => (double)h.Step).ToArray(), norms.Select(h => h.GradientNorm).ToArray(), Flag);
            Style(norm, "gradient norm (right axis)", norms.Count <= 60 ? MarkerShape.FilledSquare : MarkerShape.None);
            norm.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "gradient norm (global L2, before clipping)";
            plot.Axes.Right.Label.FontSize = 13;
        }
        var skipped = unlearning.History.Where(h => h.Skipped).ToList();
        if (skipped.Count > 0)
        {
            var marks = plot.Add.Markers(skipped.Select(h => (double)h.Step).ToArray(), skipped.Select(_ => 0.0).ToArray(), MarkerShape.Eks, 10, Forget);
            marks.LegendText = $"skipped step, non-finite ({skipped.Count})";
        }
        var lastStep = Math.Max(1, unlearning.History.Count > 0 ? unlearning.History.Max(h => h.Step) : unlearning.Steps);
        plot.Axes.SetLimitsX(0, lastStep + 0.5);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Edge.Bottom);

        var recorded = unlearning.Trajectory
            .Where(t => double.IsFinite(t.Value) && IsMetricKey(t.Key))
            .GroupBy(t => t.Key, StringComparer.Ordinal).ToList();
        if (recorded.Count == 0) return Png([plot]);

        var controls = NewPlot("Metrics recorded by controllers", "optimiser step", "metric value (aggregate on the probe)");
        var i = 0;
        foreach (var series in recorded)
        {
            var color = Series[i++ % Series.Length];
            var points = series.OrderBy(t => t.Step).ToList();
            var isBar = series.Key.EndsWith(".bar", StringComparison.Ordinal) || series.Key.EndsWith(".threshold", StringComparison.Ordinal);
            if (isBar && points.Select(p => p.Value).Distinct().Count() == 1)
            {
                var line = controls.Add.HorizontalLine(points[0].Value, 2, color, LinePattern.Dashed);
                line.LegendText = Invariant($"{series.Key} = {points[0].Value:0.000}");
                continue;
            }
            var scatter = controls.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray(), color);
            Style(scatter, series.Key, MarkerShape.FilledCircle);
            if (isBar) scatter.LinePattern = LinePattern.Dashed;
        }
        controls.Axes.SetLimitsX(0, lastStep + 0.5);
        controls.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        controls.Axes.SetLimitsY(0, UpperLimit(recorded.SelectMany(g => g.Select(t => t.Value))));
        controls.ShowLegend(Alignment.UpperRight);
        return Png([plot, controls]);
    }

    /// <summary>Grouped bars per compared row (method and setting): extraction strength on retain and forget, raw
    /// (the unlearned model) and calibrated at <paramref name="tau"/>; one panel for exact ES, one for perturb ES.</summary>
    public static byte[] Comparison(ComparisonTable table, double tau)
    {
        ArgumentNullException.ThrowIfNull(table);
        var column = double.IsNaN(tau) ? -1 : table.TauIndex(tau);
        IReadOnlyList<ComparisonRow> rows = table.Rows;
        var subset = "";
        if (rows.Count > MaxGroups)
        {
            var selected = rows.Where(r => r.Calibrated.ElementAtOrDefault(column)?.Selected == true).ToList();
            rows = selected.Count > 0 ? selected : rows.Take(MaxGroups).ToList();
            subset = selected.Count > 0 ? ", selected settings" : $", first {MaxGroups} of {table.Rows.Count} runs";
        }
        var what = column < 0 ? "raw" : Invariant($"raw and calibrated at τ = {tau:0.###}");
        var exact = ComparisonPanel(rows, column, r => r.ExactRetain, r => r.ExactForget, $"Exact ES (original questions), {what}{subset}");
        var perturb = ComparisonPanel(rows, column, r => r.PerturbRetain, r => r.PerturbForget, $"Perturb ES (paraphrased questions), {what}{subset}");
        return Png([exact, perturb], width: Math.Max(Width, 160 + 110 * rows.Count));
    }

    private static Plot ComparisonPanel(IReadOnlyList<ComparisonRow> rows, int column, Func<EsCells, double?> retain, Func<EsCells, double?> forget, string title)
    {
        var anySelected = rows.Any(r => r.Calibrated.ElementAtOrDefault(column)?.Selected == true);
        var plot = NewPlot(title, anySelected ? "method (setting); * = setting selected for its method" : "method (setting)", "extraction strength (0-1)");
        (string Label, Color Color, Func<ComparisonRow, double?> Value)[] groups =
        [
            ("retain, raw", Retain.WithAlpha(0.45), r => retain(r.Raw)),
            ("retain, calibrated", Retain, r => r.Calibrated.ElementAtOrDefault(column) is { } c ? retain(c.Values) : null),
            ("forget, raw", Forget.WithAlpha(0.45), r => forget(r.Raw)),
            ("forget, calibrated", Forget, r => r.Calibrated.ElementAtOrDefault(column) is { } c ? forget(c.Values) : null),
        ];
        const double barWidth = 0.2;
        var bars = new List<Bar>();
        var ticks = new List<(double Position, string Label)>();
        for (var i = 0; i < rows.Count; i++)
        {
            for (var g = 0; g < groups.Length; g++)
            {
                if (groups[g].Value(rows[i]) is not { } v || !double.IsFinite(v)) continue;
                bars.Add(new Bar
                {
                    Position = i + (g - 1.5) * barWidth,
                    Value = v,
                    Size = barWidth * 0.92,
                    FillColor = groups[g].Color,
                    LineWidth = 0,
                    Label = v.ToString("0.00", CultureInfo.InvariantCulture),
                });
            }
            var row = rows[i];
            var label = row.Method + (row.Setting.Length > 0 ? "\n" + Shorten(row.Setting) : "");
            if (row.Calibrated.ElementAtOrDefault(column)?.Selected == true) label += " *";
            ticks.Add((i, label));
        }
        if (bars.Count > 0)
        {
            var plottable = plot.Add.Bars(bars);
            plottable.ValueLabelStyle.FontSize = 10;
        }
        plot.Axes.Bottom.SetTicks(ticks.Select(t => t.Position).ToArray(), ticks.Select(t => t.Label).ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.SetLimitsX(-0.6, Math.Max(0.6, rows.Count - 0.4));
        plot.Axes.SetLimitsY(0, 1.25); // room above the bars for the legend
        var drawn = groups.Where(g => rows.Any(r => g.Value(r) is { } v && double.IsFinite(v)));
        plot.Legend.ManualItems.AddRange(drawn.Select(g => new LegendItem { LabelText = g.Label, FillColor = g.Color }));
        plot.ShowLegend(Alignment.UpperRight, Orientation.Horizontal);
        return plot;
    }

    private static bool IsMetricKey(string key) =>
        key.EndsWith(".retain", StringComparison.Ordinal) || key.EndsWith(".forget", StringComparison.Ordinal)
        || key.EndsWith(".bar", StringComparison.Ordinal) || key.EndsWith(".threshold", StringComparison.Ordinal);

    private static string Shorten(string setting)
    {
        // "unlearn.options.beta=0.5,unlearn.trainer.lr=1e-4" -> "beta=0.5 lr=1e-4"
        var parts = setting.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2) is [var key, var value] ? key.Split('.')[^1] + "=" + value : p);
        var text = string.Join(" ", parts);
        return text.Length <= 28 ? text : text[..27] + "…";
    }

    private static Plot NewPlot(string title, string x, string y)
    {
        var plot = new Plot();
        plot.Title(title, size: 15);
        plot.XLabel(x, size: 13);
        plot.YLabel(y, size: 13);
        return plot;
    }

    private static void Style(ScottPlot.Plottables.Scatter scatter, string legend, MarkerShape marker)
    {
        scatter.LegendText = legend;
        scatter.LineWidth = 2;
        scatter.MarkerShape = marker;
        scatter.MarkerSize = marker == MarkerShape.None ? 0 : 7;
    }

    private static double UpperLimit(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        var max = finite.Count == 0 ? 1 : finite.Max();
        return max <= 1 ? 1.08 : max * 1.08;
    }

    /// <summary>Renders panels stacked vertically into one PNG.</summary>
    private static byte[] Png(IReadOnlyList<Plot> panels, int width = Width)
    {
        var height = PanelHeight * panels.Count;
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"SkiaSharp could not create a {width}x{height} surface.");
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        for (var i = 0; i < panels.Count; i++)
        {
            // Each panel is rendered on its own (a plot paints its background over the whole canvas) and then placed.
            using var panel = SKImage.FromEncodedData(panels[i].GetImageBytes(width, PanelHeight, ImageFormat.Png))
                ?? throw new InvalidOperationException("SkiaSharp could not decode a rendered chart panel.");
            canvas.DrawImage(panel, 0, PanelHeight * i);
        }
        canvas.Flush();
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the chart as PNG.");
        return data.ToArray();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
