using Unlearn.Host.Cli;
using Unlearn.Host.Reporting;
using Unlearn.Plugins;
using Unlearn.Tests;

namespace Unlearn.Reports.Tests;

/// <summary>The comparison logic: reading run folders, calibrated values at other τ from the visited curve (values
/// checked by hand against <see cref="Fixtures.Curve"/>), and hyper-parameter selection.</summary>
public sealed class ComparisonTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("reports-logic");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly CalibrationSettings Es = new("es", "retain", "forget", 0.9);

    private static RunSummary Summary(string method, string sweep, double? calibratedForget, double calibratedRetain = 0.9, double tau = 0.9)
    {
        var metrics = new List<SummaryMetric> { new("original", "forget", "es", 1), new("unlearned", "forget", "es", 0) };
        if (calibratedForget is { } f)
        {
            metrics.Add(new SummaryMetric("calibrated", "forget", "es", f));
            metrics.Add(new SummaryMetric("calibrated", "retain", "es", calibratedRetain));
        }
        var calibration = calibratedForget == null ? null : new CalibrationSummary("model-mixing", 0.2, 0.96, tau * 0.96, Fixtures.Curve);
        return new RunSummary("/runs/" + method + sweep, "sweep", sweep, method, calibration, Es with { Tau = tau }, metrics);
    }

    private static bool[] Selected(ComparisonTable table, int tau = 0) => table.Rows.Select(r => r.Calibrated[tau].Selected).ToArray();

    [Fact]
    public void SelectionPicksTheLowestCalibratedForgetEsPerMethod()
    {
        var table = Comparison.Build(
        [
            Summary("ga", "lr=1", 0.50), Summary("ga", "lr=2", 0.31), Summary("ga", "lr=3", 0.44),
            Summary("npo", "beta=1", 0.20), Summary("npo", "beta=2", 0.25),
        ], []);
        Assert.Equal([0.9], table.Taus);
        Assert.Equal([false, true, false, true, false], Selected(table));
    }

    [Fact]
    public void SelectionBreaksTiesByHigherRetainThenOrder()
    {
        var byRetain = Comparison.Build([Summary("ga", "a", 0.3, 0.86), Summary("ga", "b", 0.3, 0.88)], []);
        Assert.Equal([false, true], Selected(byRetain));
        var byOrder = Comparison.Build([Summary("ga", "a", 0.3, 0.88), Summary("ga", "b", 0.3, 0.88)], []);
        Assert.Equal([true, false], Selected(byOrder));
    }

    [Fact]
    public void UncalibratedRunsAndLoneSettingsAreNotMarked()
    {
        var table = Comparison.Build([Summary("ga", "a", null), Summary("ga", "b", 0.4), Summary("npo", "c", 0.1)], []);
        Assert.Equal([false, false, false], Selected(table));
        Assert.Equal(CalibrationSource.None, table.Rows[0].Calibrated[0].Source);
        Assert.Equal(CalibrationSource.Evaluated, table.Rows[1].Calibrated[0].Source);
    }

    [Fact]
    public void DefaultTausAreTheRunsOwnDistinctTaus()
    {
        var table = Comparison.Build([Summary("ga", "a", 0.4, tau: 0.9), Summary("ga", "b", 0.3, tau: 0.90002), Summary("ga", "c", 0.3, tau: 0.8)], []);
        Assert.Equal([0.8, 0.9], table.Taus);
        // Each run's own τ is evaluated; the other τ comes from its curve.
        Assert.Equal([CalibrationSource.Curve, CalibrationSource.Curve, CalibrationSource.Evaluated], table.Rows.Select(r => r.Calibrated[0].Source));
        Assert.Equal([CalibrationSource.Evaluated, CalibrationSource.Evaluated, CalibrationSource.Curve], table.Rows.Select(r => r.Calibrated[1].Source));
    }

    [Fact]
    public void SelectionDependsOnTau()
    {
        // At τ = 0.9 run b forgets more; at τ = 0.8 (read off the curves) run a does: its curve's forget values are lower.
        var lowerCurve = Fixtures.Curve.Select(p => p with { Forget = p.Forget / 2 }).ToList();
        var a = Summary("ga", "a", 0.5) with { Calibration = new CalibrationSummary("model-mixing", 0.16, 0.96, 0.864, lowerCurve) };
        var b = Summary("ga", "b", 0.4);
        var table = Comparison.Build([a, b], [0.8, 0.9]);
        Assert.Equal([true, false], Selected(table, 0));
        Assert.Equal([false, true], Selected(table, 1));
    }

    [Theory]
    // Hand-checked against Fixtures.Curve with θ_orig = 0.96 (target = τ·0.96):
    // τ 0.8 → 0.768: the largest visited α with retain ≥ 0.768 is 0.1875 (0.856, forget 0.53); next visited above: 0.25.
    [InlineData(0.8, 0.1875, 0.25, 0.856, 0.53)]
    // τ 0.95 → 0.912: 0.125 (0.913, forget 0.81); next above 0.15625.
    [InlineData(0.95, 0.125, 0.15625, 0.913, 0.81)]
    // τ 1 → 0.96: only α = 0 (0.96) meets it; next above 0.125.
    [InlineData(1.0, 0.0, 0.125, 0.96, 1.0)]
    // τ 0.05 → 0.048: the unlearned model (α = 1, retain 0.08) already meets it.
    [InlineData(0.05, 1.0, 1.0, 0.08, 0.06)]
    // τ 0.9 → 0.864: the non-monotone 0.1640625 (0.892) is the largest meeting α; 0.171875 (0.86) misses.
    [InlineData(0.9, 0.1640625, 0.171875, 0.892, 0.64)]
    public void CurveGivesAlphaBracketAndValues(double tau, double alpha, double upper, double retain, double forget)
    {
        var cells = Comparison.FromCurve(new CalibrationSummary("model-mixing", 0.16, 0.96, 0.864, Fixtures.Curve), Es, tau);
        Assert.Equal(CalibrationSource.Curve, cells.Source);
        Assert.Equal(alpha, cells.Alpha);
        Assert.Equal(upper, cells.AlphaUpper);
        Assert.Equal(new EsCells(retain, forget, null, null), cells.Values);
    }

    [Fact]
    public void CurveOfThePerturbMetricFillsThePerturbCellsAndAnUnknownMetricNone()
    {
        var curve = new CalibrationSummary("model-mixing", 0.16, 0.96, 0.864, Fixtures.Curve);
        Assert.Equal(new EsCells(null, null, 0.856, 0.53), Comparison.FromCurve(curve, Es with { Metric = "es-paraphrased" }, 0.8).Values);
        var unknown = Comparison.FromCurve(curve, CalibrationSettings.Unknown, 0.8);
        Assert.Equal(0.1875, unknown.Alpha);
        Assert.True(unknown.Values.IsEmpty);
    }

    [Fact]
    public void CurveWhereNoPointMeetsTheBarGivesNothing()
    {
        CalibrationPoint[] curve = [new(1, 0.1, 0.1, false), new(0, 0.5, 1, false)];
        var cells = Comparison.FromCurve(new CalibrationSummary("model-mixing", 0, 0.96, 0.864, curve), Es, 0.9);
        Assert.Equal(CalibrationSource.None, cells.Source);
        Assert.Null(cells.Alpha);
    }

    [Fact]
    public void SettingDropsTheMethodAxis()
    {
        Assert.Equal("unlearn.trainer.lr=1e-4", Comparison.SettingOf("unlearn.method=ga,unlearn.trainer.lr=1e-4"));
        Assert.Equal("", Comparison.SettingOf("unlearn.method=npo"));
        Assert.Equal("", Comparison.SettingOf(""));
    }

    [Fact]
    public void SummariesRoundTripThroughTheRunFolder()
    {
        var folder = Fixtures.WriteRun(Path.Combine(_root, "one"), Fixtures.Result(sweep: "unlearn.trainer.lr=1e-4"));
        var run = RunSummaries.Read(folder.Path);
        Assert.Equal("snap", run.Name);
        Assert.Equal("ga", run.Method);
        Assert.Equal("unlearn.trainer.lr=1e-4", run.SweepLabel);
        Assert.Equal(0.9, run.Tau);
        Assert.Equal(new CalibrationSettings("es", "retain", "forget", 0.9), run.CalibrationSettings);
        Assert.Equal(Fixtures.Curve.Count, run.Calibration!.Curve.Count);
        Assert.True(run.Calibration.Curve[^1].NonMonotone);
        Assert.Equal(0.1641, run.Calibration.Alpha); // rounded to 4 decimals by the writer
        Assert.Equal(new EsCells(0.892, 0.64, 0.3, 0.21), Comparison.Cells(run, "calibrated"));
        Assert.Equal(new EsCells(0.96, 1.0, 0.36, 0.47), Comparison.Cells(run, "original"));
    }

    [Fact]
    public void TauFallsBackToTargetOverOriginalWhenTheCalibratorDoesNotSay()
    {
        var folder = Fixtures.WriteRun(Path.Combine(_root, "no-settings"), Fixtures.Result(calibration: Fixtures.Calibration() with { Settings = null }));
        var run = RunSummaries.Read(folder.Path);
        Assert.Null(run.CalibrationSettings.Tau);
        Assert.Equal(0.864 / 0.96, run.Tau!.Value, 12);
    }

    [Fact]
    public void SweepFolderIsItsFinishedSubRunsAndFailedOnesAreNamed()
    {
        var sweep = Path.Combine(_root, "sweep");
        Fixtures.WriteRun(Path.Combine(sweep, "b-run"), Fixtures.Result(sweep: "x=2"));
        Fixtures.WriteRun(Path.Combine(sweep, "a-run"), Fixtures.Result(sweep: "x=1"));
        var failed = Path.Combine(sweep, "c-run");
        Directory.CreateDirectory(failed);
        File.WriteAllText(Path.Combine(failed, "pipeline.yaml"), "name: snap\n");
        File.WriteAllText(Path.Combine(failed, "error.txt"), "boom");
        var warnings = new List<string>();
        var runs = RunSummaries.Load(sweep, warnings);
        Assert.Equal(["x=1", "x=2"], runs.Select(r => r.SweepLabel));
        var warning = Assert.Single(warnings);
        Assert.Contains("c-run", warning, StringComparison.Ordinal);
        Assert.Contains("error.txt", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void RunWithoutItsCommitMarkerIsNotFinished()
    {
        // Killed after summary.json but before complete.json: its results may be partial, so compare does not read them.
        var sweep = Path.Combine(_root, "cut-short");
        Fixtures.WriteRun(Path.Combine(sweep, "a-run"), Fixtures.Result(sweep: "x=1"));
        var cut = Fixtures.WriteRun(Path.Combine(sweep, "b-run"), Fixtures.Result(sweep: "x=2"));
        File.Delete(cut.File(RunFolder.CommitMarker));

        var warnings = new List<string>();
        Assert.Equal(["x=1"], RunSummaries.Load(sweep, warnings).Select(r => r.SweepLabel));
        Assert.Contains("skipped sweep run 'b-run'", Assert.Single(warnings), StringComparison.Ordinal);
        Assert.Contains("interrupted while writing its results", warnings[0], StringComparison.Ordinal);
        var e = Assert.Throws<InvalidDataException>(() => RunSummaries.Load(cut.Path, new List<string>()));
        Assert.Contains("has no complete.json", e.Message, StringComparison.Ordinal);
        Assert.Contains($"--resume {cut.Path}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotARunFolderErrorsNameTheFolderAndWhatIsMissing()
    {
        var empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        var e = Assert.Throws<InvalidDataException>(() => RunSummaries.Load(empty, new List<string>()));
        Assert.Contains($"'{empty}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("no summary.json", e.Message, StringComparison.Ordinal);

        var unfinished = Path.Combine(_root, "unfinished");
        Directory.CreateDirectory(unfinished);
        File.WriteAllText(Path.Combine(unfinished, "pipeline.yaml"), "name: x\n");
        e = Assert.Throws<InvalidDataException>(() => RunSummaries.Load(unfinished, new List<string>()));
        Assert.Contains("did not finish", e.Message, StringComparison.Ordinal);
        Assert.Contains("--resume", e.Message, StringComparison.Ordinal);

        Assert.Throws<DirectoryNotFoundException>(() => RunSummaries.Load(Path.Combine(_root, "nowhere"), new List<string>()));

        // runs/<pipeline-name> holds sweep folders: the message points at them.
        var pipelineFolder = Path.Combine(_root, "runs", "methods");
        Fixtures.WriteRun(Path.Combine(pipelineFolder, "20250102-030405", "lr-1e-4"), Fixtures.Result());
        e = Assert.Throws<InvalidDataException>(() => RunSummaries.Load(pipelineFolder, new List<string>()));
        Assert.Contains("20250102-030405", e.Message, StringComparison.Ordinal);
        Assert.Contains("pass those", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NewerSchemaAndBrokenJsonAreRefused()
    {
        // Each folder is committed (complete.json), so what is refused is its summary.json.
        static void Commit(string folder) => File.WriteAllText(Path.Combine(folder, RunFolder.CommitMarker), "{}");
        var newer = Path.Combine(_root, "newer");
        Directory.CreateDirectory(newer);
        Commit(newer);
        File.WriteAllText(Path.Combine(newer, "summary.json"), $$"""{ "schema_version": {{ResultWriter.SchemaVersion + 1}}, "metrics": [] }""");
        var e = Assert.Throws<InvalidDataException>(() => RunSummaries.Read(newer));
        Assert.Contains("newer", e.Message, StringComparison.Ordinal);

        var broken = Path.Combine(_root, "broken");
        Directory.CreateDirectory(broken);
        Commit(broken);
        File.WriteAllText(Path.Combine(broken, "summary.json"), "{ not json");
        Assert.Throws<InvalidDataException>(() => RunSummaries.Read(broken));

        var noMetrics = Path.Combine(_root, "no-metrics");
        Directory.CreateDirectory(noMetrics);
        Commit(noMetrics);
        File.WriteAllText(Path.Combine(noMetrics, "summary.json"), """{ "schema_version": 1 }""");
        Assert.Contains("'metrics'", Assert.Throws<InvalidDataException>(() => RunSummaries.Read(noMetrics)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TausOptionIsParsedAndChecked()
    {
        Assert.Equal([0.8, 0.9], CompareCommand.ParseTaus("0.8, 0.9"));
        Assert.Empty(CompareCommand.ParseTaus(null));
        Assert.Contains("'1.5'", Assert.Throws<InvalidDataException>(() => CompareCommand.ParseTaus("0.8,1.5")).Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => CompareCommand.ParseTaus("0"));
        Assert.Throws<InvalidDataException>(() => CompareCommand.ParseTaus("abc"));
    }
}
