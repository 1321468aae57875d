using Unlearn.Host.Cli;
using Unlearn.Host.Configuration;

namespace Unlearn.Host.Tests;

/// <summary>What --resume reads: the resolved pipeline of the run folder, meaning the same files as the original run,
/// and nothing else from the command line.</summary>
public sealed class ResumeInputTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ResolvedPipelineKeepsRelativePathsAsTheOriginalRunResolvedThem()
    {
        var data = Directory.CreateDirectory(Path.Combine(_files.Dir, "project", "tofu-data")).FullName;
        var pipeline = _files.Write("project/pipelines/p.yaml",
            "name: p\nmodel:\n  path: ../models/target\ndata:\n  folder: ../tofu-data\nlearn:\n  recipe: none\nsweep:\n  data.folder: [../tofu-data, ../other]\n");
        var root = PipelineDocument.Load(pipeline);
        var spec = PipelineBinder.Bind(SweepExpander.Expand(root)[0].Tree, pipeline, []);
        Assert.Equal(data, spec.Data.Folder);

        // The run folder's pipeline.yaml is read from elsewhere: the paths still name the original files.
        var resolved = _files.Write("runs/p/20260101-000000/pipeline.yaml", PipelineDocument.ToYaml(spec.Resolved));
        var again = PipelineBinder.Bind(PipelineDocument.Load(resolved), resolved, []);
        Assert.Equal(data, again.Data.Folder);
        Assert.Equal(Path.Combine(_files.Dir, "project", "models", "target"), again.Model.Path);

        // A sweep's own pipeline (kept in the sweep folder) keeps its axis values absolute too.
        PipelineBinder.MakePathsAbsolute(root, pipeline);
        var sweepFile = _files.Write("runs/p/20260101-000001/pipeline.yaml", PipelineDocument.ToYaml(root));
        var points = SweepExpander.Expand(PipelineDocument.Load(sweepFile));
        Assert.Equal([data, Path.Combine(_files.Dir, "project", "other")],
            points.Select(p => PipelineBinder.Bind(p.Tree, sweepFile, []).Data.Folder));
    }

    [Fact]
    public void PluginOptionsThatNameFilesAreResolvedLikeTheHostsPaths()
    {
        var pipeline = _files.Write("project/pipelines/p.yaml",
            "name: p\nattacks:\n  - name: jailbreak\n    options:\n      file: extra/templates.txt\n      template: file-1\n  - label: chained\n    chain:\n      - name: jailbreak\n        options: {templates_file: t.txt}\n" +
            "sweep:\n  attacks.0.options.file: [a.txt, ../b.txt]\n  attacks.0.options.template: [x.txt]\n");
        var root = PipelineDocument.Load(pipeline);
        var folder = Path.Combine(_files.Dir, "project", "pipelines");
        var spec = PipelineBinder.Bind(SweepExpander.Expand(root)[1].Tree, pipeline, []);
        var options = spec.Attacks[0].Steps[0].Options!;
        Assert.Equal(Path.Combine(folder, "..", "b.txt") is var b ? Path.GetFullPath(b) : null, (options["file"] as ConfigScalar)!.Value);
        Assert.Equal("x.txt", (options["template"] as ConfigScalar)!.Value); // not a path option: left as written
        Assert.Equal(Path.Combine(folder, "t.txt"), (spec.Attacks[1].Steps[0].Options!["templates_file"] as ConfigScalar)!.Value);

        // The sweep folder's own pipeline keeps the axis values absolute, so --resume reads the same files.
        PipelineBinder.MakePathsAbsolute(root, pipeline);
        var sweepFile = _files.Write("runs/p/20260101-000001/pipeline.yaml", PipelineDocument.ToYaml(root));
        var files = SweepExpander.Expand(PipelineDocument.Load(sweepFile)).Select(p => PipelineBinder.Bind(p.Tree, sweepFile, []).Attacks[0].Steps[0].Options!["file"]);
        Assert.Equal([Path.Combine(folder, "a.txt"), Path.GetFullPath(Path.Combine(folder, "..", "b.txt"))], files.Select(f => (f as ConfigScalar)!.Value));
    }

    [Theory]
    [InlineData("--set", "unlearn.trainer.lr=1e-3")]
    [InlineData("pipeline", "")]
    public void ResumeRefusesAPipelineOrSetValues(string what, string value)
    {
        var folder = Path.GetDirectoryName(_files.Write("runs/x/1/pipeline.yaml", "name: x\n"))!;
        string[] args = what == "--set" ? ["run", "--resume", folder, "--set", value] : ["run", HostTestPaths.Quickstart, "--resume", folder];
        var result = ToolProcess.Run(Path.Combine(_files.Dir, "cache"), args);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains("--resume continues a run exactly as it started", result.StdErr);
    }
}
