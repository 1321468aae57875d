using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Host.Reporting;
using Unlearn.Host.Robustness;
using Unlearn.Tests;

namespace Unlearn.Reports.Tests;

/// <summary>The meta-evaluation's statistics against a hand-computed case and numpy/scipy values
/// (scripts/fixtures/robustness_fixtures.py), the analysis of run summaries, and the command's files.</summary>
public sealed class RobustnessTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("reports-robustness");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void HandComputedPearsonSlopeAndAuc()
    {
        // x = 1, 2, 3; y = 2, 4, 7: Sxx = 2, Sxy = 5, Syy = 114/9, so slope = 2.5 and r = 5 / sqrt(2 * 114 / 9) = 15 / sqrt(228).
        double[] x = [1, 2, 3], y = [2, 4, 7];
        Assert.Equal(2.5, RobustnessStatistics.Slope(x, y), 12);
        Assert.Equal(15 / Math.Sqrt(228), RobustnessStatistics.Pearson(x, y), 12);
        // 0.9 beats 0.5 and 0.1; 0.5 ties 0.5 (half) and beats 0.1: 3.5 of 4 pairs.
        Assert.Equal(0.875, RobustnessStatistics.Auc([0.9, 0.5], [0.5, 0.1]), 12);
        Assert.True(double.IsNaN(RobustnessStatistics.Pearson([1, 1, 1], [1, 2, 3])));
        Assert.True(double.IsNaN(RobustnessStatistics.Slope([1], [2])));
        Assert.True(double.IsNaN(RobustnessStatistics.Auc([], [1])));
    }

    [Fact]
    public void PearsonSlopeAndAucEqualScipy()
    {
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "Unlearn.Reports.Tests", "Fixtures", "robustness.json")));
        static double[] Values(JsonElement e, string name) => e.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var pairs = fixture.RootElement.GetProperty("pairs").EnumerateArray().ToList();
        Assert.Equal(4, pairs.Count);
        foreach (var pair in pairs)
        {
            var (x, y) = (Values(pair, "x"), Values(pair, "y"));
            Assert.Equal(pair.GetProperty("pearson").GetDouble(), RobustnessStatistics.Pearson(x, y), 10);
            Assert.Equal(pair.GetProperty("slope").GetDouble(), RobustnessStatistics.Slope(x, y), 10);
        }
        var groups = fixture.RootElement.GetProperty("groups").EnumerateArray().ToList();
        Assert.Equal(3, groups.Count);
        foreach (var group in groups)
            Assert.Equal(group.GetProperty("auc").GetDouble(), RobustnessStatistics.Auc(Values(group, "positives"), Values(group, "negatives")), 12);
    }

    [Fact]
    public void BootstrapIntervalIsSeededAndBracketsTheEstimate()
    {
        var random = new Random(4);
        var x = Enumerable.Range(0, 20).Select(_ => random.NextDouble()).ToArray();
        var y = x.Select(v => 0.8 * v + 0.1 * random.NextDouble()).ToArray();
        var first = RobustnessStatistics.Bootstrap(x, y, RobustnessStatistics.Pearson, 500, seed: 1);
        Assert.Equal(first, RobustnessStatistics.Bootstrap(x, y, RobustnessStatistics.Pearson, 500, seed: 1));
        Assert.NotEqual(first, RobustnessStatistics.Bootstrap(x, y, RobustnessStatistics.Pearson, 500, seed: 2));
        Assert.InRange(first.Value, first.Low, first.High);
        Assert.True(first.High <= 1 && first.Low > 0.5, $"[{first.Low}, {first.High}]");
        // Perfectly linear data: every resample gives the same slope.
        var exact = RobustnessStatistics.Bootstrap(x, x.Select(v => 2 * v + 1).ToArray(), RobustnessStatistics.Slope, 200, seed: 3);
        Assert.Equal(2, exact.Low, 9);
        Assert.Equal(2, exact.High, 9);
    }

    private static RunSummary Run(string sweep, double before, double afterNoise, double afterQuantize, double original = 0.9, double retain = 0.2)
    {
        var metrics = new List<SummaryMetric>
        {
            new("original", "forget", "es", original), new("retain", "forget", "es", retain),
            new("unlearned", "forget", "es", before), new("calibrated", "forget", "es", before + 0.1),
        };
        var attacked = new List<SummaryMetric>
        {
            new("unlearned", "forget", "es", afterNoise, "noise"), new("calibrated", "forget", "es", afterNoise + 0.1, "noise"),
            new("unlearned", "forget", "es", afterQuantize, "int4"), new("calibrated", "forget", "es", afterQuantize, "int4"),
            new("original", "forget", "es", 0.5, "noise"),
        };
        return new RunSummary("/runs/" + sweep, "robustness", sweep, "ga", null, CalibrationSettings.Unknown, metrics) { AttackMetrics = attacked };
    }

    [Fact]
    public void AnalysisPairsEachUnlearnedModelsCleanAndAttackedValues()
    {
        RunSummary[] runs = [Run("lr=1", 0.1, 0.15, 0.3), Run("lr=2", 0.3, 0.35, 0.3), Run("lr=3", 0.5, 0.55, 0.3, original: 0.95, retain: 0.25)];
        var table = RobustnessAnalysis.Build(runs, "forget", 200, 0);
        Assert.Equal(6, table.Models);
        var noise = table.Rows.Single(r => r.Attack == "noise");
        Assert.Equal(6, noise.Points.Count); // the original's attacked value is not an unlearned model
        Assert.Contains(noise.Points, p => p.Model == "robustness/lr=2:calibrated" && Math.Abs(p.Before - 0.4) < 1e-12 && Math.Abs(p.After - 0.45) < 1e-12);
        Assert.Equal(1, noise.Pearson.Value, 9);
        Assert.Equal(1, noise.Slope.Value, 9);
        var int4 = table.Rows.Single(r => r.Attack == "int4");
        Assert.Equal(0, int4.Slope.Value, 9); // every attacked value 0.3: the attack erases the ranking
        Assert.True(double.IsNaN(int4.Pearson.Value));
        var faithfulness = Assert.Single(table.Faithfulness);
        Assert.Equal(1, faithfulness.Auc);
        Assert.Equal(3, faithfulness.Knowing.Count);
        Assert.Throws<InvalidDataException>(() => RobustnessAnalysis.Build(runs, "retain", 200, 0));
    }

    [Fact]
    public void FaithfulnessCountsTheModelsThePatternsSelect()
    {
        // Knowing: the originals (0.9, 0.9, 0.95) and the under-unlearned raw model of lr=1 (0.15); never saw: the
        // retain models (0.2, 0.2, 0.25). Pairs won: originals 3 × 3 = 9, 0.15 wins none: AUC 9 / 12.
        RunSummary[] runs = [Run("lr=1", 0.15, 0.15, 0.3), Run("lr=2", 0.3, 0.35, 0.3), Run("lr=3", 0.5, 0.55, 0.3, original: 0.95, retain: 0.25)];
        var pools = new FaithfulnessPools(["*:original", "*lr=1:unlearned"], ["*:retain"]);
        var faithfulness = Assert.Single(RobustnessAnalysis.Build(runs, "forget", 200, 0, pools).Faithfulness);
        Assert.Equal([0.9, 0.15, 0.9, 0.95], faithfulness.Knowing);
        Assert.Equal(0.75, faithfulness.Auc, 12);
        var markdown = RobustnessReport.Markdown(RobustnessAnalysis.Build(runs, "forget", 200, 0, pools), [], null);
        Assert.Contains("know the forget data (`*:original`, `*lr=1:unlearned`) from those that never saw it (`*:retain`)", markdown);
        Assert.Contains("| es | 0.750 | 4 | 3 |", markdown);
        var e = Assert.Throws<InvalidDataException>(() => RobustnessAnalysis.Build(runs, "forget", 200, 0, new FaithfulnessPools(["*:original"], ["*"])));
        // An lr=3 whose unlearned and calibrated values are lr=2's: twins, named in order.
        Assert.Equal(["robustness/lr=3:unlearned has the clean values of robustness/lr=2:unlearned on every metric and split: probably the same model counted twice",
            "robustness/lr=3:calibrated has the clean values of robustness/lr=2:calibrated on every metric and split: probably the same model counted twice"],
            RobustnessAnalysis.Twins([runs[1], runs[2] with { Metrics = [.. runs[2].Metrics.Where(m => m.Model is "unlearned" or "calibrated").Select(m => m with { Value = runs[1].Value(m.Model, m.Split, m.Metric)!.Value })] }]));
        Assert.Empty(RobustnessAnalysis.Twins(runs));
        Assert.Contains("robustness/lr=1:original matches both a --knowing pattern", e.Message);
    }

    [Fact]
    public void CommandWritesTheTablesTheCsvAndAScatterPerAttack()
    {
        RunSummary[] runs = [Run("lr=1", 0.1, 0.15, 0.3), Run("lr=2", 0.3, 0.35, 0.2), Run("lr=3", 0.5, 0.55, 0.4)];
        var folder = RunFolder.Open(Directory.CreateDirectory(Path.Combine(_root, "out")).FullName);
        var markdown = RobustnessReport.Write(folder, RobustnessAnalysis.Build(runs, "forget", 200, 0), [], charts: true);
        Assert.Contains("## Attack `noise`", markdown);
        Assert.Contains("## Attack `int4`", markdown);
        Assert.Contains("| es | 6 | 1.000 | [1.000, 1.000] | 1.000 | [1.000, 1.000] |", markdown);
        Assert.Contains("| es | 1.000 | 3 | 3 |", markdown);
        var csv = File.ReadAllLines(Path.Combine(folder.Path, RobustnessReport.CsvFile));
        Assert.Equal("split,metric,attack,models,pearson,pearson_low,pearson_high,slope,slope_low,slope_high,faithfulness_auc", csv[0]);
        Assert.Equal(["forget,es,int4", "forget,es,noise"], csv.Skip(1).Select(l => string.Join(',', l.Split(',').Take(3))).Order());
        foreach (var attack in new[] { "noise", "int4" })
        {
            var png = File.ReadAllBytes(Path.Combine(folder.Path, RobustnessReport.ChartFileOf(attack)));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        }
    }

    [Fact]
    public void RunsWithoutAttacksOrMissingFoldersAreBadInput()
    {
        var clean = new RunSummary("/runs/a", "a", "", "ga", null, CalibrationSettings.Unknown, [new SummaryMetric("unlearned", "forget", "es", 0.1)]);
        var e = Assert.Throws<InvalidDataException>(() => RobustnessAnalysis.Build([clean], "forget", 200, 0));
        Assert.Contains("run pipelines with an attacks: section (see docs/robustness.md)", e.Message);
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => RobustnessCommand.Run([Path.Combine(_root, "missing")], Path.Combine(_root, "o"), "forget", 200, 0, charts: false)));
    }
}
