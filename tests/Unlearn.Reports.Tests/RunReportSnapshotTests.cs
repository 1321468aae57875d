using Snapshooter.Xunit;
using Unlearn.Host.Reporting;
using Unlearn.Tests;

namespace Unlearn.Reports.Tests;

/// <summary>The files ResultWriter writes for a hand-built run, snapshotted (numbers are rounded by the writer; the
/// snapshotted files hold no paths or timestamps).</summary>
public sealed class RunReportSnapshotTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("reports-run");
    private readonly RunFolder _folder;

    public RunReportSnapshotTests() => _folder = Fixtures.WriteRun(Path.Combine(_root, "snap"), Fixtures.Result());

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Read(string file) => Fixtures.Stable(File.ReadAllText(_folder.File(file)), _root);

    [Fact]
    public void ReportMarkdown() => Snapshot.Match(Read("report.md"));

    [Fact]
    public void SummaryJson() => Snapshot.Match(Read("summary.json"));

    [Fact]
    public void SummaryCsv() => Snapshot.Match(Read("summary.csv"));

    [Fact]
    public void CalibrationCsv() => Snapshot.Match(Read("calibration.csv"));

    [Fact]
    public void TrajectoryAndControlsCsv() => Snapshot.Match(Read("trajectory.csv") + "\n--- controls.csv ---\n" + Read("controls.csv"));

    [Fact]
    public void SnapshottedFilesHoldNoPathsOrTimestamps()
    {
        foreach (var file in new[] { "report.md", "summary.json", "summary.csv", "calibration.csv", "trajectory.csv", "controls.csv" })
        {
            var text = File.ReadAllText(_folder.File(file));
            Assert.DoesNotContain(_root, text, StringComparison.Ordinal);
            Assert.DoesNotContain("2025-01-02", text, StringComparison.Ordinal);
        }
        // The manifest, which is not snapshotted, does hold the start time.
        Assert.Contains("2025-01-02T03:04:05", File.ReadAllText(_folder.File("manifest.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void ChartsAreWrittenAndEmbeddedInTheReport()
    {
        Assert.True(File.Exists(_folder.File(Charts.CalibrationFile)));
        Assert.True(File.Exists(_folder.File(Charts.TrainingFile)));
        var report = File.ReadAllText(_folder.File("report.md"));
        Assert.Contains("](charts/calibration.png)", report, StringComparison.Ordinal);
        Assert.Contains("](charts/training.png)", report, StringComparison.Ordinal);
    }

    [Fact]
    public void ChartsOffWritesNoChartsAndEmbedsNone()
    {
        var spec = Fixtures.Spec(Fixtures.Yaml.Replace("charts: true", "charts: false", StringComparison.Ordinal));
        Assert.False(spec.Report.Charts);
        var folder = Fixtures.WriteRun(Path.Combine(_root, "no-charts"), Fixtures.Result(), spec);
        Assert.False(Directory.Exists(folder.File("charts")));
        Assert.DoesNotContain("charts/", File.ReadAllText(folder.File("report.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void MetricRowsCarryTheDirectionTheirMetricDeclares()
    {
        var plain = Fixtures.Result();
        var directed = plain with
        {
            Directions = new Dictionary<string, Unlearn.Plugins.MetricDirection>
            {
                ["es"] = Unlearn.Plugins.MetricDirection.Neutral, ["es-paraphrased"] = Unlearn.Plugins.MetricDirection.LowerIsBetter,
            },
        };
        var text = MarkdownReport.Render(Fixtures.Spec(), directed);
        Assert.Contains("| es-paraphrased ↓ | forget |", text, StringComparison.Ordinal);
        Assert.Contains("| es | forget |", text, StringComparison.Ordinal);
        Assert.Contains("↑: higher is better, ↓: lower is better", text, StringComparison.Ordinal);
        Assert.DoesNotContain("↓", MarkdownReport.Render(Fixtures.Spec(), plain), StringComparison.Ordinal);
    }
}
