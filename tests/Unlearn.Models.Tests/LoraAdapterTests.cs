using Unlearn.Models;
using Unlearn.Tests;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class LoraAdapterTests
{
    private static readonly LoraSettings Settings = new(4, 8, 0, ["q_proj", "v_proj", "down_proj"]);

    private static Tensor Ids() => tensor(new long[,] { { 1, 5, 9, 2, 7, 3 }, { 4, 4, 8, 1, 6, 2 } });

    private static Tensor Logits(CausalLM model)
    {
        using var noGrad = no_grad();
        var ids = Ids();
        return model.Forward(ids, ones_like(ids)).Logits;
    }

    // A trained-looking adapter: B is zero after Create, so it is filled with noise.
    private static LoraAdapter Trained(CausalLM model, int seed)
    {
        var adapter = LoraAdapter.Create(model, Settings, seed);
        using var generator = new TorchSharp.torch.Generator((ulong)seed + 100);
        using (no_grad()) foreach (var p in adapter.Parameters) p.normal_(0, 0.05, generator);
        return adapter;
    }

    [Fact]
    public void AFreshAdapterLeavesTheModelUnchangedAndTrainsOnlyItsOwnWeights()
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.Llama, 1);
        var before = Logits(model);
        using var adapter = LoraAdapter.Create(model, Settings, 3);
        Assert.True(before.equal(Logits(model)).all().item<bool>());
        Assert.Equal(3 * TestModels.Llama.NumLayers, adapter.Modules.Count);
        Assert.Equal(2 * adapter.Modules.Count, adapter.Parameters.Count);

        foreach (var p in model.parameters()) p.requires_grad = false;
        model.train();
        var ids = Ids();
        model.Forward(ids, ones_like(ids)).Logits.log_softmax(-1).narrow(-1, 0, 3).sum().backward();
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        Assert.All(adapter.Parameters, p => Assert.NotNull(p.grad));
        Assert.Contains(adapter.Parameters, p => p.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void CheckpointedLayersGiveTheAdapterTheSameGradients()
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.Llama, 1);
        using var adapter = Trained(model, 7);
        foreach (var p in model.parameters()) p.requires_grad = false;
        model.train();
        List<Tensor> Gradients()
        {
            foreach (var p in adapter.Parameters) p.grad?.zero_();
            var ids = Ids();
            model.Forward(ids, ones_like(ids)).Logits.log_softmax(-1).narrow(-1, 0, 3).sum().backward();
            return adapter.Parameters.Select(p => p.grad!.clone()).ToList();
        }
        var plain = Gradients();
        model.GradientCheckpointing = true;
        var checkpointed = Gradients();
        Assert.All(plain.Zip(checkpointed), pair => Assert.True(pair.First.allclose(pair.Second, rtol: 1e-5, atol: 1e-7)));
        Assert.Contains(plain, g => g.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void AdaptedForwardEqualsTheMergedModelsForward()
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.Llama, 1);
        using var merged = model.Clone();
        using var adapter = Trained(model, 5);
        using (var other = Trained(merged, 5)) other.Merge();
        var adapted = Logits(model);
        using var plain = CausalLM.Create(TestModels.Llama, 1);
        Assert.False(adapted.allclose(Logits(plain), rtol: 0, atol: 1e-4), "the adapter should change the logits");
        Assert.True(adapted.allclose(Logits(merged), rtol: 1e-4, atol: 1e-5));
        adapter.Dispose();
        Assert.True(ModelWeights.AreIdentical(model, plain), "detaching leaves the base untouched");
        Assert.True(Logits(model).equal(Logits(plain)).all().item<bool>());
    }

    [Fact]
    public void APeftFolderRoundTripsWithPeftKeyNamesAndMergesToTheSameModel()
    {
        var dir = TestPaths.NewTempDir("lora-peft");
        try
        {
            using var scope = NewDisposeScope();
            using var model = CausalLM.Create(TestModels.Llama, 1);
            using var adapter = Trained(model, 7);
            adapter.Save(dir, "base-model");
            var keys = SafetensorsFile.Open(Path.Combine(dir, LoraAdapter.WeightsFile)).Entries.Keys.ToList();
            Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", keys);
            Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", keys);
            Assert.Equal(2 * adapter.Modules.Count, keys.Count);
            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, LoraAdapter.ConfigFile)))!;
            Assert.Equal("LORA", config["peft_type"]!.GetValue<string>());
            Assert.Equal(4, config["r"]!.GetValue<int>());

            using var fresh = CausalLM.Create(TestModels.Llama, 1);
            using var loaded = LoraAdapter.Load(fresh, dir);
            Assert.True(Logits(model).equal(Logits(fresh)).all().item<bool>());
            using var mergedA = CausalLM.Create(TestModels.Llama, 1);
            using var mergedB = CausalLM.Create(TestModels.Llama, 1);
            using (var a = LoraAdapter.Load(mergedA, dir)) a.Merge();
            using (var b = LoraAdapter.Load(mergedB, dir)) b.Merge();
            Assert.True(ModelWeights.AreIdentical(mergedA, mergedB));
            Assert.True(Logits(mergedA).allclose(Logits(fresh), rtol: 1e-4, atol: 1e-5));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.35)]
    [InlineData(0.8)]
    [InlineData(1.0)]
    public void ScalingTheAdapterByAlphaEqualsMixingTheMergedWeightsAtAlpha(double alpha)
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.Llama, 1);
        using var baseCopy = model.Clone();
        using var merged = model.Clone();
        using var mixed = model.Clone();
        using (var m = Trained(merged, 9)) m.Merge();
        using var adapter = Trained(model, 9);
        adapter.Strength = alpha;
        ModelWeights.Interpolate(mixed, baseCopy, merged, alpha);
        if (alpha == 0) Assert.True(Logits(model).equal(Logits(baseCopy)).all().item<bool>());
        Assert.True(Logits(model).allclose(Logits(mixed), rtol: 1e-4, atol: 1e-5), $"alpha {alpha}");
    }

    [Fact]
    public void TheAdapterMixerIsTheBaseAtZeroTheMergedModelAtOneAndTheMixOfBothBetween()
    {
        var root = TestPaths.NewTempDir("lora-mixer");
        try
        {
            using var scope = NewDisposeScope();
            var (baseDir, adapterDir) = (Path.Combine(root, "base"), Path.Combine(root, "adapter"));
            using var baseModel = CausalLM.Create(TestModels.Llama, 1);
            baseModel.Save(baseDir);
            using (var adapter = Trained(baseModel, 11)) adapter.Save(adapterDir, baseDir);
            using var merged = LoraAdapter.LoadMerged(baseDir, adapterDir);
            Assert.False(ModelWeights.AreIdentical(merged, baseModel));
            using var mixer = IModelMixer.Open(baseDir, adapterDir);
            Assert.IsType<AdapterMixer>(mixer);
            using var expected = baseModel.Clone();
            foreach (var alpha in new[] { 0.6, 0.0, 1.0, 0.25, 1.0, 0.0 })
            {
                var mixed = mixer.Mix(alpha);
                Assert.Same(mixer.Model, mixed);
                if (alpha == 0) Assert.True(ModelWeights.AreIdentical(mixed, baseModel), "alpha 0 is the base exactly");
                else if (alpha == 1) Assert.True(ModelWeights.AreIdentical(mixed, merged), "alpha 1 is the merged model exactly");
                ModelWeights.Interpolate(expected, baseModel, merged, alpha);
                Assert.True(ModelWeights.MaxAbsDifference(mixed, expected) < 1e-6, $"alpha {alpha}: {ModelWeights.MaxAbsDifference(mixed, expected)}");
            }
            using var full = IModelMixer.Open(baseDir, baseDir);
            Assert.IsType<CheckpointMixer>(full);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void BadSettingsAndFoldersAreRefusedNamingWhatToFix()
    {
        var dir = TestPaths.NewTempDir("lora-bad");
        try
        {
            using var model = CausalLM.Create(TestModels.Llama, 1);
            var unknown = Assert.Throws<ArgumentException>(() => LoraAdapter.Create(model, Settings with { TargetModules = ["q_porj"] }, 1));
            Assert.Contains("q_porj", unknown.Message);
            Assert.Contains("q_proj", unknown.Message);
            Assert.Contains("rank", Assert.Throws<ArgumentException>(() => LoraAdapter.Create(model, Settings with { Rank = 0 }, 1)).Message);
            Assert.Contains(LoraAdapter.ConfigFile, Assert.Throws<FileNotFoundException>(() => LoraAdapter.Load(model, dir)).Message);
            using (var adapter = LoraAdapter.Create(model, Settings, 1)) adapter.Save(dir, "base");
            File.WriteAllText(Path.Combine(dir, LoraAdapter.ConfigFile), File.ReadAllText(Path.Combine(dir, LoraAdapter.ConfigFile)).Replace("\"use_rslora\": false", "\"use_rslora\": true"));
            Assert.Contains("use_rslora", Assert.Throws<InvalidDataException>(() => LoraAdapter.Load(model, dir)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
