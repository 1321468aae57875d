using SkiaSharp;
using Unlearn.Host.Reporting;
using Unlearn.Tests;

namespace Unlearn.Reports.Tests;

/// <summary>Charts are valid PNG files of the expected size with the series actually drawn (pixels of the series
/// colours present), and a chart that cannot be drawn is reported instead of failing the run.</summary>
public sealed class ChartTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("reports-charts");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static SKBitmap Decode(byte[] png)
    {
        Assert.Equal(PngSignature, png.Take(8));
        // IHDR is the first chunk: width and height big-endian at bytes 16..23.
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(png, 12, 4));
        var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal((png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19], bitmap.Width);
        Assert.Equal((png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23], bitmap.Height);
        return bitmap;
    }

    /// <summary>Pixels within a small distance of a colour.</summary>
    private static int Count(SKBitmap bitmap, string hex)
    {
        var c = SKColor.Parse(hex);
        var n = 0;
        for (var y = 0; y < bitmap.Height; y++)
        for (var x = 0; x < bitmap.Width; x++)
        {
            var p = bitmap.GetPixel(x, y);
            if (Math.Abs(p.Red - c.Red) + Math.Abs(p.Green - c.Green) + Math.Abs(p.Blue - c.Blue) < 24) n++;
        }
        return n;
    }

    [Fact]
    public void CalibrationChartDrawsRetainForgetTargetAndTheNonMonotoneRing()
    {
        using var bitmap = Decode(Charts.Calibration(Fixtures.Calibration(), new CalibrationSettings("es", "retain", "forget", 0.9)));
        Assert.Equal(900, bitmap.Width);
        Assert.Equal(480, bitmap.Height);
        Assert.True(Count(bitmap, "#1f77b4") > 200, "retain series (blue) drawn");
        Assert.True(Count(bitmap, "#d62728") > 200, "forget series (red) drawn");
        Assert.True(Count(bitmap, "#2ca02c") > 200, "target line (green) drawn");
        Assert.True(Count(bitmap, "#ff7f0e") > 50, "non-monotone ring (orange) drawn");
    }

    [Fact]
    public void CalibrationChartWithoutFlaggedPointsHasNoRing()
    {
        var curve = Fixtures.Curve.Select(p => p with { NonMonotone = false }).ToList();
        using var bitmap = Decode(Charts.Calibration(Fixtures.Calibration(curve: curve), CalibrationSettings.Unknown));
        Assert.Equal(0, Count(bitmap, "#ff7f0e"));
    }

    [Fact]
    public void TrainingChartHasAControllerPanelWhenControllersRecordedMetrics()
    {
        using var withControls = Decode(Charts.Training(Fixtures.Unlearning()));
        Assert.Equal(960, withControls.Height);
        var bare = Fixtures.Unlearning() with { Trajectory = [] };
        using var single = Decode(Charts.Training(bare));
        Assert.Equal(480, single.Height);
        Assert.True(Count(single, "#1f77b4") > 100, "loss drawn");
        Assert.True(Count(single, "#ff7f0e") > 100, "gradient norm drawn");
    }

    [Fact]
    public void ComparisonChartHasTwoPanelsAndGrowsWithRows()
    {
        var rows = Enumerable.Range(0, 10).Select(i => new ComparisonRow("ga", $"lr={i}", "r", "/r",
            new EsCells(0.96, 1, 0.36, 0.47), new EsCells(0.1, 0.05, 0.07, 0.05),
            [new CalibratedCells(0.9, 0.2, 0.2, new EsCells(0.87, 0.3 + i * 0.01, 0.3, 0.2), CalibrationSource.Evaluated, i == 0)])).ToList();
        using var bitmap = Decode(Charts.Comparison(new ComparisonTable([0.9], rows), 0.9));
        Assert.Equal(960, bitmap.Height);
        Assert.Equal(160 + 110 * 10, bitmap.Width);
        Assert.True(Count(bitmap, "#d62728") > 1000, "calibrated forget bars drawn");
    }

    [Fact]
    public void ComparisonChartWithManyRowsKeepsTheSelectedOnesOrTheFirstTwelve()
    {
        ComparisonRow Row(int i, bool selected) => new("m" + (i % 3), $"s={i}", "r", "/r", EsCells.Empty, new EsCells(0.1, 0.05, 0.07, 0.05),
            [new CalibratedCells(0.9, 0.2, 0.2, new EsCells(0.87, 0.3, 0.3, 0.2), CalibrationSource.Evaluated, selected)]);
        using var selected = Decode(Charts.Comparison(new ComparisonTable([0.9], Enumerable.Range(0, 20).Select(i => Row(i, i < 3)).ToList()), 0.9));
        Assert.Equal(900, selected.Width); // three groups fit the minimum width
        using var first = Decode(Charts.Comparison(new ComparisonTable([0.9], Enumerable.Range(0, 20).Select(i => Row(i, false)).ToList()), 0.9));
        Assert.Equal(160 + 110 * 12, first.Width);
        using var raw = Decode(Charts.Comparison(new ComparisonTable([], Enumerable.Range(0, 2).Select(i => Row(i, false) with { Calibrated = [] }).ToList()), double.NaN));
        // Without a τ only the raw bars (the series colours at 45 % over white) are drawn, and only they are in the legend.
        Assert.Equal(0, Count(raw, "#d62728"));
        Assert.Equal(0, Count(raw, "#1f77b4"));
        Assert.True(Count(raw, "#9ac2dd") > 1000, "raw retain bars drawn");
    }

    [Fact]
    public void AChartThatCannotBeDrawnIsReportedAndWritesNoFile()
    {
        Directory.CreateDirectory(Path.Combine(_root, "run"));
        var folder = RunFolder.Open(Path.Combine(_root, "run"));
        var chart = Charts.TryWrite(folder, "charts/x.png", "x", () => throw new DllNotFoundException("libSkiaSharp"));
        Assert.False(chart.Written);
        Assert.Contains("libSkiaSharp", chart.Problem, StringComparison.Ordinal);
        Assert.False(File.Exists(folder.File("charts/x.png")));
        var ok = Charts.TryWrite(folder, "charts/y.png", "y", () => PngSignature);
        Assert.True(ok.Written);
        Assert.Equal(PngSignature, File.ReadAllBytes(folder.File("charts/y.png")));
    }

    [Fact]
    public void RunChartsCoverCalibrationAndTraining()
    {
        Directory.CreateDirectory(Path.Combine(_root, "both"));
        var charts = Charts.WriteRunCharts(RunFolder.Open(Path.Combine(_root, "both")), Fixtures.Result());
        Assert.Equal([Charts.CalibrationFile, Charts.TrainingFile], charts.Select(c => c.RelativePath));
        Assert.All(charts, c => Assert.True(c.Written));

        Directory.CreateDirectory(Path.Combine(_root, "eval-only"));
        Assert.Empty(Charts.WriteRunCharts(RunFolder.Open(Path.Combine(_root, "eval-only")), Fixtures.Result(method: null, calibrated: false)));
    }
}
