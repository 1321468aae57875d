using Unlearn.Host.Configuration;

namespace Unlearn.Host.Tests;

/// <summary>Pipeline files: YAML errors with positions, unknown keys with suggestions, types, includes, --set
/// overrides, sweeps, the YAML writer and the plugin-folder permission.</summary>
public sealed class PipelineDocumentTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static PipelineSpec Bind(string path, params string[] allowed) =>
        PipelineBinder.Bind(PipelineDocument.Load(path), path, allowed);

    private static string Value(ConfigMap root, string path) =>
        Assert.IsType<ConfigScalar>(PipelineDocument.GetPath(root, path)).Value!;

    [Fact]
    public void YamlSyntaxErrorNamesFileLineAndColumn()
    {
        // Line 3 opens a flow sequence that line 4 never closes; YamlDotNet reports where the bad token starts.
        var path = _files.Write("broken.yaml", "name: broken\nmodel:\n  architecture: [tiny\n  max_length: 64\n");
        var e = Assert.Throws<PipelineException>(() => PipelineDocument.Load(path));
        Assert.StartsWith($"{path}:", e.Message);
        Assert.Contains("YAML syntax error", e.Message);
        Assert.Equal(path, e.Location.File);
        Assert.InRange(e.Location.Line, 3, 4);
        Assert.True(e.Location.Column > 0);
        Assert.Contains($"{path}:{e.Location.Line}:{e.Location.Column}: ", e.Message);
    }

    [Fact]
    public void MappingValueInPlainScalarIsReportedAtItsPosition()
    {
        // "a: b: c" puts a mapping value inside a plain scalar: the error is on line 2, where 'b: c' starts (col 7).
        var path = _files.Write("colon.yaml", "seed: 1\nname: b: c\n");
        var e = Assert.Throws<PipelineException>(() => PipelineDocument.Load(path));
        Assert.Equal(2, e.Location.Line);
        Assert.Contains($"{path}:2:", e.Message);
    }

    [Fact]
    public void UnknownTopLevelKeyNamesKeyAndNearestSection()
    {
        var path = _files.Write("typo.yaml", "name: typo\nmodle:\n  architecture: tiny\n");
        var e = Assert.Throws<PipelineException>(() => Bind(path));
        Assert.Equal("modle", e.KeyPath);
        Assert.Equal(new SourceLocation(path, 2, 1), e.Location);
        Assert.Contains($"{path}:2:1: modle: unknown key 'modle'. Did you mean 'model'?", e.Message);
    }

    [Fact]
    public void UnknownKeyInSectionNamesKeyPathAndNearestKey()
    {
        var path = _files.Write("typo2.yaml", "learn:\n  recipie: tiny-world\n");
        var e = Assert.Throws<PipelineException>(() => Bind(path));
        Assert.Equal("learn.recipie", e.KeyPath);
        Assert.Contains("Did you mean 'recipe'?", e.Message);
        Assert.Contains($"{path}:2:3:", e.Message);
    }

    [Fact]
    public void UnknownTrainerKeyNamesItsPathAndSuggestion()
    {
        var path = _files.Write("typo3.yaml", "unlearn:\n  method: ga\n  trainer:\n    epoch: 2\n");
        var e = Assert.Throws<PipelineException>(() => Bind(path));
        Assert.Equal("unlearn.trainer.epoch", e.KeyPath);
        Assert.Contains("Did you mean 'epochs'?", e.Message);
        Assert.Contains($"{path}:4:5:", e.Message);
    }

    [Theory]
    [InlineData("seed: abc\n", "seed", "expected an integer, found 'abc'", 1)]
    [InlineData("seed: -3\n", "seed", "must be >= 0, got -3", 1)]
    [InlineData("name: t\nmodel: 5\n", "model", "expected a mapping", 2)]
    [InlineData("name: t\nevaluate:\n  batch_size: [1, 2]\n", "evaluate.batch_size", "expected an integer, found a list", 3)]
    [InlineData("name: t\nreport:\n  charts: maybe\n", "report.charts", "expected true or false, found 'maybe'", 3)]
    public void WrongTypeNamesKeyAndExpectation(string yaml, string keyPath, string expected, int line)
    {
        var path = _files.Write("types.yaml", yaml);
        var e = Assert.Throws<PipelineException>(() => Bind(path));
        Assert.Equal(keyPath, e.KeyPath);
        Assert.Contains(expected, e.Message);
        Assert.Equal(line, e.Location.Line);
    }

    [Fact]
    public void ACalibrateMappingWithoutMethodIsNamed()
    {
        var path = _files.Write("calibrate.yaml", "name: t\ncalibrate:\n  options:\n    tau: 0.9\n");
        var e = Assert.Throws<PipelineException>(() => Bind(path));
        Assert.Equal("calibrate", e.KeyPath);
        Assert.Contains("missing 'method:' (e.g. 'method: model-mixing').", e.Message);
    }

    [Fact]
    public void IncludesMergeDeeplyAndTheIncludingFileWins()
    {
        _files.Write("base.yaml", "seed: 1\nmodel:\n  architecture: tiny\n  max_length: 96\ndata:\n  world:\n    authors: 10\n    seed: 3\n");
        _files.Write("more/extra.yaml", "seed: 2\ndata:\n  forget: forget05\n");
        var main = _files.Write("main.yaml", "include: [base.yaml, more/extra.yaml]\nname: merged\nmodel:\n  max_length: 64\n");
        var root = PipelineDocument.Load(main);

        Assert.Null(root[PipelineDocument.IncludeKey]);
        Assert.Equal("merged", Value(root, "name"));
        Assert.Equal("2", Value(root, "seed"));                 // extra.yaml overrides base.yaml
        Assert.Equal("tiny", Value(root, "model.architecture")); // kept from base.yaml (deep merge)
        Assert.Equal("64", Value(root, "model.max_length"));     // main.yaml overrides base.yaml
        Assert.Equal("10", Value(root, "data.world.authors"));
        Assert.Equal("3", Value(root, "data.world.seed"));
        Assert.Equal("forget05", Value(root, "data.forget"));
        // Positions point at the file that wrote the value.
        Assert.EndsWith("main.yaml", PipelineDocument.GetPath(root, "model.max_length")!.Location.File);
        Assert.EndsWith("base.yaml", PipelineDocument.GetPath(root, "model.architecture")!.Location.File);

        var spec = PipelineBinder.Bind(root, main, []);
        Assert.Equal(64, spec.Model.MaxLength);
        Assert.Equal(10, spec.Data.World!.Authors);
        Assert.Equal("holdout05", spec.Data.Splits["holdout"]);
    }

    [Fact]
    public void IncludeCycleIsRefusedWithTheChain()
    {
        var a = _files.Write("a.yaml", "include: b.yaml\nname: a\n");
        var b = _files.Write("b.yaml", "include: a.yaml\nseed: 1\n");
        var e = Assert.Throws<PipelineException>(() => PipelineDocument.Load(a));
        Assert.Contains("include cycle", e.Message);
        Assert.Contains($"{a} -> {b} -> {a}", e.Message);
    }

    [Fact]
    public void MissingIncludeNamesTheIncludingPosition()
    {
        var main = _files.Write("main.yaml", "name: x\ninclude: nowhere.yaml\n");
        var e = Assert.Throws<PipelineException>(() => PipelineDocument.Load(main));
        Assert.Contains("included file 'nowhere.yaml' not found", e.Message);
        Assert.Contains($"{main}:2:", e.Message);
    }

    [Fact]
    public void SetOverridesScalarListNewNestedKeyAndListIndex()
    {
        var path = _files.Write("p.yaml", "name: p\nunlearn:\n  method: ga\n  trainer:\n    lr: 1e-4\nevaluate:\n  splits: [forget, retain]\n");
        var root = PipelineDocument.Load(path);
        PipelineDocument.ApplyOverride(root, "unlearn.trainer.lr=2e-5");
        PipelineDocument.ApplyOverride(root, "evaluate.metrics=[es, em]");
        PipelineDocument.ApplyOverride(root, "unlearn.options.likelihood_cap=0.5");
        PipelineDocument.ApplyOverride(root, "evaluate.splits.1=holdout");
        PipelineDocument.ApplyOverride(root, "description=two words");

        Assert.Equal("2e-5", Value(root, "unlearn.trainer.lr"));
        var metrics = Assert.IsType<ConfigList>(PipelineDocument.GetPath(root, "evaluate.metrics"));
        Assert.Equal(["es", "em"], metrics.Items.Select(i => ((ConfigScalar)i).Value));
        Assert.Equal("0.5", Value(root, "unlearn.options.likelihood_cap"));
        Assert.Equal("holdout", Value(root, "evaluate.splits.1"));
        Assert.Equal("forget", Value(root, "evaluate.splits.0"));
        Assert.Equal("two words", Value(root, "description"));
        Assert.Equal("--set unlearn.trainer.lr=2e-5", PipelineDocument.GetPath(root, "unlearn.trainer.lr")!.Location.File);

        var spec = PipelineBinder.Bind(root, path, []);
        Assert.Equal(2e-5, spec.Unlearn!.Trainer.Lr);
        Assert.Equal(["forget", "holdout"], spec.Evaluate.Splits);
        Assert.Equal(["es", "em"], spec.Evaluate.Metrics.Select(m => m.Plugin.Name));
    }

    [Theory]
    [InlineData("unlearn.trainer.lr", "expected --set key.path=value")]
    [InlineData("=3", "expected --set key.path=value")]
    [InlineData("evaluate.splits.5=x", "'5' is not an index of this list (it has 2 items: 0..1)")]
    [InlineData("evaluate.splits.first=x", "'first' is not an index of this list")]
    [InlineData("name.inner=x", "cannot set a key below a value")]
    [InlineData("seed=[1, 2", "YAML syntax error")]
    public void BadSetIsRefused(string assignment, string expected)
    {
        var path = _files.Write("p.yaml", "name: p\nevaluate:\n  splits: [forget, retain]\n");
        var root = PipelineDocument.Load(path);
        var e = Assert.Throws<PipelineException>(() => PipelineDocument.ApplyOverride(root, assignment));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void SweepExpandsTheGridWithLabelsAndFolderNames()
    {
        var path = _files.Write("sweep.yaml",
            "name: s\nunlearn:\n  method: ga\nsweep:\n  unlearn.trainer.lr: [1e-4, 3e-4]\n  unlearn.trainer.epochs: [1, 2, 3]\n");
        var runs = SweepExpander.Expand(PipelineDocument.Load(path));

        Assert.Equal(6, runs.Count);
        Assert.Equal("unlearn.trainer.lr=1e-4,unlearn.trainer.epochs=1", runs[0].Label);
        Assert.Equal("unlearn.trainer.lr=1e-4,unlearn.trainer.epochs=2", runs[1].Label);
        Assert.Equal("unlearn.trainer.lr=3e-4,unlearn.trainer.epochs=3", runs[5].Label);
        Assert.Equal("lr-1e-4_epochs-1", runs[0].FolderName);
        Assert.Equal(6, runs.Select(r => r.FolderName).Distinct().Count());
        foreach (var run in runs)
        {
            Assert.Null(run.Tree["sweep"]);
            var spec = PipelineBinder.Bind(run.Tree, path, []);
            Assert.Equal(run.Label, $"unlearn.trainer.lr={Value(run.Tree, "unlearn.trainer.lr")},unlearn.trainer.epochs={spec.Unlearn!.Trainer.Epochs}");
        }
        Assert.Equal([1e-4, 1e-4, 1e-4, 3e-4, 3e-4, 3e-4], runs.Select(r => PipelineBinder.Bind(r.Tree, path, []).Unlearn!.Trainer.Lr));
    }

    [Fact]
    public void SweepMappingValuesMergeIntoTheKeyAndNameTheKeysTheySet()
    {
        var path = _files.Write("methods.yaml",
            "name: s\nunlearn:\n  method: ga\n  trainer:\n    lr: 1e-4\n    epochs: 2\n" +
            "sweep:\n  unlearn:\n    - method: gd\n    - {method: rmu, trainer: {lr: 3e-3}}\n  seed: [0, 1]\n");
        var runs = SweepExpander.Expand(PipelineDocument.Load(path));

        Assert.Equal(["unlearn.method=gd,seed=0", "unlearn.method=gd,seed=1", "unlearn.method=rmu,unlearn.trainer.lr=3e-3,seed=0", "unlearn.method=rmu,unlearn.trainer.lr=3e-3,seed=1"],
            runs.Select(r => r.Label));
        Assert.Equal(["method-gd_seed-0", "method-gd_seed-1", "method-rmu_lr-3e-3_seed-0", "method-rmu_lr-3e-3_seed-1"], runs.Select(r => r.FolderName));
        var gd = PipelineBinder.Bind(runs[0].Tree, path, []).Unlearn!;
        var rmu = PipelineBinder.Bind(runs[2].Tree, path, []).Unlearn!;
        Assert.Equal(("gd", 1e-4, 2.0), (gd.Method.Name, gd.Trainer.Lr, gd.Trainer.Epochs));
        Assert.Equal(("rmu", 3e-3, 2.0), (rmu.Method.Name, rmu.Trainer.Lr, rmu.Trainer.Epochs)); // epochs kept from the base
        Assert.Equal("unlearn.trainer.lr=3e-3,seed=0", Unlearn.Host.Reporting.Comparison.SettingOf(runs[2].Label));
    }

    [Fact]
    public void SweepRefusesAnEmptyMappingAndKeepsFolderNamesDistinct()
    {
        var empty = _files.Write("empty-map.yaml", "name: p\nsweep:\n  unlearn: [{method: ga}, {}]\n");
        var e = Assert.Throws<PipelineException>(() => SweepExpander.Expand(PipelineDocument.Load(empty)));
        Assert.Equal("sweep.unlearn", e.KeyPath);
        Assert.Contains("empty mapping", e.Message);
        Assert.Equal(3, e.Location.Line);

        var clash = _files.Write("clash.yaml", "name: p\nsweep:\n  description: ['a b', 'a_b', 'a/b']\n");
        Assert.Equal(["description-a_b", "description-a_b_2", "description-a_b_3"],
            SweepExpander.Expand(PipelineDocument.Load(clash)).Select(r => r.FolderName));
    }

    [Fact]
    public void NoSweepIsOneUnlabelledRunAndAnEmptyAxisIsRefused()
    {
        var plain = _files.Write("plain.yaml", "name: p\n");
        var single = Assert.Single(SweepExpander.Expand(PipelineDocument.Load(plain)));
        Assert.Equal("", single.Label);

        var empty = _files.Write("empty.yaml", "name: p\nsweep:\n  seed: []\n");
        var e = Assert.Throws<PipelineException>(() => SweepExpander.Expand(PipelineDocument.Load(empty)));
        Assert.Equal("sweep.seed", e.KeyPath);
        Assert.Contains("empty", e.Message);
    }

    [Fact]
    public void ToYamlRoundTripsTheQuickstartAndAwkwardScalars()
    {
        var root = PipelineDocument.Load(HostTestPaths.Quickstart);
        PipelineDocument.ApplyOverride(root, "description=\"a: colon, # hash and 'quotes'\\nsecond line\"");
        PipelineDocument.ApplyOverride(root, "evaluate.max_items=null");
        PipelineDocument.ApplyOverride(root, "report.taus=[]");
        PipelineDocument.ApplyOverride(root, "name='007'");
        var yaml = PipelineDocument.ToYaml(root);
        var back = PipelineDocument.ParseText(new StringReader(yaml), "roundtrip.yaml");

        AssertSameTree(root, back, "");
        Assert.Equal(yaml, PipelineDocument.ToYaml(back));
        Assert.Equal("a: colon, # hash and 'quotes'\nsecond line", Value(back, "description"));
        Assert.Equal("007", Value(back, "name"));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(PipelineBinder.Bind(root, HostTestPaths.Quickstart, []).Unlearn!.Trainer),
                     System.Text.Json.JsonSerializer.Serialize(PipelineBinder.Bind(back, HostTestPaths.Quickstart, []).Unlearn!.Trainer));
    }

    private static void AssertSameTree(ConfigNode expected, ConfigNode actual, string path)
    {
        switch (expected)
        {
            case ConfigScalar s:
                Assert.Equal(s.Value, Assert.IsType<ConfigScalar>(actual).Value);
                break;
            case ConfigList l:
                var list = Assert.IsType<ConfigList>(actual);
                Assert.Equal(l.Items.Count, list.Items.Count);
                for (var i = 0; i < l.Items.Count; i++) AssertSameTree(l.Items[i], list.Items[i], $"{path}.{i}");
                break;
            case ConfigMap m:
                var map = Assert.IsType<ConfigMap>(actual);
                Assert.Equal(m.Entries.Keys, map.Entries.Keys);
                foreach (var (k, v) in m.Entries) AssertSameTree(v, map[k]!, $"{path}.{k}");
                break;
        }
    }

    [Fact]
    public void PipelinePluginFolderMustBeAllowedByTheUser()
    {
        var plugins = Directory.CreateDirectory(Path.Combine(_files.Dir, "my-plugins", "lab")).FullName;
        var path = _files.Write("with-plugins.yaml", "name: p\nplugins: [my-plugins/lab]\n");

        var e = Assert.Throws<PipelineException>(() => Bind(path));
        Assert.Equal("plugins", e.KeyPath);
        Assert.Contains("which you have not allowed", e.Message);
        Assert.Contains($"--plugins {plugins}", e.Message);
        Assert.Contains($"{path}:2:1:", e.Message);

        // A sibling folder whose name merely starts with the allowed one is not inside it.
        Assert.Throws<PipelineException>(() => Bind(path, Path.Combine(_files.Dir, "my-plug")));

        var allowedExact = Bind(path, plugins);
        Assert.Equal([plugins], allowedExact.PluginFolders);
        var allowedParent = Bind(path, Path.Combine(_files.Dir, "my-plugins"));
        Assert.Equal([plugins], allowedParent.PluginFolders);
    }

    [Fact]
    public void AnInvalidValueOverridingAnIncludedFileIsReportedWhereItIsWritten()
    {
        _files.Write("base.yaml", "name: inc\nlearn:\n  recipe: tiny-world\n  target:\n    epochs: 5\nunlearn:\n  method: ga\n  trainer:\n    lr: 1e-4\n");
        var epochs = _files.Write("epochs.yaml", "include: base.yaml\nlearn:\n  target:\n    epochs: -3\n");
        var e = Assert.Throws<PipelineException>(() => Bind(epochs));
        Assert.StartsWith($"{epochs}:4:", e.Message);
        Assert.Contains("epochs must be > 0, got -3", e.Message);

        var lr = _files.Write("lr.yaml", "include: base.yaml\nunlearn:\n  trainer:\n    lr: -1\n");
        e = Assert.Throws<PipelineException>(() => Bind(lr));
        Assert.StartsWith($"{lr}:4:", e.Message);
    }
}
