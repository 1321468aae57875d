using Unlearn.Host.Cli;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>pipelines/robustness.yaml end to end on a tiny slice (the fixture's world and learned models, two methods,
/// two cheap attacks, eight items), then <c>robustness</c> on its sweep folder.</summary>
public sealed partial class EndToEndTests
{
    [Fact]
    public void RobustnessExperimentRunsEndToEndOnATinySlice()
    {
        var pipeline = Path.Combine(TestPaths.RepoRoot, "pipelines", "robustness.yaml");
        var sweep = Folder(ToolProcess.Run(fixture.Cache, "run", pipeline, "--out", Path.Combine(fixture.Root, "robustness-runs"), "--quiet",
            // The tiny pipeline's world and learn settings, so the learned models come from the fixture's cache.
            "--set", "model.max_length=64", "--set", "data.world.authors=4", "--set", "data.forget=forget10",
            "--set", "learn.base.epochs=3", "--set", "learn.target.epochs=3",
            "--set", "unlearn.trainer={lr: 3e-4, epochs: 1, batch_size: 8, warmup_epochs: 0}", "--set", "calibrate.options.max_evaluations=4",
            "--set", "evaluate.metrics=[probability, es]", "--set", "evaluate.max_items=8",
            "--set", "attacks=[noise, {name: probe, options: {layer: 2}}]", "--set", "sweep={unlearn.method: [ga, npo]}"));
        Assert.Equal(["method-ga", "method-npo"], Directory.GetDirectories(sweep).Select(Path.GetFileName).Where(n => n!.StartsWith("method-", StringComparison.Ordinal)).Order());

        var outFolder = Path.Combine(fixture.Root, "robustness-out");
        var result = ToolProcess.Run(fixture.Cache, "robustness", sweep, "--out", outFolder, "--resamples", "200");
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        var markdown = File.ReadAllText(Path.Combine(outFolder, "robustness.md"));
        Assert.Contains("4 unlearned models (raw and calibrated) on split `forget`", markdown);
        Assert.Contains("## Attack `noise`", markdown);
        Assert.Contains("## Attack `probe`", markdown);
        Assert.Contains("## Faithfulness", markdown);
        var csv = File.ReadAllLines(Path.Combine(outFolder, "robustness.csv"));
        Assert.Equal(["forget,es,noise,4", "forget,es,probe,4", "forget,probability,noise,4", "forget,probability,probe,4"],
            csv.Skip(1).Select(l => string.Join(',', l.Split(',').Take(4))).Order());
        Assert.True(File.Exists(Path.Combine(outFolder, "charts", "robustness-noise.png")));
        Assert.True(File.Exists(Path.Combine(outFolder, "charts", "robustness-probe.png")));
    }
}
