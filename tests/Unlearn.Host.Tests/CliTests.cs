using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Host.Running;
using Unlearn.Plugins;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>Exit codes and messages of the commands, through the built tool and through <see cref="Commands.Guard"/>.</summary>
public sealed class CliTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Cache => Path.Combine(_files.Dir, "cache");

    [Theory]
    [InlineData("run", "--set")]
    [InlineData("validate", "pipeline")]
    [InlineData("eval", "--metrics")]
    [InlineData("plugins", "--json")]
    [InlineData("compare", "--taus")]
    [InlineData("check", "--expect")]
    [InlineData("bench", "--architectures")]
    [InlineData("bench-es", "--model")]
    [InlineData("setup", "--source")]
    [InlineData("tokenize", "--prompt")]
    [InlineData("status", "--json")]
    public void EveryCommandHasHelpNamedAsUsersTypeIt(string command, string mentions)
    {
        var result = ToolProcess.Run(Cache, command, "--help");
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.StartsWith($"Usage: dotnet unlearn {command} ", result.StdOut.TrimStart());
        Assert.Contains(mentions, result.StdOut);
    }

    [Fact]
    public void TopLevelHelpListsTheCommands()
    {
        var result = ToolProcess.Run(Cache, "--help");
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.StartsWith("Usage: dotnet unlearn [command]", result.StdOut.TrimStart());
        foreach (var command in new[] { "run", "validate", "eval", "plugins", "compare", "check", "bench", "bench-es", "setup", "tokenize", "status" })
            Assert.Matches($@"(?m)^\s+{command}\s", result.StdOut);
    }

    [Fact]
    public void ValidateQuickstartExitsZero()
    {
        var result = ToolProcess.Run(Cache, "validate", HostTestPaths.Quickstart);
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Contains("valid (1 run)", result.StdOut);
    }

    [Theory]
    [InlineData("quickstart.yaml", 1)]
    [InlineData("methods.yaml", 15)]
    [InlineData("ga-controls.yaml", 1)]
    [InlineData("tofu-forget05.yaml", 1)]
    [InlineData("tofu-methods.yaml", 6)]
    public void EveryReadyMadePipelineValidates(string file, int runs)
    {
        var path = Path.Combine(TestPaths.RepoRoot, "pipelines", file);
        string[] args = file.StartsWith("tofu", StringComparison.Ordinal) ? ["validate", path, "--set", "data.folder=" + TestPaths.TofuDir] : ["validate", path];
        var result = ToolProcess.Run(Cache, args);
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Contains($"valid ({runs} run{(runs == 1 ? "" : "s")})", result.StdOut);
    }

    [Fact]
    public void RetainLogsAreCheckedBeforeAnyWork()
    {
        string[] Validate(string logs) => ["validate", HostTestPaths.Quickstart, "--set", "evaluate.metrics=[truth-ratio, forget-quality]",
            "--set", $"evaluate.retain_logs={logs}"];
        var missing = Path.Combine(_files.Dir, "absent", "TOFU_EVAL.json");
        var result = ToolProcess.Run(Cache, Validate(missing));
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains($"evaluate.retain_logs: {missing}: retain logs not found", result.StdErr);

        var wrongShape = _files.Write("wrong.json", "{\"forget_truth_ratio\": [0.5]}");
        Assert.Contains($"{wrongShape}: entry \"forget_truth_ratio\" must be an object with \"agg_value\"", ToolProcess.Run(Cache, Validate(wrongShape)).StdErr);

        var noTruthRatio = _files.Write("mia.json", "{\"mia_min_k\": {\"agg_value\": 0.61}}");
        var lacking = ToolProcess.Run(Cache, Validate(noTruthRatio));
        Assert.True(lacking.ExitCode == ExitCodes.BadInput, lacking.ToString());
        Assert.Contains("has no \"forget_truth_ratio\" entry, which forget-quality reads for the retain model", lacking.StdErr);

        var usable = _files.Write("ok.json", "{\"forget_truth_ratio\": {\"agg_value\": 0.6, \"value_by_index\": {\"1\": {\"score\": 0.7}, \"0\": {\"score\": 0.5}}}}");
        var valid = ToolProcess.Run(Cache, Validate(usable));
        Assert.True(valid.ExitCode == ExitCodes.Success, valid.ToString());
        var read = Unlearn.Host.Evaluation.RetainLogs.Load(usable).Result("truth-ratio", "forget10_perturbed");
        Assert.Equal(0.6, read.Value);
        Assert.Equal([0.5, 0.7], read.Items);

        // privleak reads the AUC of its membership score.
        var privleak = ToolProcess.Run(Cache, ["validate", HostTestPaths.Quickstart, "--set", "evaluate.metrics=[privleak]",
            "--set", $"evaluate.retain_logs={noTruthRatio}"]);
        Assert.True(privleak.ExitCode == ExitCodes.Success, privleak.ToString());
        Assert.Contains("has no mia_* entry", ToolProcess.Run(Cache, ["validate", HostTestPaths.Quickstart, "--set", "evaluate.metrics=[privleak]",
            "--set", $"evaluate.retain_logs={usable}"]).StdErr);
    }

    [Fact]
    public void ValidateBrokenYamlExitsTwoWithThePosition()
    {
        var path = _files.Write("broken.yaml", "name: broken\nmodel:\n  architecture: [tiny\n  max_length: 64\n");
        var result = ToolProcess.Run(Cache, "validate", path);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Matches($@"error: {System.Text.RegularExpressions.Regex.Escape(path)}:\d+:\d+: YAML syntax error", result.StdErr);
    }

    [Fact]
    public void ValidateUnknownMethodAndBadOptionExitTwo()
    {
        var path = _files.Write("typo.yaml", "name: typo\nunlearn:\n  method: npoo\n");
        var result = ToolProcess.Run(Cache, "validate", path);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains($"{path}:3:3: unlearn: unknown objective 'npoo'. Did you mean 'npo'?", result.StdErr);

        var option = ToolProcess.Run(Cache, "validate", HostTestPaths.Quickstart, "--set", "calibrate.options.tua=0.5");
        Assert.True(option.ExitCode == ExitCodes.BadInput, option.ToString());
        Assert.Contains("calibrate.options.tua: unknown option 'tua'. Did you mean 'tau'?", option.StdErr);
    }

    [Fact]
    public void ValidateAPipelineUsingTheExamplePluginNeedsPluginsOption()
    {
        var without = ToolProcess.Run(Cache, "validate", HostTestPaths.Quickstart, "--set", "unlearn.method=ga-clipped");
        Assert.True(without.ExitCode == ExitCodes.BadInput, without.ToString());
        Assert.Contains("unknown objective 'ga-clipped'", without.StdErr);

        var with = ToolProcess.Run(Cache, "validate", HostTestPaths.Quickstart, "--set", "unlearn.method=ga-clipped",
            "--set", "unlearn.options.max_nll=3", "--plugins", HostTestPaths.ExamplePlugin);
        Assert.True(with.ExitCode == ExitCodes.Success, with.ToString());

        var bad = ToolProcess.Run(Cache, "validate", HostTestPaths.Quickstart, "--set", "unlearn.method=ga-clipped",
            "--set", "unlearn.options.max_nll=0", "--plugins", HostTestPaths.ExamplePlugin);
        Assert.True(bad.ExitCode == ExitCodes.BadInput, bad.ToString());
        Assert.Contains("max_nll must be a finite number > 0, got 0", bad.StdErr);
    }

    [Fact]
    public void PluginsJsonListsTheBuiltInsAndAFolderNamedWithPlugins()
    {
        var result = ToolProcess.Run(Cache, "plugins", "--json", "--plugins", HostTestPaths.ExamplePlugin);
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        using var doc = JsonDocument.Parse(result.StdOut);
        var plugins = doc.RootElement.GetProperty("plugins").EnumerateArray()
            .ToDictionary(p => (p.GetProperty("kind").GetString()!, p.GetProperty("name").GetString()!));
        Assert.Empty(doc.RootElement.GetProperty("problems").EnumerateArray());
        foreach (var key in new[] { ("objective", "ga"), ("objective", "npo"), ("objective", "gd"), ("calibrator", "model-mixing"), ("metric", "es"), ("metric", "es-paraphrased"), ("controller", "early-stopping") })
        {
            Assert.True(plugins.ContainsKey(key), $"{key} missing from the listing");
            Assert.Equal("built-in", plugins[key].GetProperty("origin").GetString());
        }
        var clipped = plugins[("objective", "ga-clipped")];
        Assert.Equal("--plugins", clipped.GetProperty("origin").GetString());
        Assert.Equal("Unlearn.Samples.ExamplePlugin", clipped.GetProperty("assembly").GetString());
        var option = Assert.Single(clipped.GetProperty("options").EnumerateArray());
        Assert.Equal("max_nll", option.GetProperty("key").GetString());
        Assert.Equal("5", option.GetProperty("default").GetString());
        Assert.True(plugins.ContainsKey(("metric", "mean-nll")));
    }

    [Fact]
    public void PluginsListingWarnsAboutBrokenAssembliesButSucceeds()
    {
        var result = ToolProcess.Run(Cache, "plugins", "--plugins", HostTestPaths.TestPlugin("ThrowingPlugin"));
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        Assert.Contains("warning: skipped ", result.StdErr);
        Assert.Contains("Unlearn.TestPlugins.ThrowingPlugin.dll: the plugin module", result.StdErr);
        Assert.Contains("  ga - ", result.StdOut);
    }

    [Fact]
    public void GuardMapsExceptionsToExitCodes()
    {
        Assert.Equal(ExitCodes.Success, Commands.Guard(() => ExitCodes.Success));
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => throw new PipelineException(new SourceLocation("p.yaml", 1, 1), "seed", "bad")));
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => throw new PluginException("plugin.dll: broken")));
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => throw new CalibrationException("even the original misses the bar")));
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => throw new FileNotFoundException("missing")));
        Assert.Equal(ExitCodes.BadInput, Commands.Guard(() => throw new Unlearn.Text.TokenizerException("tokenizer.json: unknown model type")));
        Assert.Equal(ExitCodes.RunFailure, Commands.Guard(() => throw new InvalidOperationException("diverged")));
        // A framework file error is bad input while planning, a run failure once the plan runs (the sweep runner wraps it).
        Assert.Equal(ExitCodes.RunFailure, Commands.Guard(() => throw new RunFailureException(new FileNotFoundException("a cached stage vanished"))));
    }
}
