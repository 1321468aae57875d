using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>pipelines/tofu-forget05.yaml, the TOFU learn recipe, on a slice of the real TOFU files (4 authors, a few
/// epochs): training lowers the loss, and a second run with another method takes every learn stage from the cache.
/// The full recipe is a benchmark (docs/benchmarks.md), not a test.</summary>
public sealed class TofuRecipeTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("unlearn-tofu-slice");

    private static JsonElement Json(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        return doc.RootElement.Clone();
    }

    /// <summary>A TOFU folder with the last 4 authors of full (the 2 of forget01 and the 2 before them).</summary>
    private string Slice()
    {
        var tofu = TestPaths.TofuDir;
        var dir = Directory.CreateDirectory(Path.Combine(_root, "tofu")).FullName;
        string[] Lines(string split) => File.ReadAllLines(Path.Combine(tofu, split + ".json")).Where(l => l.Length > 0).ToArray();
        var full = Lines("full")[^80..];
        File.WriteAllLines(Path.Combine(dir, "full.json"), full);
        File.WriteAllLines(Path.Combine(dir, "forget01.json"), Lines("forget01"));
        File.WriteAllLines(Path.Combine(dir, "forget01_perturbed.json"), Lines("forget01_perturbed"));
        File.WriteAllLines(Path.Combine(dir, "retain99.json"), full[..40]);
        File.WriteAllLines(Path.Combine(dir, "retain_perturbed.json"), Lines("retain_perturbed")[..20]);
        File.WriteAllLines(Path.Combine(dir, "world_facts.json"), Lines("world_facts")[..20]);
        Assert.Equal(Lines("forget01"), full[40..]);
        return dir;
    }

    private ToolResult Run(string data, string method) => ToolProcess.Run(Path.Combine(_root, "cache"),
        "run", Path.Combine(TestPaths.RepoRoot, "pipelines", "tofu-forget05.yaml"), "--out", Path.Combine(_root, "runs"), "--quiet",
        "--set", "data.folder=" + data, "--set", "data.forget=forget01", "--set", "unlearn.method=" + method,
        "--set", "learn.base.epochs=2", "--set", "learn.target.epochs=8", "--set", "unlearn.trainer.epochs=1",
        "--set", "calibrate.options.max_evaluations=3", "--set", "evaluate.splits=[forget]");

    [Fact]
    public void RecipeLowersTheLossAndASecondMethodReusesTheLearnStages()
    {
        var data = Slice();
        var first = Run(data, "ga");
        Assert.True(first.ExitCode == ExitCodes.Success, first.ToString());
        var manifest = Json(Path.Combine(first.LastLine, "manifest.json"));
        Assert.True(manifest.GetProperty("machine").GetProperty("denormals_flushed").GetBoolean() || !OperatingSystem.IsLinux());
        foreach (var role in new[] { "original", "retain" })
        {
            var training = Json(Path.Combine(manifest.GetProperty("models").GetProperty(role).GetString()!, "training.json"));
            var firstLoss = training.GetProperty("first_loss").GetDouble();
            var finalLoss = training.GetProperty("final_loss").GetDouble();
            Assert.True(finalLoss < firstLoss - 0.5, $"{role}: loss {firstLoss} -> {finalLoss}");
            Assert.True(training.GetProperty("gemm_gflops").GetDouble() > 0);
            Assert.True(training.GetProperty("step_over_gemm").GetDouble() > 0);
        }

        var second = Run(data, "npo");
        Assert.True(second.ExitCode == ExitCodes.Success, second.ToString());
        var stages = Json(Path.Combine(second.LastLine, "manifest.json")).GetProperty("stages").EnumerateArray()
            .ToDictionary(s => s.GetProperty("stage").GetString()!, s => s.GetProperty("cached").GetBoolean());
        foreach (var stage in new[] { "learn/base", "learn/target", "learn/retain" }) Assert.True(stages[stage], $"{stage} was rebuilt");
        Assert.False(stages["unlearn"]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }
}
