using System.Security.Cryptography;
using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Host.Configuration;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>Two runs of the tiny pipeline with one private cache, shared by the end-to-end tests.</summary>
public sealed class TinyRunFixture : IDisposable
{
    /// <summary>Temporary root of the cache and run folders.</summary>
    public string Root { get; } = TestPaths.NewTempDir("unlearn-e2e");

    /// <summary>UNLEARN_CACHE of every run.</summary>
    public string Cache => Path.Combine(Root, "cache");

    /// <summary>The first run (builds every stage).</summary>
    public ToolResult First { get; }

    /// <summary>The second run with the same cache.</summary>
    public ToolResult Second { get; }

    /// <summary>Runs the pipeline twice.</summary>
    public TinyRunFixture()
    {
        First = Run("runs");
        Second = Run("runs");
    }

    /// <summary>Runs the tiny pipeline with extra arguments, run folders under Root/<paramref name="outFolder"/>.</summary>
    public ToolResult Run(string outFolder, params string[] extra) =>
        ToolProcess.Run(Cache, ["run", HostTestPaths.Pipeline("tiny.yaml"), "--out", Path.Combine(Root, outFolder), "--quiet", .. extra]);

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The built tool runs a tiny pipeline end to end: run folder contents, stage reuse from the cache, identical
/// results on a re-run, and the example plugin used through --plugins.</summary>
public sealed partial class EndToEndTests(TinyRunFixture fixture) : IClassFixture<TinyRunFixture>
{
    private static JsonElement Json(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        return doc.RootElement.Clone();
    }

    private static string Folder(ToolResult result)
    {
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        var folder = result.LastLine;
        Assert.True(Directory.Exists(folder), $"run folder '{folder}' missing\n{result}");
        return folder;
    }

    private static Dictionary<string, bool> CachedStages(string folder) =>
        Json(Path.Combine(folder, "manifest.json")).GetProperty("stages").EnumerateArray()
            .ToDictionary(s => s.GetProperty("stage").GetString()!, s => s.GetProperty("cached").GetBoolean());

    private static Dictionary<(string Model, string Split, string Metric), double> Metrics(string folder) =>
        Json(Path.Combine(folder, "summary.json")).GetProperty("metrics").EnumerateArray().ToDictionary(
            m => (m.GetProperty("model").GetString()!, m.GetProperty("split").GetString()!, m.GetProperty("metric").GetString()!),
            m => m.GetProperty("value").GetDouble());

    [Fact]
    public void RunFolderHoldsEveryResultFile()
    {
        var folder = Folder(fixture.First);
        foreach (var file in new[] { "pipeline.yaml", "result.json", "manifest.json", "summary.json", "summary.csv", "items.csv", "report.md", "complete.json" })
            Assert.True(File.Exists(Path.Combine(folder, file)), $"{file} missing from {folder}");
        // The commit marker is written last and lists every result file with its size.
        var committed = Json(Path.Combine(folder, "complete.json")).GetProperty("files").EnumerateArray()
            .ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("bytes").GetInt64());
        Assert.Equal(new FileInfo(Path.Combine(folder, "report.md")).Length, committed["report.md"]);
        Assert.Equal(new FileInfo(Path.Combine(folder, "summary.json")).Length, committed["summary.json"]);
        Assert.DoesNotContain("complete.json", committed.Keys);

        // The resolved pipeline binds again to the same experiment.
        var resolved = Path.Combine(folder, "pipeline.yaml");
        var spec = PipelineBinder.Bind(PipelineDocument.Load(resolved), resolved, []);
        Assert.Equal("tiny-e2e", spec.Name);
        Assert.Equal(4, spec.Data.World!.Authors);
        Assert.Equal(3, spec.Learn.Base.Epochs);
        Assert.Equal("ga", spec.Unlearn!.Method.Name);

        // The manifest records every plugin used with the SHA-256 of its assembly.
        var manifest = Json(Path.Combine(folder, "manifest.json"));
        Assert.Equal(HostTestPaths.Pipeline("tiny.yaml"), manifest.GetProperty("pipeline").GetString());
        var plugins = manifest.GetProperty("plugins").EnumerateArray().ToList();
        Assert.Equal(["objective:ga", "calibrator:model-mixing", "metric:es", "metric:es-paraphrased"],
            plugins.Select(p => p.GetProperty("kind").GetString() + ":" + p.GetProperty("name").GetString()));
        var ga = plugins[0];
        var gaDll = Path.Combine(HostTestPaths.BuiltInPlugins, "Unlearn.Plugins.GradientAscent", "Unlearn.Plugins.GradientAscent.dll");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(gaDll))), ga.GetProperty("sha256").GetString());
        Assert.Equal("built-in", ga.GetProperty("origin").GetString());
        Assert.All(plugins, p => Assert.Matches("^[0-9a-f]{64}$", p.GetProperty("sha256").GetString()));

        // First run: nothing was in the cache.
        Assert.All(CachedStages(folder), s => Assert.False(s.Value, $"stage {s.Key} claims to be cached on a cold cache"));

        // Summary: every model × split × metric, ES values in [0, 1]; the CSV has the same rows.
        var metrics = Metrics(folder);
        Assert.Equal(4 * 2 * 2, metrics.Count);
        foreach (var model in new[] { "original", "unlearned", "calibrated", "retain" })
        foreach (var split in new[] { "forget", "retain" })
        foreach (var metric in new[] { "es", "es-paraphrased" })
            Assert.InRange(metrics[(model, split, metric)], 0.0, 1.0);
        var csv = File.ReadAllLines(Path.Combine(folder, "summary.csv"));
        Assert.Equal("model,split,metric,value,attack", csv[0]);
        Assert.Equal(metrics.Count, csv.Length - 1);

        // items.csv: one row per item, full precision, so the per-item ES mean rounds to the aggregate (ES aggregates by the mean).
        var items = File.ReadAllLines(Path.Combine(folder, "items.csv")).Skip(1).Select(l => l.Split(','))
            .Where(c => c[1] == "original" && c[2] == "forget" && c[3] == "es").Select(c => double.Parse(c[5], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(items);
        Assert.Equal(metrics[("original", "forget", "es")], Math.Round(items.Average(), 4));
        Assert.Contains("tiny-e2e", File.ReadAllText(Path.Combine(folder, "report.md")));

        // Calibration ran with the pipeline's options: α* in [0, 1], at most max_evaluations = 6 evaluations,
        // and the calibrated model meets τ·M(θ_orig) on retain ES.
        var calibration = Json(Path.Combine(folder, "summary.json")).GetProperty("calibration");
        Assert.InRange(calibration.GetProperty("alpha").GetDouble(), 0.0, 1.0);
        Assert.InRange(calibration.GetProperty("evaluations").GetInt32(), 1, 6);
        Assert.Equal(0.9 * calibration.GetProperty("original").GetDouble(), calibration.GetProperty("target").GetDouble(), 3);
        Assert.True(metrics[("calibrated", "retain", "es")] >= calibration.GetProperty("target").GetDouble() - 1e-4);
    }

    [Fact]
    public void SecondRunReusesCachedStagesAndGivesIdenticalResults()
    {
        var first = Folder(fixture.First);
        var second = Folder(fixture.Second);
        Assert.NotEqual(first, second);

        var stages = CachedStages(second);
        foreach (var stage in new[] { "data", "learn/base", "learn/target", "learn/retain", "unlearn" })
            Assert.True(stages.TryGetValue(stage, out var cached) && cached, $"stage {stage} was not reused: {string.Join(", ", stages)}");
        Assert.Equal(
            Json(Path.Combine(first, "manifest.json")).GetProperty("stage_keys").ToString(),
            Json(Path.Combine(second, "manifest.json")).GetProperty("stage_keys").ToString());

        Assert.Equal(File.ReadAllText(Path.Combine(first, "summary.json")), File.ReadAllText(Path.Combine(second, "summary.json")));
        Assert.Equal(File.ReadAllText(Path.Combine(first, "summary.csv")), File.ReadAllText(Path.Combine(second, "summary.csv")));
        Assert.Equal(File.ReadAllText(Path.Combine(first, "items.csv")), File.ReadAllText(Path.Combine(second, "items.csv")));
    }

    [Fact]
    public void ARunWithOnlyANewMetricReusesTheCalibrationAndTheValuesOfTheUnchangedMetrics()
    {
        var first = Folder(fixture.First);
        var folder = Folder(fixture.Run("new-metric-runs", "--set", "evaluate.metrics=[es, es-paraphrased, probability]"));

        var stages = CachedStages(folder);
        Assert.True(stages["calibrate"], $"calibration was not reused: {string.Join(", ", stages)}");
        Assert.False(stages["evaluate"], "the new metric must be computed");
        var log = File.ReadAllText(Path.Combine(folder, "run.log"));
        Assert.Contains("calibrate: reused α* = ", log);
        // Four roles, each with es and es-paraphrased (reused) and probability (new) on forget and retain.
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Matches(log, @"evaluate: \w+ done \(4 of 6 values from the cache").Count);

        var before = Metrics(first);
        var after = Metrics(folder);
        foreach (var (key, value) in before) Assert.Equal(value, after[key]);
        Assert.Contains(after.Keys, k => k.Metric == "probability");
        Assert.Equal(Json(Path.Combine(first, "summary.json")).GetProperty("calibration").GetProperty("alpha").GetDouble(),
            Json(Path.Combine(folder, "summary.json")).GetProperty("calibration").GetProperty("alpha").GetDouble());
    }

    [Fact]
    public void ManifestWritesOptionsAsPipelineFilesSpellThemAndTheyBindBackToTheSameOptions()
    {
        var manifest = Json(Path.Combine(Folder(fixture.First), "manifest.json"));
        var registry = new Unlearn.Host.Plugins.PluginRegistry();
        new Unlearn.Host.Plugins.PluginLoader(Path.Combine(fixture.Root, "package-cache"))
            .LoadInto(registry, [new Unlearn.Host.Plugins.PluginSource(HostTestPaths.BuiltInPlugins, "built-in")]);
        var at = new SourceLocation("manifest.json", 1, 1);
        foreach (var plugin in manifest.GetProperty("plugins").EnumerateArray())
        {
            var written = Compact(plugin.GetProperty("options"));
            Assert.DoesNotMatch("\"[A-Z]", written); // keys and enum values as a pipeline file writes them, not C# names
            var descriptor = registry.Resolve(Enum.Parse<Unlearn.Plugins.PluginKind>(plugin.GetProperty("kind").GetString()!, ignoreCase: true),
                plugin.GetProperty("name").GetString()!, at, "plugins");
            var bound = OptionsBinder.Bind(descriptor.OptionsType, PluginLoadingTests.OptionMap(written), "options", at);
            Assert.Equal(written, OptionsBinder.ToJson(bound));
        }
        var calibrator = manifest.GetProperty("plugins").EnumerateArray().Single(p => p.GetProperty("kind").GetString() == "calibrator");
        Assert.Equal("forget", calibrator.GetProperty("options").GetProperty("forget_split").GetString());
        Assert.Equal("""{"question":"original"}""", Compact(manifest.GetProperty("plugins").EnumerateArray()
            .Single(p => p.GetProperty("name").GetString() == "es").GetProperty("options")));
    }

    private static string Compact(JsonElement e) => System.Text.Json.Nodes.JsonNode.Parse(e.GetRawText())!.ToJsonString();

    [Fact]
    public void OneMetricUsedTwiceWithDifferentOptionsGivesTwoResultsUnderTheirUseNames()
    {
        var first = Folder(fixture.First);
        var folder = Folder(fixture.Run("as-runs", "--set",
            "evaluate.metrics=[es, es-paraphrased, {name: es, as: es-on-paraphrase, options: {question: paraphrased}}]"));

        // es with question: paraphrased is es-paraphrased: the second use has its own values, not the first use's.
        var before = Metrics(first);
        var after = Metrics(folder);
        foreach (var model in new[] { "original", "unlearned", "calibrated", "retain" })
        foreach (var split in new[] { "forget", "retain" })
        {
            Assert.Equal(before[(model, split, "es")], after[(model, split, "es")]);
            Assert.Equal(before[(model, split, "es-paraphrased")], after[(model, split, "es-on-paraphrase")]);
        }
        Assert.Contains(new[] { "forget", "retain" }, split => after[("original", split, "es")] != after[("original", split, "es-on-paraphrase")]);
        var items = File.ReadAllLines(Path.Combine(folder, "items.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(items.Count(c => c[3] == "es"), items.Count(c => c[3] == "es-on-paraphrase"));
        Assert.Contains("| es-on-paraphrase |", File.ReadAllText(Path.Combine(folder, "report.md")));

        // The new use is a value of its own in the cache (a key per use); the unchanged ones and α* are reused.
        var stages = CachedStages(folder);
        Assert.True(stages["calibrate"], $"calibration was not reused: {string.Join(", ", stages)}");
        var log = File.ReadAllText(Path.Combine(folder, "run.log"));
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Matches(log, @"evaluate: \w+ done \(4 of 6 values from the cache").Count);

        // The manifest records each use with its options in pipeline spelling and its name.
        var metrics = Json(Path.Combine(folder, "manifest.json")).GetProperty("plugins").EnumerateArray().Where(p => p.GetProperty("kind").GetString() == "metric").ToList();
        Assert.Equal(["es:", "es-paraphrased:", "es:es-on-paraphrase"],
            metrics.Select(p => p.GetProperty("name").GetString() + ":" + (p.GetProperty("as").ValueKind == JsonValueKind.Null ? "" : p.GetProperty("as").GetString())));
        Assert.Equal("""{"question":"original"}""", Compact(metrics[0].GetProperty("options")));
        Assert.Equal("""{"question":"paraphrased"}""", Compact(metrics[2].GetProperty("options")));
    }

    [Fact]
    public void TerminatedRunResumesFromItsFolderToTheSameResults()
    {
        // A fresh cache, so the run has real training to interrupt; SIGTERM as the target model starts training.
        var cache = Path.Combine(fixture.Root, "resume-cache");
        var runs = Path.Combine(fixture.Root, "resume-runs");
        var stopped = ToolProcess.RunAndTerminate(cache, "learn/target: fine-tuning",
            "run", HostTestPaths.Pipeline("tiny.yaml"), "--out", runs);
        Assert.True(stopped.ExitCode == ExitCodes.Interrupted, stopped.ToString());
        var folder = stopped.LastLine;
        Assert.Contains($"Resume with: dotnet unlearn run --resume {folder}", stopped.StdErr);
        Assert.False(File.Exists(Path.Combine(folder, "summary.json")));

        var resumed = ToolProcess.Run(cache, "run", "--resume", folder, "--quiet");
        Assert.Equal(folder, Folder(resumed));
        // The stage finished before the signal is not recomputed, and the results equal an uninterrupted run's.
        Assert.True(CachedStages(folder)["learn/base"], "learn/base should come from the cache after resuming");
        Assert.Equal(File.ReadAllText(Path.Combine(Folder(fixture.First), "summary.json")), File.ReadAllText(Path.Combine(folder, "summary.json")));
        var log = File.ReadAllText(Path.Combine(folder, "run.log"));
        Assert.Contains("termination signal", log);
    }

    /// <summary>A copy of the first run folder as a crash during report writing leaves it: the commit marker and the
    /// given files missing, and a temporary file of the write that was cut short.</summary>
    private string HalfWrittenCopy(string name, params string[] missing)
    {
        var source = Folder(fixture.First);
        var copy = Path.Combine(fixture.Root, "half-written", name);
        Directory.CreateDirectory(copy);
        foreach (var file in Directory.EnumerateFiles(source)) File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        foreach (var file in missing.Append("complete.json")) File.Delete(Path.Combine(copy, file));
        File.WriteAllText(Path.Combine(copy, missing[0] + ".tmp-0badc0de"), "cut sh");
        return copy;
    }

    [Theory]
    [InlineData("after-summary", new[] { "summary.csv", "items.csv", "report.md" })]
    [InlineData("after-manifest", new[] { "summary.json", "summary.csv", "items.csv", "report.md" })]
    public void ResumeFinishesAHalfWrittenRunFolderWithoutEvaluatingAgain(string name, string[] missing)
    {
        var folder = HalfWrittenCopy(name, missing);
        var resumed = ToolProcess.Run(fixture.Cache, "run", "--resume", folder);
        Assert.Equal(folder, Folder(resumed));
        Assert.Contains("results are in result.json; writing the report files it is missing", resumed.StdErr);
        Assert.DoesNotContain("evaluate:", resumed.StdErr);
        Assert.DoesNotContain("calibrate:", resumed.StdErr);
        var first = Folder(fixture.First);
        foreach (var file in missing.Append("manifest.json"))
            Assert.Equal(File.ReadAllText(Path.Combine(first, file)), File.ReadAllText(Path.Combine(folder, file)));
        Assert.True(File.Exists(Path.Combine(folder, "complete.json")));
        Assert.Empty(Directory.EnumerateFiles(folder, "*.tmp-*"));

        // Finished now: a second resume changes nothing.
        var again = ToolProcess.Run(fixture.Cache, "run", "--resume", folder);
        Assert.Equal(folder, Folder(again));
        Assert.Contains("run: already finished, skipped", again.StdErr);
    }

    [Fact]
    public void ADamagedCachedStageFoundWhileRunningIsARunFailureNamingItsFile()
    {
        // The plan is checked before any work; a cached stage whose weights were cut short (a disk that filled while
        // another process wrote it by hand, a copy that broke) is found when the run loads it. The framework error it
        // raises (InvalidDataException, which is bad input while planning) is then a run failure: exit 1, naming the file.
        var cache = Path.Combine(fixture.Root, "damaged-cache");
        TestPaths.CopyFolder(fixture.Cache, cache);
        // Every cached unlearned model (the other tests of this class add theirs to the cache), so the tiny run's is one.
        var damaged = Directory.EnumerateFiles(Path.Combine(cache, "stages", "unlearned"), "model.safetensors", SearchOption.AllDirectories).ToList();
        foreach (var weights in damaged)
            using (var file = File.OpenWrite(weights)) file.SetLength(2000);
        foreach (var derived in new[] { "calibrations", "evaluations" }) Directory.Delete(Path.Combine(cache, "stages", derived), recursive: true);

        var failed = ToolProcess.Run(cache, "run", HostTestPaths.Pipeline("tiny.yaml"), "--out", Path.Combine(fixture.Root, "damaged-runs"), "--quiet");
        Assert.True(failed.ExitCode == ExitCodes.RunFailure, failed.ToString());
        Assert.Contains("error: the run failed: InvalidDataException: ", failed.StdErr);
        Assert.Contains(damaged, weights => failed.StdErr.Contains(weights, StringComparison.Ordinal));
    }

    [Fact]
    public void ResumingAFolderWhoseResultFileWasChangedIsBadInputNamingTheFile()
    {
        var folder = HalfWrittenCopy("result-edited", "report.md");
        File.WriteAllText(Path.Combine(folder, "result.json"), "{\"Result\": [");
        var refused = ToolProcess.Run(fixture.Cache, "run", "--resume", folder);
        Assert.True(refused.ExitCode == ExitCodes.BadInput, refused.ToString());
        Assert.Contains($"{Path.Combine(folder, "result.json")} is not a readable result file", refused.StdErr);
        Assert.Contains("move the run folder aside", refused.StdErr);
        Assert.False(File.Exists(Path.Combine(folder, "complete.json")));
    }

    [Fact]
    public void ARunKilledAsItWritesItsResultsIsFinishedByResume()
    {
        // A real SIGKILL once the last evaluation is done: the folder then holds its pipeline, log and the dead
        // process's lock but no result file yet (the states part-way through writing are the half-written copies
        // below). --resume takes the folder over and finishes it with the files an uninterrupted run writes.
        var runs = Path.Combine(fixture.Root, "killed-runs");
        using (var killed = ToolProcess.Start(fixture.Cache, ["run", HostTestPaths.Pipeline("tiny.yaml"), "--out", runs]))
        {
            killed.WaitForLine("evaluate: retain done");
            killed.Kill();
        }
        var folder = Assert.Single(Directory.GetDirectories(Path.Combine(runs, "tiny-e2e")));
        var resumed = ToolProcess.Run(fixture.Cache, "run", "--resume", folder);
        Assert.Equal(folder, Folder(resumed));
        Assert.True(File.Exists(Path.Combine(folder, "complete.json")));
        Assert.Empty(Directory.EnumerateFiles(folder, "*.tmp-*"));
        foreach (var file in new[] { "items.csv", "summary.csv" })
            Assert.Equal(File.ReadAllText(Path.Combine(Folder(fixture.First), file)), File.ReadAllText(Path.Combine(folder, file)));
    }

    [Fact]
    public void FailedReportWriteExitsOneAndResumeFinishesTheFolder()
    {
        // A folder where items.csv cannot be written (a directory takes its name): the write fails as on a full disk.
        var folder = HalfWrittenCopy("write-fails", "summary.csv", "items.csv", "report.md");
        Directory.CreateDirectory(Path.Combine(folder, "items.csv"));
        var failed = ToolProcess.Run(fixture.Cache, "run", "--resume", folder);
        Assert.True(failed.ExitCode == ExitCodes.RunFailure, failed.ToString());
        Assert.True(File.Exists(Path.Combine(folder, "summary.csv")));
        Assert.False(File.Exists(Path.Combine(folder, "complete.json")));

        Directory.Delete(Path.Combine(folder, "items.csv"));
        Assert.Equal(folder, Folder(ToolProcess.Run(fixture.Cache, "run", "--resume", folder)));
        Assert.Equal(File.ReadAllText(Path.Combine(Folder(fixture.First), "items.csv")), File.ReadAllText(Path.Combine(folder, "items.csv")));
        Assert.True(File.Exists(Path.Combine(folder, "report.md")));
        Assert.True(File.Exists(Path.Combine(folder, "complete.json")));
    }

    [Fact]
    public void DivergedUnlearningExitsOneNamingTheStepAndReportsWhatFinished()
    {
        // An absurd learning rate makes the gradients overflow: non-finite steps are skipped and recorded, not written
        // as invalid JSON; the run reports the original and retain models and fails with the step and loss.
        var result = fixture.Run("diverged-runs", "--set", "unlearn.trainer.lr=1e30");
        Assert.True(result.ExitCode == ExitCodes.RunFailure, result.ToString());
        Assert.Matches(@"error: unlearning diverged at step \d+/\d+: loss \S+, gradient norm (NaN|∞|-∞|\S+) \(\d+ of \d+ steps not finite\)", result.StdErr);
        var folder = result.LastLine;
        var summary = Json(Path.Combine(folder, "summary.json"));
        Assert.StartsWith("unlearning diverged at step", summary.GetProperty("failure").GetString());
        Assert.Equal(["original", "retain"], Metrics(folder).Keys.Select(k => k.Model).Distinct().Order());
        Assert.Contains("**The run failed:** unlearning diverged", File.ReadAllText(Path.Combine(folder, "report.md")));
        Assert.True(File.Exists(Path.Combine(folder, "complete.json")));
        var history = Json(Path.Combine(folder, "result.json")).GetProperty("Result").GetProperty("Unlearning").GetProperty("History");
        Assert.Contains(history.EnumerateArray(), h => h.GetProperty("Skipped").GetBoolean() && h.GetProperty("GradientNorm").GetString() == "NaN");
    }

    [Fact]
    public void TerminatedSweepResumesFromItsFolderWithEveryGridPoint()
    {
        using var files = new TempFiles();
        var pipeline = files.Write("sweep.yaml",
            $"include: {HostTestPaths.Pipeline("tiny.yaml")}\ncalibrate:\n  options:\n    max_evaluations: 2\nsweep:\n  unlearn.trainer.lr: [3e-4, 1e-4]\n");
        var stopped = ToolProcess.RunAndTerminate(fixture.Cache, "sweep run unlearn.trainer.lr=3e-4",
            "run", pipeline, "--out", Path.Combine(fixture.Root, "sweep-resume"));
        Assert.True(stopped.ExitCode == ExitCodes.Interrupted, stopped.ToString());
        var sweep = stopped.LastLine;
        Assert.Contains($"Resume with: dotnet unlearn run --resume {sweep}", stopped.StdErr);
        Assert.False(File.Exists(Path.Combine(sweep, "lr-1e-4", "complete.json")));

        // The printed command resumes the whole grid, including the point that had not started.
        var resumed = ToolProcess.Run(fixture.Cache, "run", "--resume", sweep);
        Assert.Equal(sweep, Folder(resumed));
        foreach (var point in new[] { "lr-3e-4", "lr-1e-4" })
            Assert.True(File.Exists(Path.Combine(sweep, point, "complete.json")), $"{point} did not finish\n{resumed}");
        Assert.True(File.Exists(Path.Combine(sweep, "comparison.md")));
        Assert.True(File.Exists(Path.Combine(sweep, "complete.json")));
        Assert.Contains("sweep:", File.ReadAllText(Path.Combine(sweep, "pipeline.yaml")));
    }

    [Fact]
    public void SavedModelsAreHuggingFaceFoldersThatEvalLoads()
    {
        var folder = Folder(fixture.Run("saved-runs", "--set", "report.save_model=[calibrated, unlearned]"));
        var models = Json(Path.Combine(folder, "manifest.json")).GetProperty("models");
        foreach (var role in new[] { "calibrated", "unlearned" })
        {
            var saved = Path.Combine(folder, "models", role);
            Assert.Equal(saved, models.GetProperty(role).GetString());
            foreach (var file in new[] { "config.json", "model.safetensors", "unlearn_vocab.json" })
                Assert.True(File.Exists(Path.Combine(saved, file)), $"{file} missing from {saved}");
        }

        // eval loads the saved calibrated model and measures what the run measured for it.
        var dataLine = File.ReadLines(Path.Combine(folder, "run.log")).First(l => l.Contains("] data: ", StringComparison.Ordinal));
        var data = System.Text.RegularExpressions.Regex.Match(dataLine, @"\] data: (.+) \(").Groups[1].Value;
        var evaluated = Folder(ToolProcess.Run(fixture.Cache, "eval", "--model", Path.Combine(folder, "models", "calibrated"), "--data", data,
            "--splits", "forget10_perturbed", "--metrics", "es", "--out", Path.Combine(fixture.Root, "saved-eval")));
        Assert.Equal(Metrics(folder)[("calibrated", "forget", "es")], Metrics(evaluated)[("original", "forget10_perturbed", "es")], 4);
    }

    [Fact]
    public void APluginThatThrowsMidRunIsARunFailureNamingThePlugin()
    {
        using var files = new TempFiles();
        var plugin = HostTestPaths.TestPlugin("ThrowingFactoryPlugin");
        var result = ToolProcess.Run(fixture.Cache, ["run", HostTestPaths.Pipeline("tiny.yaml"), "--set", "unlearn.method=failing-loss",
            "--out", Path.Combine(fixture.Root, "failing-runs"), "--quiet", "--plugins", plugin]);
        Assert.True(result.ExitCode == ExitCodes.RunFailure, result.ToString());
        Assert.Contains($"the objective 'failing-loss' ({Path.Combine(plugin, "Unlearn.TestPlugins.ThrowingFactoryPlugin.dll")}) failed in ComputeLoss: InvalidOperationException: loss failed on purpose", result.StdErr);
    }

    [Fact]
    public void SweepRecordsAFailedRunGoesOnAndComparesTheFinishedOnes()
    {
        using var files = new TempFiles();
        var pipeline = files.Write("sweep.yaml",
            $"include: {HostTestPaths.Pipeline("tiny.yaml")}\nreport:\n  taus: [0.8, 0.9]\nsweep:\n  unlearn.method: [failing-loss, ga]\n");
        var result = ToolProcess.Run(fixture.Cache, ["run", pipeline, "--out", Path.Combine(fixture.Root, "sweep-runs"), "--quiet",
            "--plugins", HostTestPaths.TestPlugin("ThrowingFactoryPlugin")]);

        Assert.True(result.ExitCode == ExitCodes.RunFailure, result.ToString());
        var sweep = result.LastLine;
        var failed = Path.Combine(sweep, "method-failing-loss");
        var finished = Path.Combine(sweep, "method-ga");
        Assert.Contains("loss failed on purpose", File.ReadAllText(Path.Combine(failed, "error.txt")));
        Assert.False(File.Exists(Path.Combine(failed, "summary.json")));
        Assert.True(File.Exists(Path.Combine(finished, "summary.json")), $"the sweep did not go on after the failure\n{result}");

        // The ga run reuses the learned models and the ga unlearning the fixture's runs cached.
        Assert.True(CachedStages(finished)["unlearn"]);

        // The sweep folder gets the comparison of its finished runs, with the failed run named.
        var comparison = File.ReadAllText(Path.Combine(sweep, "comparison.md"));
        Assert.Contains("skipped sweep run 'method-failing-loss'", comparison);
        Assert.Contains("it failed (see its error.txt)", comparison);
        Assert.Contains("| ga |", comparison);
        Assert.True(File.Exists(Path.Combine(sweep, "comparison.csv")));

        // report.taus adds the other targets, read off the visited calibration curve, to the run's report.
        var report = File.ReadAllText(Path.Combine(finished, "report.md"));
        Assert.Contains("### Other calibration targets", report);
        Assert.Matches(@"\| 0\.8 \| [0-9.]+ \| (1\.0000|0\.[0-9]{4}) \|", report);
        Assert.Matches(@"\| 0\.9 \| [0-9.]+ \| (1\.0000|0\.[0-9]{4}) \|", report);
    }

    [Fact]
    public void ExamplePluginRunsAsTheUnlearningMethodThroughPluginsOption()
    {
        var result = fixture.Run("example-runs",
            "--plugins", HostTestPaths.ExamplePlugin,
            "--set", "unlearn.method=ga-clipped",
            "--set", "unlearn.options.max_nll=8",
            "--set", "evaluate.metrics=[es, mean-nll, perplexity]");
        var folder = Folder(result);

        var manifest = Json(Path.Combine(folder, "manifest.json"));
        var objective = manifest.GetProperty("plugins").EnumerateArray().Single(p => p.GetProperty("kind").GetString() == "objective");
        Assert.Equal("ga-clipped", objective.GetProperty("name").GetString());
        Assert.Equal("Unlearn.Samples.ExamplePlugin", objective.GetProperty("assembly").GetString());
        Assert.Equal("--plugins", objective.GetProperty("origin").GetString());
        // Options are recorded as the pipeline spells them (snake_case keys): here, in summary.json and for every plugin.
        Assert.Equal(8.0, objective.GetProperty("options").GetProperty("max_nll").GetDouble());
        Assert.Equal(8.0, Json(Path.Combine(folder, "summary.json")).GetProperty("method_options").GetProperty("max_nll").GetDouble());
        foreach (var plugin in manifest.GetProperty("plugins").EnumerateArray())
            Assert.All(plugin.GetProperty("options").EnumerateObject(), o => Assert.Equal(OptionsBinder.ToSnakeCase(o.Name), o.Name));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(HostTestPaths.ExamplePluginDll))), objective.GetProperty("sha256").GetString());

        // The learned models come from the cache the ga runs filled; the new method gets its own unlearn stage.
        var stages = CachedStages(folder);
        Assert.True(stages["learn/target"], "learn/target should be reused");
        Assert.False(stages["unlearn"], "ga-clipped must not reuse the ga unlearn stage");
        Assert.Equal("ga-clipped", Json(Path.Combine(folder, "summary.json")).GetProperty("method").GetString());

        // mean-nll is the log of perplexity (both token-weighted over the split), for every model and split.
        var metrics = Metrics(folder);
        foreach (var model in new[] { "original", "unlearned", "calibrated", "retain" })
        foreach (var split in new[] { "forget", "retain" })
        {
            var meanNll = metrics[(model, split, "mean-nll")];
            var perplexity = metrics[(model, split, "perplexity")];
            Assert.True(meanNll > 0, $"{model}/{split}: mean-nll {meanNll}");
            // Both are written rounded (4 decimals), so they agree to within that rounding, not to 3 rounded decimals.
            Assert.True(Math.Abs(Math.Log(perplexity) - meanNll) < 1e-3, $"{model}/{split}: mean-nll {meanNll}, log perplexity {Math.Log(perplexity)}");
        }
        // Ascent raises the forget NLL above the original model's.
        Assert.True(metrics[("unlearned", "forget", "mean-nll")] > metrics[("original", "forget", "mean-nll")]);
    }

    private static Dictionary<(string Model, string Split, string Metric), JsonElement> Extras(string folder) =>
        Json(Path.Combine(folder, "summary.json")).GetProperty("metrics").EnumerateArray().ToDictionary(
            m => (m.GetProperty("model").GetString()!, m.GetProperty("split").GetString()!, m.GetProperty("metric").GetString()!),
            m => m.GetProperty("extras"));

    [Fact]
    public void ReferenceAndGradientNormMembershipRunAgainstTheOriginalAModelFolderAndInPrivleak()
    {
        var first = Folder(fixture.First);
        var retainFolder = Json(Path.Combine(first, "manifest.json")).GetProperty("models").GetProperty("retain").GetString()!;

        // Reference = the original: the original scores 0 against itself (AUC 0.5); gradnorm feeds privleak.
        var against = Folder(fixture.Run("mia-original-runs",
            "--set", "evaluate.splits=[forget]",
            "--set", "evaluate.metrics=[mia-gradnorm, mia-reference, {name: privleak, options: {score: grad-norm}}]"));
        var metrics = Metrics(against);
        var extras = Extras(against);
        Assert.Equal(0.0, metrics[("original", "forget", "mia-reference")], 9);
        Assert.Equal(0.5, extras[("original", "forget", "mia-reference")].GetProperty("auc").GetDouble(), 9);
        Assert.NotEqual(0.0, metrics[("unlearned", "forget", "mia-reference")], 3);
        foreach (var model in new[] { "original", "unlearned", "calibrated", "retain" })
        {
            Assert.True(metrics[(model, "forget", "mia-gradnorm")] > 0, $"{model}: mia-gradnorm {metrics[(model, "forget", "mia-gradnorm")]}");
            var auc = extras[(model, "forget", "mia-gradnorm")].GetProperty("auc").GetDouble();
            Assert.InRange(auc, 0, 1);
        }
        var privleak = extras[("unlearned", "forget", "privleak")];
        Assert.Equal(extras[("unlearned", "forget", "mia-gradnorm")].GetProperty("auc").GetDouble(), privleak.GetProperty("auc").GetDouble(), 9);
        Assert.Equal(extras[("retain", "forget", "mia-gradnorm")].GetProperty("auc").GetDouble(), privleak.GetProperty("auc_retain").GetDouble(), 9);

        // Reference = a model folder (the retain model's): the retain model scores 0 against it, the original does not.
        var folderRun = Folder(fixture.Run("mia-folder-runs",
            "--set", "evaluate.splits=[forget]",
            "--set", $"evaluate.metrics=[{{name: mia-reference, options: {{reference: '{retainFolder}'}}}}]"));
        var folderMetrics = Metrics(folderRun);
        Assert.Equal(0.0, folderMetrics[("retain", "forget", "mia-reference")], 9);
        Assert.NotEqual(0.0, folderMetrics[("original", "forget", "mia-reference")], 3);

        // A folder that is not a model stops the run before training, naming the option.
        var bad = fixture.Run("mia-bad-runs", "--set", "evaluate.metrics=[{name: mia-reference, options: {reference: /no/such/model}}]");
        Assert.Equal(ExitCodes.BadInput, bad.ExitCode);
        Assert.Contains("reference must be 'original', 'retain' or an existing model folder", bad.ToString());
    }

    [Fact]
    public void EvalCommandEvaluatesAModelFolderWithItsChatTemplate()
    {
        var first = Folder(fixture.First);
        var target = Json(Path.Combine(first, "manifest.json")).GetProperty("models").GetProperty("original").GetString()!;
        var dataLine = File.ReadLines(Path.Combine(first, "run.log")).First(l => l.Contains("] data: ", StringComparison.Ordinal));
        var data = System.Text.RegularExpressions.Regex.Match(dataLine, @"\] data: (.+) \(").Groups[1].Value;
        Assert.True(Directory.Exists(data), dataLine);
        string[] Eval(string model, string outFolder) =>
            ["eval", "--model", model, "--data", data, "--splits", "forget10_perturbed,retain_perturbed", "--metrics", "es,perplexity",
             "--out", Path.Combine(fixture.Root, outFolder)];

        // The trained folder as it is: the run's own numbers come back.
        var plain = Folder(ToolProcess.Run(fixture.Cache, Eval(target, "eval-plain")));
        var plainMetrics = Metrics(plain);
        Assert.Equal(Metrics(first)[("original", "forget", "es")], plainMetrics[("original", "forget10_perturbed", "es")], 6);
        Assert.Equal(["original"], Json(Path.Combine(plain, "summary.json")).GetProperty("metrics").EnumerateArray()
            .Select(m => m.GetProperty("model").GetString()).Distinct());

        // A copy with a chat template: the prompts change, so the numbers change (the model was trained on the text template).
        var chatModel = Path.Combine(fixture.Root, "chat-model");
        Directory.CreateDirectory(chatModel);
        foreach (var file in Directory.EnumerateFiles(target)) File.Copy(file, Path.Combine(chatModel, Path.GetFileName(file)));
        File.WriteAllText(Path.Combine(chatModel, "chat_template.jinja"),
            "{% for m in messages %}{{ m['role'] | capitalize }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}Answer:{% endif %}");
        var chat = Folder(ToolProcess.Run(fixture.Cache, Eval(chatModel, "eval-chat")));
        Assert.Contains($"prompt: chat template from {Path.Combine(chatModel, "chat_template.jinja")}", File.ReadAllText(Path.Combine(chat, "run.log")));
        var chatMetrics = Metrics(chat);
        Assert.NotEqual(plainMetrics[("original", "forget10_perturbed", "perplexity")], chatMetrics[("original", "forget10_perturbed", "perplexity")], 4);

        // A broken template stops the command with exit code 2 and names the file and line; no run folder is left.
        File.WriteAllText(Path.Combine(chatModel, "chat_template.jinja"), "{% for m in messages %}\n{{ m['content'] }}\n");
        var broken = ToolProcess.Run(fixture.Cache, Eval(chatModel, "eval-broken"));
        Assert.True(broken.ExitCode == ExitCodes.BadInput, broken.ToString());
        Assert.Contains(Path.Combine(chatModel, "chat_template.jinja") + ":1:", broken.StdErr);
    }

    [Fact]
    public void ATofuEvalJsonWrittenByARunServesAsRetainLogsForForgetQuality()
    {
        // A run with the retain model in process, writing OpenUnlearning's TOFU_EVAL.json for every model.
        var run = Folder(fixture.Run("tofu-eval-runs", "--set", "evaluate.metrics=[truth-ratio, forget-quality]", "--set", "report.tofu_eval=true"));
        var retainLogs = Path.Combine(run, "openunlearning", "retain", "TOFU_EVAL.json");
        var logs = Json(retainLogs);
        var forgetTruthRatio = logs.GetProperty("forget_truth_ratio");
        var metrics = Metrics(run);
        Assert.Equal(metrics[("retain", "forget", "truth-ratio")], Math.Round(forgetTruthRatio.GetProperty("agg_value").GetDouble(), 4));
        var items = File.ReadAllLines(Path.Combine(run, "items.csv")).Skip(1).Select(l => l.Split(','))
            .Where(c => c[1] == "retain" && c[2] == "forget" && c[3] == "truth-ratio").Select(c => c[5]).ToList();
        Assert.Equal(items, forgetTruthRatio.GetProperty("value_by_index").EnumerateObject()
            .Select(e => e.Value.GetProperty("score").GetDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(metrics[("original", "forget", "forget-quality")],
            Math.Round(Json(Path.Combine(run, "openunlearning", "original", "TOFU_EVAL.json")).GetProperty("forget_quality").GetProperty("agg_value").GetDouble(), 4));

        // eval of the original model alone, the retain side read from that file: the same forget quality.
        var target = Json(Path.Combine(run, "manifest.json")).GetProperty("models").GetProperty("original").GetString()!;
        var dataLine = File.ReadLines(Path.Combine(run, "run.log")).First(l => l.Contains("] data: ", StringComparison.Ordinal));
        var data = System.Text.RegularExpressions.Regex.Match(dataLine, @"\] data: (.+) \(").Groups[1].Value;
        var eval = Folder(ToolProcess.Run(fixture.Cache, "eval", "--model", target, "--data", data, "--splits", "forget10_perturbed",
            "--metrics", "truth-ratio,forget-quality", "--retain-logs", retainLogs, "--out", Path.Combine(fixture.Root, "eval-retain-logs")));
        Assert.Equal(metrics[("original", "forget", "forget-quality")], Metrics(eval)[("original", "forget10_perturbed", "forget-quality")]);
    }
}
