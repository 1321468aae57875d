using System.Text.Json;
using Unlearn.Host.Cli;

namespace Unlearn.Host.Tests;

/// <summary>The tiny pipeline with attacks, on the fixture's cache (so nothing is trained again), run twice: every
/// evaluated model is evaluated under each attack with the same metrics and splits, the results carry the attack
/// column, the report has a table per attack, and the second run takes every attacked value from the cache.</summary>
public sealed partial class EndToEndTests
{
    private const string AttacksOverride =
        "attacks=[{name: quantize, label: int4, options: {bits: 4, group_size: 32}}, {name: noise, options: {rate: 0.3}}, " +
        "{name: probe, options: {layer: 2}}, {label: relearn-probe, chain: [{name: relearn, options: {steps: 2, learning_rate: 1e-3}}, {name: probe, options: {layer: -1}}]}]";

    private static readonly string[] AttackLabels = ["int4", "noise", "probe", "relearn-probe"];

    private ToolResult RunWithAttacks() =>
        fixture.Run("attack-runs", "--set", AttacksOverride, "--set", "evaluate.metrics=[probability, es]", "--set", "evaluate.max_items=8");

    [Fact]
    public void EveryModelIsEvaluatedUnderEachAttackAndTheRerunReusesTheValues()
    {
        var folder = Folder(RunWithAttacks());
        var summary = Json(Path.Combine(folder, "summary.json"));
        Assert.Equal(2, summary.GetProperty("schema_version").GetInt32());
        var entries = summary.GetProperty("metrics").EnumerateArray()
            .Select(m => (Attack: m.GetProperty("attack").GetString()!, Model: m.GetProperty("model").GetString()!, Split: m.GetProperty("split").GetString()!,
                Metric: m.GetProperty("metric").GetString()!, Value: m.GetProperty("value").GetDouble())).ToList();
        var clean = entries.Where(e => e.Attack == "none").ToList();
        Assert.Equal(4 * 2 * 2, clean.Count); // original, unlearned, calibrated, retain × probability, es × forget, retain
        Assert.Equal(["none", .. AttackLabels], entries.Select(e => e.Attack).Distinct());
        foreach (var label in AttackLabels)
        {
            var attacked = entries.Where(e => e.Attack == label).ToList();
            Assert.Equal(clean.Select(e => (e.Model, e.Split, e.Metric)), attacked.Select(e => (e.Model, e.Split, e.Metric)));
            Assert.All(attacked, e => Assert.InRange(e.Value, 0, 1));
        }
        double Value(string attack, string model) => entries.Single(e => e.Attack == attack && e.Model == model && e.Split == "forget" && e.Metric == "probability").Value;
        // The logit lens of layer 2 and 4-bit weights move the results (values are written to 4 decimals, so one small
        // probability may round to the clean value: some value of the attack differs); prompt noise lowers the probability.
        bool Moves(string attack) => entries.Where(e => e.Attack == attack).Zip(clean).Any(p => p.First.Value != p.Second.Value);
        Assert.True(Moves("probe"), "the probe changed no value");
        Assert.True(Moves("int4"), "4-bit weights changed no value");
        Assert.True(Value("noise", "original") < Value("none", "original"), $"noise {Value("noise", "original")} vs clean {Value("none", "original")}");

        var items = File.ReadAllLines(Path.Combine(folder, "items.csv"));
        Assert.Equal("stage,model,split,metric,index,value,attack", items[0]);
        var cleanRows = items.Count(l => l.EndsWith(",none", StringComparison.Ordinal));
        Assert.Equal(4 * 2 * 2 * 8, cleanRows);
        Assert.All(AttackLabels, label => Assert.Equal(cleanRows, items.Count(l => l.EndsWith($",{label}", StringComparison.Ordinal))));
        Assert.Equal("model,split,metric,value,attack", File.ReadLines(Path.Combine(folder, "summary.csv")).First());

        var report = File.ReadAllText(Path.Combine(folder, "report.md"));
        Assert.All(AttackLabels, label => Assert.Contains($"## Under attack `{label}`", report));
        var plugins = Json(Path.Combine(folder, "manifest.json")).GetProperty("plugins").EnumerateArray()
            .Select(p => p.GetProperty("kind").GetString() + ":" + p.GetProperty("name").GetString()).Where(p => p.StartsWith("attack:", StringComparison.Ordinal));
        Assert.Equal(["attack:quantize", "attack:noise", "attack:probe", "attack:relearn", "attack:probe"], plugins);

        var again = Folder(RunWithAttacks());
        var stages = CachedStages(again);
        Assert.All(AttackLabels, label => Assert.True(stages[$"attack {label}"], $"attack {label} was not taken from the cache"));
        Assert.Equal(File.ReadAllText(Path.Combine(folder, "items.csv")), File.ReadAllText(Path.Combine(again, "items.csv")));
    }
}
