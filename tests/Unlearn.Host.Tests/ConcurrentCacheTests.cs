using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>Real processes sharing one stage cache: a run that needs a stage another process is building waits for it
/// and then uses it; a killed process's half-built stage is taken over by the next run.</summary>
public sealed class ConcurrentCacheTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("unlearn-concurrent");

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    // The tiny pipeline cut to its learn stages and one metric on the original model: the stages are what is shared.
    private string[] Args(string outFolder) =>
        ["run", HostTestPaths.Pipeline("tiny.yaml"), "--out", Path.Combine(_root, outFolder),
         "--set", "learn.retain_model=false", "--set", "calibrate=none", "--set", "evaluate.metrics=[es]", "--set", "evaluate.models=[original]"];

    private static string Summary(ToolResult result)
    {
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        return File.ReadAllText(Path.Combine(result.LastLine, "summary.json"));
    }

    private static bool Cached(ToolResult result, string stage)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(result.LastLine, "manifest.json")));
        return manifest.RootElement.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("stage").GetString() == stage).GetProperty("cached").GetBoolean();
    }

    [Fact]
    public void SecondRunWaitsForTheStageTheFirstIsBuildingAndUsesIt()
    {
        var cache = Path.Combine(_root, "cache");
        using var first = ToolProcess.Start(cache, Args("first"));
        first.WaitForLine("learn/base: tiny model"); // the first run holds the lock of the base model now
        using var second = ToolProcess.Start(cache, Args("second"));
        var secondResult = second.Finish();
        var firstResult = first.Finish();

        Assert.Contains("cache: waiting for stage models/", secondResult.StdErr);
        Assert.Equal(Summary(firstResult), Summary(secondResult));
        Assert.False(Cached(firstResult, "learn/base"));
        Assert.True(Cached(secondResult, "learn/base"), "the second run should use the stage the first built");
        Assert.Empty(Directory.EnumerateDirectories(Path.Combine(cache, "stages", "models"), "*.partial"));
    }

    [Fact]
    public void StageOfAKilledProcessIsTakenOverByTheNextRun()
    {
        var cache = Path.Combine(_root, "cache");
        using (var killed = ToolProcess.Start(cache, [.. Args("killed"), "--set", "learn.target.checkpoint_every=1"]))
        {
            killed.WaitForLine("learn/target: fine-tuning");
            killed.Kill();
        }
        var partial = Assert.Single(Directory.EnumerateDirectories(Path.Combine(cache, "stages", "models"), "*.partial"));
        var next = ToolProcess.Run(cache, [.. Args("next"), "--set", "learn.target.checkpoint_every=1"]);
        Summary(next);
        Assert.False(Directory.Exists(partial), "the killed process's .partial folder should have been finished");
        Assert.True(Directory.Exists(partial[..^".partial".Length]));
        Assert.DoesNotContain("waiting for stage", next.StdErr);
    }
}
