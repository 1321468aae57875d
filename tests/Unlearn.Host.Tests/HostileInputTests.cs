using Unlearn.Host.Configuration;

namespace Unlearn.Host.Tests;

/// <summary>Pipeline text a hostile or careless user writes: alias bombs, empty files, oversized values; each is refused
/// with the file and position before anything runs.</summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    // Nine levels of nine aliases: 9^9 (387 million) scalars when expanded, in a few hundred bytes.
    private static string AliasBomb(string prefix)
    {
        var text = new System.Text.StringBuilder(prefix).Append("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var level = 'b'; level <= 'i'; level++)
        {
            var previous = (char)(level - 1);
            text.Append(level).Append(": &").Append(level).Append(" [").Append(string.Join(",", Enumerable.Repeat("*" + previous, 9))).Append("]\n");
        }
        return text.ToString();
    }

    [Fact]
    public void AliasBombIsRefusedAtItsPositionWithoutExpanding()
    {
        var path = _files.Write("bomb.yaml", AliasBomb("name: bomb\n"));
        Assert.True(new FileInfo(path).Length < 600);
        var before = GC.GetTotalAllocatedBytes();
        var e = Assert.Throws<PipelineException>(() => PipelineDocument.Load(path));
        Assert.True(GC.GetTotalAllocatedBytes() - before < 64 << 20, "the alias bomb was expanded before it was refused");
        Assert.Contains("YAML aliases here expand to more than", e.Message);
        Assert.Equal(path, e.Location.File);
        Assert.True(e.Location.Line >= 3, e.Message);
        Assert.Contains($"{path}:{e.Location.Line}:{e.Location.Column}: ", e.Message);
    }

    [Fact]
    public void AliasBombInASetValueIsRefused()
    {
        var root = PipelineDocument.ParseText(new StringReader("name: x\n"), "x.yaml");
        var bomb = "{" + AliasBomb("").TrimEnd('\n').Replace("\n", ", ") + "}";
        var e = Assert.Throws<PipelineException>(() => PipelineDocument.ApplyOverride(root, "description=" + bomb));
        Assert.Contains("YAML aliases here expand to more than", e.Message);
        Assert.Contains("--set", e.Message);
    }

    [Fact]
    public void SmallAliasUseStillWorks()
    {
        var path = _files.Write("shared.yaml", "name: shared\nlearn:\n  base: &trainer\n    epochs: 2\n    lr: 1e-3\n  target: *trainer\n");
        var root = PipelineDocument.Load(path);
        Assert.Equal("2", Assert.IsType<ConfigScalar>(PipelineDocument.GetPath(root, "learn.target.epochs")).Value);
        Assert.Equal("1e-3", Assert.IsType<ConfigScalar>(PipelineDocument.GetPath(root, "learn.base.lr")).Value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    public void EmptyPipelineFileIsAnError(string text)
    {
        var path = _files.Write("empty.yaml", text);
        var e = Assert.Throws<PipelineException>(() => PipelineDocument.Load(path));
        Assert.Contains($"{path}:1:1: ", e.Message);
        Assert.Contains("the pipeline file is empty", e.Message);
    }

    [Theory]
    [InlineData("unlearn.trainer.lr=Infinity", "lr must be a finite number")]
    [InlineData("unlearn.trainer.lr=NaN", "lr must be a finite number")]
    [InlineData("unlearn.trainer.epsilon=0", "epsilon must be > 0")]
    [InlineData("unlearn.trainer.epsilon=-1e-8", "epsilon must be > 0")]
    [InlineData("unlearn.trainer.beta1=NaN", "beta1 must be a finite number")]
    [InlineData("unlearn.trainer.weight_decay=-Infinity", "weight_decay must be a finite number")]
    [InlineData("unlearn.trainer.epochs=1e12", "epochs must be at most 1000")]
    [InlineData("learn.target.epochs=5000", "epochs must be at most 1000")]
    public void NonFiniteAndAbsurdTrainerSettingsAreRefusedAtValidation(string assignment, string expected)
    {
        var path = _files.Write("trainer.yaml", "name: trainer\nunlearn:\n  method: ga\n");
        var root = PipelineDocument.Load(path);
        PipelineDocument.ApplyOverride(root, assignment);
        var e = Assert.Throws<PipelineException>(() => PipelineBinder.Bind(root, path, []));
        Assert.Contains(expected, e.Message);
        Assert.Contains("--set " + assignment, e.Message);
    }

    [Theory]
    [InlineData("name: s\nunlearn:\n  method: ga\ncalibrate: model-mixing\nreport:\n  save_model: true\n", "", "calibrated")]
    [InlineData("name: s\nunlearn:\n  method: ga\nreport:\n  save_model: true\n", "", "unlearned")]
    [InlineData("name: s\nunlearn:\n  method: ga\ncalibrate: model-mixing\nreport:\n  save_model: [unlearned, calibrated]\n", "", "unlearned,calibrated")]
    [InlineData("name: s\nreport:\n  save_model: false\n", "", "")]
    [InlineData("name: s\nunlearn:\n  method: ga\nreport:\n  save_model: [calibratd]\n", "Did you mean 'calibrated'?", "")]
    [InlineData("name: s\nunlearn:\n  method: ga\nreport:\n  save_model: [calibrated]\n", "no calibrated model to save (no calibrate section)", "")]
    [InlineData("name: s\nreport:\n  save_model: true\n", "no unlearned model to save (no unlearn section)", "")]
    public void SaveModelNamesRolesTheRunHas(string yaml, string error, string roles)
    {
        var path = _files.Write("save.yaml", yaml);
        if (error.Length > 0)
        {
            var e = Assert.Throws<PipelineException>(() => PipelineBinder.Bind(PipelineDocument.Load(path), path, []));
            Assert.Contains(error, e.Message);
            Assert.Contains($"{path}:", e.Message);
            return;
        }
        Assert.Equal(roles, string.Join(",", PipelineBinder.Bind(PipelineDocument.Load(path), path, []).Report.SaveModels));
    }
}
