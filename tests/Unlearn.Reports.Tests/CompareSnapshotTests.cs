using Snapshooter.Xunit;
using Unlearn.Host.Cli;
using Unlearn.Host.Reporting;
using Unlearn.Tests;

namespace Unlearn.Reports.Tests;

/// <summary>The compare command on fake run folders written by ResultWriter: a sweep folder with two GA settings
/// and a single NPO run, snapshotted (paths replaced by &lt;root&gt;).</summary>
public sealed class CompareSnapshotTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("reports-compare");
    private readonly string _sweep;
    private readonly string _single;

    public CompareSnapshotTests()
    {
        _sweep = Path.Combine(_root, "runs", "ga-sweep", "20250102-030405");
        Fixtures.WriteRun(Path.Combine(_sweep, "lr-1e-4"), Fixtures.Result("ga-sweep", "ga", "unlearn.method=ga,unlearn.trainer.lr=1e-4", calibratedRetain: 0.87, calibratedForget: 0.41));
        Fixtures.WriteRun(Path.Combine(_sweep, "lr-3e-4"), Fixtures.Result("ga-sweep", "ga", "unlearn.method=ga,unlearn.trainer.lr=3e-4", calibratedForget: 0.64));
        _single = Path.Combine(_root, "runs", "npo", "20250102-030406");
        Fixtures.WriteRun(_single, Fixtures.Result("npo", "npo", calibratedRetain: 0.9, calibratedForget: 0.35, rawRetain: 0.5, rawForget: 0.2));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private (int Code, string Printed, string Out) Compare(string? taus)
    {
        var output = new StringWriter();
        var outDir = Path.Combine(_root, "compare-" + (taus ?? "default"));
        var code = Commands.Guard(() => CompareCommand.Run([_sweep, _single], outDir, taus, charts: true, output));
        return (code, output.ToString(), outDir);
    }

    [Fact]
    public void ComparisonMarkdown()
    {
        var (code, printed, outDir) = Compare(null);
        Assert.Equal(ExitCodes.Success, code);
        var written = File.ReadAllText(Path.Combine(outDir, ComparisonReport.MarkdownFile));
        Assert.Equal(written, printed);
        Snapshot.Match(Fixtures.Stable(written, _root));
    }

    [Fact]
    public void ComparisonCsv()
    {
        var (code, _, outDir) = Compare(null);
        Assert.Equal(ExitCodes.Success, code);
        Snapshot.Match(Fixtures.Stable(File.ReadAllText(Path.Combine(outDir, ComparisonReport.CsvFile)), _root));
    }

    [Fact]
    public void ComparisonMarkdownAtTwoTaus()
    {
        var (code, printed, outDir) = Compare("0.8,0.9");
        Assert.Equal(ExitCodes.Success, code);
        Assert.True(File.Exists(Path.Combine(outDir, Charts.ComparisonFile)));
        Assert.True(File.Exists(Path.Combine(outDir, "comparison-tau0.9.png")));
        Snapshot.Match(Fixtures.Stable(printed, _root));
    }

    [Fact]
    public void OneSettingPerMethodHasNoSelectionColumn()
    {
        var output = new StringWriter();
        Assert.Equal(ExitCodes.Success, CompareCommand.Run([Path.Combine(_sweep, "lr-1e-4"), _single], Path.Combine(_root, "compare-single"), null, charts: false, output));
        var markdown = output.ToString();
        Assert.DoesNotContain("selected", markdown);
        Assert.DoesNotContain("**best**", markdown);
        var calibrated = markdown[markdown.IndexOf("## Calibrated", StringComparison.Ordinal)..].Split('\n').Where(l => l.StartsWith('|')).ToList();
        Assert.Equal(4, calibrated.Count);
        Assert.All(calibrated, l => Assert.Equal(9, l.Count(c => c == '|'))); // 8 columns: no empty selection cell
        Assert.StartsWith("| ga | unlearn.trainer.lr=1e-4 |", calibrated[2]);
    }

    [Fact]
    public void ExistingComparisonIsNeverOverwritten()
    {
        Assert.Equal(ExitCodes.Success, Compare(null).Code);
        var before = File.ReadAllText(Path.Combine(_root, "compare-default", ComparisonReport.MarkdownFile));
        Assert.Equal(ExitCodes.BadInput, Compare(null).Code);
        Assert.Equal(before, File.ReadAllText(Path.Combine(_root, "compare-default", ComparisonReport.MarkdownFile)));
    }

    [Fact]
    public void DefaultOutputIsANewFolderUnderRunsCompare()
    {
        var when = new DateTime(2025, 1, 2, 3, 4, 5);
        var runs = Path.Combine(_root, "runs");
        Assert.Equal(ExitCodes.Success, CompareCommand.Run([_single], null, null, charts: false, TextWriter.Null, when, runs));
        Assert.Equal(ExitCodes.Success, CompareCommand.Run([_single], null, null, charts: false, TextWriter.Null, when, runs));
        Assert.True(File.Exists(Path.Combine(runs, "compare", "20250102-030405", ComparisonReport.MarkdownFile)));
        Assert.True(File.Exists(Path.Combine(runs, "compare", "20250102-030405-1", ComparisonReport.CsvFile)));
        Assert.False(File.Exists(Path.Combine(runs, "compare", "20250102-030405", Charts.ComparisonFile)));
    }

    [Fact]
    public void AFolderThatIsNotARunIsRefusedWithExitCode2()
    {
        var empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        var output = new StringWriter();
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => CompareCommand.Run([_single, empty], Path.Combine(_root, "x"), null, false, output)));
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => CompareCommand.Run([Path.Combine(_root, "missing")], Path.Combine(_root, "y"), null, false, output)));
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => CompareCommand.Run([_single], Path.Combine(_root, "z"), "0.8,1.5", false, output)));
        Assert.Equal("", output.ToString());
        Assert.False(Directory.Exists(Path.Combine(_root, "x")));
    }
}
