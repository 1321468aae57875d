using System.Globalization;
using System.Xml.Linq;
using Unlearn.Host.Checking;
using Unlearn.Host.Cli;
using Unlearn.Host.Configuration;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>Two runs of the tiny pipeline with <c>report.deterministic: true</c>, each with its own fresh cache (every
/// stage trained from scratch), shared by the <c>check</c> tests.</summary>
public sealed class DeterministicRunsFixture : IDisposable
{
    /// <summary>Temporary root of the caches and run folders.</summary>
    public string Root { get; } = TestPaths.NewTempDir("unlearn-check");

    /// <summary>The first run folder.</summary>
    public string First { get; }

    /// <summary>The second run folder (same pipeline and seed, another cache).</summary>
    public string Second { get; }

    /// <summary>Runs the pipeline twice.</summary>
    public DeterministicRunsFixture()
    {
        First = Run("one");
        Second = Run("two");
    }

    private string Run(string name)
    {
        var result = ToolProcess.Run(Path.Combine(Root, "cache-" + name), "run", HostTestPaths.Pipeline("tiny.yaml"), "--out", Path.Combine(Root, name), "--quiet",
            "--set", "report.deterministic=true", "--set", "evaluate.metrics=[es, probability]");
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        return result.LastLine;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary><c>dotnet unlearn check</c>: expectation files against finished runs, <c>--update</c>, JUnit XML, bad files
/// and unfinished folders, and the reproducible <c>report.snapshot.md</c>.</summary>
public sealed class CheckTests(DeterministicRunsFixture runs) : IClassFixture<DeterministicRunsFixture>, IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private RunSummary Summary => RunSummaries.Read(runs.First);

    private double Value(string model, string split, string metric) =>
        Summary.Value(model, split, metric) ?? throw new InvalidOperationException($"the tiny run has no {model}.{split}.{metric}");

    private static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private (int Exit, string Output) Check(string run, string expectFile, bool update = false, string? junit = null)
    {
        var output = new StringWriter();
        var exit = Commands.Guard(() => CheckCommand.Run(run, expectFile, update, junit, output));
        return (exit, output.ToString());
    }

    [Fact]
    public void ReportSnapshotIsByteIdenticalAcrossTwoRunsOfTheSamePipelineAndSeed()
    {
        var first = File.ReadAllBytes(Path.Combine(runs.First, MarkdownReport.SnapshotFile));
        var second = File.ReadAllBytes(Path.Combine(runs.Second, MarkdownReport.SnapshotFile));
        Assert.Equal(first, second);
        var text = File.ReadAllText(Path.Combine(runs.First, MarkdownReport.SnapshotFile));
        Assert.Contains("| probability | forget |", text, StringComparison.Ordinal);
        Assert.DoesNotContain(runs.Root, text, StringComparison.Ordinal);
        Assert.DoesNotContain(DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        Assert.DoesNotContain("## Stages", text, StringComparison.Ordinal);
        // The ordinary report of the same runs holds the stage timings, which is why it cannot be committed.
        Assert.Contains("## Stages", File.ReadAllText(Path.Combine(runs.First, "report.md")), StringComparison.Ordinal);
    }

    [Fact]
    public void ExpectationsThatHoldExitZero()
    {
        var p = Value("original", "forget", "probability");
        var file = _files.Write("pass.yaml", $"""
            expect:
              original.forget.es: ">= 0"
              calibrated.retain.es: ["<= 1", ">= 0"]
              original.forget.probability: {"{"} value: {N(p)}, tol: 0 {"}"}
              unlearned.forget.probability: "<= original.forget.probability"
              calibrated.forget.probability: {"{"} max: 1, min: 0 {"}"}
            """);
        var (exit, output) = Check(runs.First, file);
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("all 7 expectations", output, StringComparison.Ordinal);
    }

    [Fact]
    public void FailingExpectationsExitOneWithATableOfExpectedGotAndDifference()
    {
        var p = Value("unlearned", "forget", "probability");
        var file = _files.Write("fail.yaml", """
            expect:
              calibrated.forget.es: ">= 0.5"
              unlearned.forget.probability: "> original.forget.probability"
              original.retain.es: "<= 1"
            """);
        var (exit, output) = Check(runs.First, file);
        Assert.True(exit == ExitCodes.RunFailure, output);
        Assert.Contains("| expectation | expected | got | difference |", output, StringComparison.Ordinal);
        Assert.Contains($"| calibrated.forget.es >= 0.5 | >= 0.5 | {ExpectationCheck.Num(Value("calibrated", "forget", "es"))} | {ExpectationCheck.Signed(Value("calibrated", "forget", "es") - 0.5)} |", output, StringComparison.Ordinal);
        Assert.Contains($"| unlearned.forget.probability > original.forget.probability | > {ExpectationCheck.Num(Value("original", "forget", "probability"))} (original.forget.probability) | {ExpectationCheck.Num(p)} |", output, StringComparison.Ordinal);
        Assert.DoesNotContain("original.retain.es", output, StringComparison.Ordinal);
        Assert.Contains("2 of 3 expectations", output, StringComparison.Ordinal);

        // The installed command line gives the same exit code and table.
        var tool = ToolProcess.Run(Path.Combine(_files.Dir, "cache"), "check", runs.First, "--expect", file);
        Assert.True(tool.ExitCode == ExitCodes.RunFailure, tool.ToString());
        Assert.Contains("| calibrated.forget.es >= 0.5 |", tool.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.02, 0.02, true)]
    [InlineData(-0.02, 0.02, true)]
    [InlineData(0.02, 0.019, false)]
    [InlineData(-0.0201, 0.02, false)]
    public void SnapshotValuesHoldWithinTheirTolerance(double offset, double tol, bool holds)
    {
        var p = Value("original", "retain", "probability");
        var file = _files.Write("tol.yaml", $"expect:\n  original.retain.probability: {{ value: {N(p + offset)}, tol: {N(tol)} }}\n");
        var (exit, output) = Check(runs.First, file);
        Assert.True(exit == (holds ? ExitCodes.Success : ExitCodes.RunFailure), output);
        // A bare number takes the file's tol.
        var bare = _files.Write("bare.yaml", $"tol: {N(tol)}\nexpect:\n  original.retain.probability: {N(p + offset)}\n");
        Assert.Equal(exit, Check(runs.First, bare).Exit);
    }

    [Fact]
    public void MissingMetricsSplitsAndReferencesAreFailuresNotSkips()
    {
        var file = _files.Write("missing.yaml", """
            expect:
              calibrated.forget.rouge-l: "<= 1"
              calibrated.holdout.es: "<= 1"
              original.forget.es: ">= 0.5 * original.forget.truth-ratio"
            """);
        var (exit, output) = Check(runs.First, file, junit: Path.Combine(_files.Dir, "missing.xml"));
        Assert.True(exit == ExitCodes.RunFailure, output);
        Assert.Contains("| calibrated.forget.rouge-l <= 1 | <= 1 | missing |  |", output, StringComparison.Ordinal);
        Assert.Contains("no metric 'rouge-l' on calibrated/forget (its metrics: es, probability)", output, StringComparison.Ordinal);
        Assert.Contains("no split 'holdout' on calibrated (its splits: forget, retain)", output, StringComparison.Ordinal);
        Assert.Contains("the bar's reference is missing: the run has no metric 'truth-ratio'", output, StringComparison.Ordinal);
        Assert.Contains("3 of 3 expectations", output, StringComparison.Ordinal);
        var xml = XDocument.Load(Path.Combine(_files.Dir, "missing.xml"));
        Assert.Equal(3, xml.Descendants("failure").Count());
        Assert.Empty(xml.Descendants("skipped"));
    }

    [Fact]
    public void UpdateRewritesSnapshotValuesKeepsBarsAndCommentsAndAddsEveryOtherValue()
    {
        var file = _files.Write("update.yaml", """
            # quickstart expectations
            tol: 0.05
            expect:
              calibrated.forget.es: "<= 1"   # the bar stays
              original.retain.probability: { value: 0.123, tol: 0.002 }
            """);
        Assert.Equal(ExitCodes.RunFailure, Check(runs.First, file).Exit);
        var (exit, output) = Check(runs.First, file, update: true);
        Assert.True(exit == ExitCodes.Success, output);
        Assert.Contains("1 snapshot value rewritten", output, StringComparison.Ordinal);
        var metrics = Summary.Metrics.Count;
        Assert.Contains($"{metrics - 2} added", output, StringComparison.Ordinal);
        var text = File.ReadAllText(file);
        Assert.StartsWith("# quickstart expectations\ntol: 0.05\nexpect:\n  calibrated.forget.es: \"<= 1\"   # the bar stays\n"
            + $"  original.retain.probability: {{ value: {N(Value("original", "retain", "probability"))}, tol: 0.002 }}\n", text, StringComparison.Ordinal);
        Assert.Contains($"  unlearned.forget.probability: {{ value: {N(Value("unlearned", "forget", "probability"))}, tol: 0.05 }}\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("  calibrated.forget.es: {", text, StringComparison.Ordinal);
        // The file now holds an expectation for every value of the run, and they hold.
        var parsed = ExpectationFile.Load(file);
        Assert.Equal(metrics, parsed.Common!.Entries.Count);
        Assert.Equal(ExitCodes.Success, Check(runs.First, file).Exit);
        // A second update changes nothing.
        Check(runs.First, file, update: true);
        Assert.Equal(text, File.ReadAllText(file));
    }

    [Fact]
    public void UpdateKeepsBarsThatFailAndStillExitsOne()
    {
        var file = _files.Write("bar.yaml", "expect:\n  calibrated.forget.es: \">= 0.5\"\n");
        var (exit, output) = Check(runs.First, file, update: true);
        Assert.True(exit == ExitCodes.RunFailure, output);
        Assert.Contains("  calibrated.forget.es: \">= 0.5\"\n", File.ReadAllText(file), StringComparison.Ordinal);
    }

    [Fact]
    public void JUnitXmlParsesBackWithOneTestCasePerExpectation()
    {
        var file = _files.Write("junit.yaml", """
            expect:
              calibrated.forget.es: ["<= 1", ">= 0.5"]
              original.forget.probability: { value: 7, tol: 0.1, max: 1 }
            """);
        var junit = Path.Combine(_files.Dir, "reports", "check.xml");
        var (exit, _) = Check(runs.First, file, junit: junit);
        Assert.Equal(ExitCodes.RunFailure, exit);
        var xml = XDocument.Load(junit);
        var suites = xml.Root!;
        Assert.Equal("testsuites", suites.Name.LocalName);
        Assert.Equal("4", suites.Attribute("tests")!.Value);
        Assert.Equal("2", suites.Attribute("failures")!.Value);
        var suite = Assert.Single(suites.Elements("testsuite"));
        Assert.Equal("tiny-e2e", suite.Attribute("name")!.Value);
        var cases = suite.Elements("testcase").ToList();
        Assert.Equal(["calibrated.forget.es <= 1", "calibrated.forget.es >= 0.5", "original.forget.probability 7 ± 0.1", "original.forget.probability <= 1"],
            cases.Select(c => c.Attribute("name")!.Value));
        Assert.Equal([false, true, true, false], cases.Select(c => c.Element("failure") != null));
        var failure = cases[1].Element("failure")!;
        Assert.StartsWith("calibrated.forget.es is ", failure.Attribute("message")!.Value, StringComparison.Ordinal);
        Assert.Contains("expected: >= 0.5", failure.Value, StringComparison.Ordinal);
        // The same results give the same file.
        var again = Path.Combine(_files.Dir, "again.xml");
        Check(runs.First, file, junit: again);
        Assert.Equal(File.ReadAllText(junit), File.ReadAllText(again));
    }

    [Theory]
    [InlineData("expect:\n  calibrated.forget.es: \"=> 0.3\"\n", 2, "'=> 0.3' is not a bar: write an operator (<=, <, >=, >, ==)")]
    [InlineData("expect:\n  calibrated.forget.es: \"<= abc\"\n", 2, "'abc' in '<= abc' is not a number")]
    [InlineData("expect:\n  calibrated.forget.es: { value: high, tol: 0.1 }\n", 2, "expect.calibrated.forget.es.value: expected a number (such as 0.523), found 'high'")]
    [InlineData("expect:\n  calibrated.forget.es: { value: 0.5, tol: -1 }\n", 2, "write a number >= 0")]
    [InlineData("expect:\n  calibrated.forget.es: { value: 0.5, tolerance: 0.1 }\n", 2, "unknown expectation key 'tolerance'. Valid: bar, max, min, tol, value.")]
    [InlineData("tol: 0.1\n\nexpect:\n  calibrated.forget.es: >= 0.3\n", 4, "a bar that starts with '>' must be quoted")]
    [InlineData("expect:\n  calibrated.forget.es: [\"<= 1\"\n", 3, "YAML syntax error")]
    [InlineData("expects:\n  calibrated.forget.es: \"<= 1\"\n", 1, "unknown top-level key 'expects'. Did you mean 'expect'?")]
    [InlineData("expect:\n  calibrate.forget.es: \"<= 1\"\n", 2, "unknown model role 'calibrate'. Did you mean 'calibrated'?")]
    [InlineData("expect:\n  calibrated.es: \"<= 1\"\n", 2, "is not 'role.split.metric'")]
    public void BadExpectationFilesExitTwoNamingFileLineAndTheFix(string yaml, int line, string message)
    {
        var file = _files.Write("bad.yaml", yaml);
        var e = Assert.Throws<PipelineException>(() => ExpectationFile.Load(file));
        Assert.Equal(line, e.Location.Line);
        Assert.StartsWith($"{file}:{line}:", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, Check(runs.First, file).Exit);
    }

    [Fact]
    public void AnUncommittedRunFolderExitsTwo()
    {
        var copy = Path.Combine(_files.Dir, "unfinished");
        TestPaths.CopyFolder(runs.First, copy);
        File.Delete(Path.Combine(copy, RunFolder.CommitMarker));
        var file = _files.Write("ok.yaml", "expect:\n  original.forget.es: \">= 0\"\n");
        Assert.Equal(ExitCodes.Success, Check(runs.First, file).Exit);
        var e = Assert.Throws<InputException>(() => CheckCommand.Run(copy, file, false, null, TextWriter.Null));
        Assert.Contains("it has no complete.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("dotnet unlearn run --resume", e.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.BadInput, Check(copy, file).Exit);
    }

    [Fact]
    public void SweepRunsGetTheCommonExpectationsAndTheirOwnSection()
    {
        var sweep = Path.Combine(_files.Dir, "sweep");
        TestPaths.CopyFolder(runs.First, Path.Combine(sweep, "lr-1e-4"));
        TestPaths.CopyFolder(runs.Second, Path.Combine(sweep, "lr-3e-4"));
        var file = _files.Write("sweep.yaml", """
            expect:
              original.forget.es: ">= 0"
            runs:
              lr-1e-4:
                calibrated.forget.es: ">= 0.5"
              lr-9e-9:
                calibrated.forget.es: "<= 1"
            """);
        Assert.Equal(ExitCodes.BadInput, Check(sweep, file).Exit); // the sweep folder has no commit marker yet
        RunFolder.Open(sweep).Commit(DateTime.UtcNow);
        var (exit, output) = Check(sweep, file);
        Assert.True(exit == ExitCodes.RunFailure, output);
        Assert.Contains("| run | expectation | expected | got | difference |", output, StringComparison.Ordinal);
        Assert.Contains("| tiny-e2e/lr-1e-4 | calibrated.forget.es >= 0.5 |", output, StringComparison.Ordinal);
        Assert.Contains("the sweep has no finished run 'lr-9e-9'", output, StringComparison.Ordinal);
        Assert.Contains("2 of 4 expectations", output, StringComparison.Ordinal);

        // --update gives each sweep run its own snapshot section; the common bar and the run's bar are kept.
        File.WriteAllText(file, "expect:\n  original.forget.es: \">= 0\"\nruns:\n  lr-1e-4:\n    calibrated.forget.es: \"<= 1\"\n");
        var (updated, updateOutput) = Check(sweep, file, update: true);
        Assert.True(updated == ExitCodes.Success, updateOutput);
        var parsed = ExpectationFile.Load(file);
        Assert.Equal(["lr-1e-4", "lr-3e-4"], parsed.Runs.Select(r => r.Name));
        var metrics = Summary.Metrics.Count;
        Assert.Equal(metrics - 1, parsed.Runs[0].Entries.Count);
        Assert.Equal(metrics - 1, parsed.Runs[1].Entries.Count);
        Assert.Single(parsed.Common!.Entries);

        // A file with runs: is for sweeps.
        var single = Assert.Throws<PipelineException>(() => CheckCommand.Run(runs.First, file, false, null, TextWriter.Null));
        Assert.Contains("'runs:' holds expectations per sweep run", single.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheQuickstartExpectationFileOfTheRepositoryCIReadsAsBars()
    {
        var file = ExpectationFile.Load(Path.Combine(TestPaths.RepoRoot, "pipelines", "quickstart.expect.yaml"));
        Assert.Empty(file.Runs);
        var entries = file.Common!.Entries;
        Assert.Equal(6, entries.Count);
        Assert.All(entries.SelectMany(e => e.Conditions), c => Assert.IsType<Bar>(c));
        Assert.Contains(entries, e => e.Key == new MetricKey("retain", "forget", "es"));
        Assert.Contains(entries, e => e.Key == new MetricKey("unlearned", "forget", "probability"));
    }
}
