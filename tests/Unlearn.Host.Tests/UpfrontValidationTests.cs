using Unlearn.Host.Cli;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary><c>validate</c> (and so the start of <c>run</c>) finds what a run would otherwise trip over after hours of
/// training: split and metric names inside controller and calibrator options, metrics' declared dependencies, and the
/// data files of every split the run reads. Each is bad input (exit 2) naming the place.</summary>
public sealed class UpfrontValidationTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private ToolResult Validate(string yaml)
    {
        var path = _files.Write("p.yaml", $"include: {HostTestPaths.Quickstart}\n{yaml}");
        return ToolProcess.Run(Path.Combine(_files.Dir, "cache"), "validate", path);
    }

    [Theory]
    [InlineData("calibrate:\n  method: model-mixing\n  options:\n    split: retian\n", "calibrate.options.split: unknown split 'retian'. Did you mean 'retain'?")]
    [InlineData("calibrate:\n  method: model-mixing\n  options:\n    metric: ess\n", "calibrate.options.metric: unknown metric 'ess'. Did you mean 'es'?")]
    [InlineData("controls:\n  - name: early-stopping\n    options:\n      forget_split: forgett\n", "controls.0.options.forget_split: unknown split 'forgett'")]
    [InlineData("evaluate:\n  metrics: [forget-quality]\nlearn:\n  retain_model: false\n", "'forget-quality' compares with the retain model's 'truth-ratio', but the run has no retain model")]
    public void NamesInsidePluginOptionsAndDependenciesAreCheckedUpFront(string yaml, string expected)
    {
        var result = Validate(yaml);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains(expected, result.StdErr);
        Assert.Contains(Path.Combine(_files.Dir, "p.yaml") + ":", result.StdErr);
    }

    // Every metric use has a name of its own (as:, else the metric's): results, caches and lookups go by it.
    [Theory]
    [InlineData("evaluate:\n  metrics:\n    - es\n    - name: es\n      options:\n        question: paraphrased\n",
        "evaluate.metrics.1: evaluate.metrics.0 and evaluate.metrics.1 both use the metric 'es', so their results would go by one name. Give each use a name of its own with 'as:'")]
    [InlineData("evaluate:\n  metrics:\n    - {name: es, as: strict}\n    - {name: em, as: strict}\n",
        "evaluate.metrics.1: evaluate.metrics.0 and evaluate.metrics.1 both name their results 'strict'. Give one of them another name with 'as:'")]
    [InlineData("evaluate:\n  metrics:\n    - es\n    - {name: probability, as: truth-ratio}\n",
        "evaluate.metrics.1.as: 'truth-ratio' is the name of the metric 'truth-ratio', which other metrics and controllers look up by that name")]
    [InlineData("evaluate:\n  metrics:\n    - {name: es, as: 'es strict'}\n", "evaluate.metrics.0.as: 'es strict' is not a usable name")]
    [InlineData("controls:\n  - name: early-stopping\n    as: stop\n", "controls.0.as: unknown key 'as'")]
    public void MetricUseNamesAreUniqueAndTheirOwn(string yaml, string expected)
    {
        var result = Validate(yaml);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains(expected, result.StdErr);
        Assert.Contains(Path.Combine(_files.Dir, "p.yaml") + ":", result.StdErr);
    }

    [Fact]
    public void ACalibratorMeasuresWithAMetricUseByItsName()
    {
        const string yaml = "calibrate:\n  method: model-mixing\n  options:\n    metric: es-on-paraphrase\n" +
            "evaluate:\n  metrics:\n    - es\n    - {name: es, as: es-on-paraphrase, options: {question: paraphrased}}\n";
        var result = Validate(yaml);
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
    }

    [Fact]
    public void MissingDataFileOfANeededSplitIsFoundBeforeTraining()
    {
        var data = Path.Combine(_files.Dir, "tofu");
        Directory.CreateDirectory(data);
        foreach (var file in new[] { "forget05.json", "forget05_perturbed.json", "retain95.json" })
            File.Copy(Path.Combine(TestPaths.TofuDir, file), Path.Combine(data, file));
        var pipeline = Path.Combine(TestPaths.RepoRoot, "pipelines", "tofu-forget05.yaml");
        var result = ToolProcess.Run(Path.Combine(_files.Dir, "cache"), "validate", pipeline, "--set", $"data.folder={data}");
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains($"{Path.Combine(data, "retain_perturbed.json")}: the run needs split 'retain' (evaluate.splits), but data.folder has no file 'retain_perturbed'", result.StdErr);
    }

    [Fact]
    public void MissingPerturbedAnswersAreFoundBeforeTraining()
    {
        // The forget split's file without its perturbed answers: truth-ratio could only fail after learn and unlearn.
        var data = Path.Combine(_files.Dir, "tofu-no-perturbed");
        Directory.CreateDirectory(data);
        foreach (var file in new[] { "forget05.json", "retain95.json", "retain_perturbed.json", "world_facts.json", "full.json" })
            File.Copy(Path.Combine(TestPaths.TofuDir, file), Path.Combine(data, file));
        File.Copy(Path.Combine(TestPaths.TofuDir, "forget05.json"), Path.Combine(data, "forget05_perturbed.json"));
        var pipeline = Path.Combine(TestPaths.RepoRoot, "pipelines", "tofu-forget05.yaml");
        var result = ToolProcess.Run(Path.Combine(_files.Dir, "cache"), "validate", pipeline, "--set", $"data.folder={data}",
            "--set", "evaluate.metrics=[es, truth-ratio]");
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains($"{Path.Combine(data, "forget05_perturbed.json")}: 'truth-ratio' (evaluate.metrics.1) needs the field \"perturbed_answer\" in every row of split 'forget', but row 1", result.StdErr);
        Assert.Contains("TOFU's *_perturbed files", result.StdErr);
    }
}
