using System.Text.Json;
using Unlearn.Host.Evaluation;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running;

namespace Unlearn.Host.Tests;

/// <summary>TOFU_EVAL.json written from run results and read back as retain logs: names, per-item values at full
/// precision, and membership AUCs in agg_value as OpenUnlearning has them.</summary>
public sealed class OpenUnlearningLogsTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static MetricRecord Record(string model, string split, string metric, double value, double[] items, Dictionary<string, double>? extras = null) =>
        new(model, split, metric, value, items, extras ?? []);

    [Fact]
    public void Results_are_written_under_openunlearning_names_and_read_back_exactly()
    {
        var folder = RunFolder.CreateNew(_files.Dir, "ou", new DateTime(2026, 12, 1, 20, 0, 0, DateTimeKind.Local));
        var ratios = new[] { 0.1 + 0.2, 1.0 / 3, 2.5e-7 };
        var written = OpenUnlearningNames.Write(folder, [
            Record("retain", "forget", "truth-ratio", 0.41, ratios),
            Record("retain", "forget", "mia-min-k", -3.25, [-3.0, -3.5], new() { ["auc"] = 0.625 }),
            Record("retain", "retain_perturbed", "es", 0.75, [0.5, 1.0]),
            Record("retain", "holdout", "perplexity", 12.0, [11.0, 13.0]),
            Record("retain", "forget", "forget-quality", double.NaN, []),
            Record("original", "forget", "em", 0.9, [0.8, 1.0]),
        ]);
        Assert.Equal([folder.File("openunlearning/retain/TOFU_EVAL.json"), folder.File("openunlearning/original/TOFU_EVAL.json")], written);

        var json = JsonDocument.Parse(File.ReadAllText(written[0])).RootElement;
        Assert.Equal(["forget_truth_ratio", "mia_min_k", "retain_extraction_strength", "forget_quality"], json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(0.625, json.GetProperty("mia_min_k").GetProperty("agg_value").GetDouble());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("forget_quality").GetProperty("agg_value").ValueKind);
        Assert.False(json.GetProperty("forget_quality").TryGetProperty("value_by_index", out _));
        Assert.Equal(1.0, json.GetProperty("retain_extraction_strength").GetProperty("value_by_index").GetProperty("1").GetProperty("score").GetDouble());
        Assert.True(JsonDocument.Parse(File.ReadAllText(written[1])).RootElement.TryGetProperty("exact_memorization", out _));

        var logs = RetainLogs.Load(written[0]);
        var truthRatio = logs.Result("truth-ratio", "forget10_perturbed");
        Assert.Equal(ratios, truthRatio.Items);
        Assert.Equal(0.41, truthRatio.Value);
        var membership = logs.Result("mia-min-k", "forget");
        Assert.Equal(0.625, membership.Extras["auc"]);
        Assert.Equal([-3.0, -3.5], membership.Items);
        Assert.Contains("no \"mia_loss\" entry, which 'mia-loss' of the retain model on 'forget' reads", Assert.Throws<InvalidDataException>(() => logs.Result("mia-loss", "forget")).Message);
        Assert.Contains("'perplexity' on split 'holdout' has no OpenUnlearning name", Assert.Throws<InvalidDataException>(() => logs.Result("perplexity", "holdout")).Message);
    }
}
