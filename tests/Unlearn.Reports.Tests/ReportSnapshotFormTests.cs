using Snapshooter.Xunit;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running;
using Unlearn.Tests;

namespace Unlearn.Reports.Tests;

/// <summary><c>report.deterministic: true</c>: the run folder also holds <c>report.snapshot.md</c>, rendered by the same
/// code as report.md without what differs between two runs of one pipeline.</summary>
public sealed class ReportSnapshotFormTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("reports-snapshot-form");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static Host.Configuration.PipelineSpec DeterministicSpec(string yaml = Fixtures.Yaml) =>
        Fixtures.Spec(yaml.Replace("charts: true", "charts: true\n  deterministic: true", StringComparison.Ordinal));

    [Fact]
    public void DeterministicReportIsWrittenBesideReportMd()
    {
        var spec = DeterministicSpec();
        Assert.True(spec.Report.Deterministic);
        var folder = Fixtures.WriteRun(Path.Combine(_root, "run"), Fixtures.Result(), spec);
        var text = File.ReadAllText(folder.File(MarkdownReport.SnapshotFile));
        Assert.Contains(MarkdownReport.SnapshotFile, File.ReadAllText(folder.File(RunFolder.CommitMarker)), StringComparison.Ordinal);
        Snapshot.Match(Fixtures.Stable(text, _root));
    }

    [Fact]
    public void WithoutTheKeyNoSnapshotFormIsWritten()
    {
        var folder = Fixtures.WriteRun(Path.Combine(_root, "plain"), Fixtures.Result());
        Assert.False(folder.Has(MarkdownReport.SnapshotFile));
    }

    [Fact]
    public void SnapshotFormLeavesOutTimingsCacheReuseChartsAndPaths()
    {
        var spec = DeterministicSpec(Fixtures.Yaml.Replace("  architecture: tiny", "  path: " + Path.Combine(_root, "models", "my-model"), StringComparison.Ordinal)
            .Replace("learn:\n  recipe: tiny-world", "learn:\n  recipe: none", StringComparison.Ordinal));
        var fast = Fixtures.Result();
        var slow = fast with
        {
            Timings = [new StageTiming("data", 9.9, true), new StageTiming("unlearn", 99.1, false), new StageTiming("calibrate", 7.7, true), new StageTiming("evaluate", 1.0, true)],
            Calibration = fast.Calibration! with { Seconds = 123.4 },
        };
        var charts = new List<ChartFile> { new(Charts.CalibrationFile, "calibration", null, "was drawn without fonts") };
        var a = MarkdownReport.Render(spec, fast, charts, snapshot: true);
        var b = MarkdownReport.Render(spec, slow, snapshot: true);
        Assert.Equal(a, b);
        Assert.NotEqual(MarkdownReport.Render(spec, fast), MarkdownReport.Render(spec, slow));
        Assert.StartsWith("# snap\n\n" + MarkdownReport.SnapshotNote + "\n\n", a, StringComparison.Ordinal);
        Assert.DoesNotContain(_root, a, StringComparison.Ordinal);
        Assert.Contains("| model | folder `my-model` |", a, StringComparison.Ordinal);
        Assert.DoesNotContain("## Stages", a, StringComparison.Ordinal);
        Assert.DoesNotContain("charts/", a, StringComparison.Ordinal);
        Assert.DoesNotContain(" s.", a, StringComparison.Ordinal);
        Assert.Contains("## Stages", MarkdownReport.Render(spec, fast), StringComparison.Ordinal);
    }
}
