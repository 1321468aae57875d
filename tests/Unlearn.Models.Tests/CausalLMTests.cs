using TorchSharp;
using Unlearn.Models;
using Unlearn.Tests;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class CausalLMTests
{
    private static Tensor Ids(long[,] values) => tensor(values);

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void ForwardGivesLogitsAndLayerOutputsThatTheHeadTurnsIntoTheSameLogits(string family)
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.ByName(family), seed: 1);
        var ids = Ids(new long[,] { { 1, 2, 3, 4, 5 }, { 6, 7, 8, 9, 10 } });
        var output = model.Forward(ids, ones_like(ids), outputHiddenStates: true);
        Assert.Equal(new long[] { 2, 5, 50 }, output.Logits.shape);
        Assert.Equal(3, output.HiddenStates!.Count);
        var viaHead = model.Head(output.HiddenStates[^1]);
        Assert.True(viaHead.allclose(output.Logits, rtol: 0, atol: 1e-6));
        Assert.False(output.Logits.isnan().any().item<bool>());
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void APassLeavesTheSameTensorsInTheCallersScopeWhateverTheDepth(string family)
    {
        // Each layer's temporaries are freed when the layer returns: a deeper model leaves no more tensors alive in the
        // caller's scope (on a 1B model, all layers' activations of a scoring batch were gigabytes held until it ended).
        int Survivors(int layers, bool grad, bool checkpointing)
        {
            using var model = CausalLM.Create(TestModels.ByName(family) with { NumLayers = layers }, seed: 1);
            model.GradientCheckpointing = checkpointing;
            using var ids = Ids(new long[,] { { 1, 2, 3, 4, 5 }, { 6, 7, 8, 9, 10 } });
            using var mask = ones_like(ids);
            using var gradMode = grad ? enable_grad() : no_grad();
            using var scope = NewDisposeScope();
            var logits = model.Forward(ids, mask).Logits;
            var survivors = scope.DisposablesCount;
            if (grad)
            {
                logits.sum().backward(); // what backward needs the engine kept
                Assert.All(model.parameters(), p => Assert.NotNull(p.grad));
            }
            return survivors;
        }
        foreach (var (grad, checkpointing) in new[] { (false, false), (true, false), (true, true) })
            Assert.Equal(Survivors(2, grad, checkpointing), Survivors(6, grad, checkpointing));
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void LogitsAtAPositionDoNotDependOnLaterTokens(string family)
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.ByName(family), seed: 2);
        var a = Ids(new long[,] { { 1, 2, 3, 4, 5 } });
        var b = Ids(new long[,] { { 1, 2, 3, 40, 41 } });
        var la = model.Forward(a, ones_like(a)).Logits.narrow(1, 0, 3);
        var lb = model.Forward(b, ones_like(b)).Logits.narrow(1, 0, 3);
        Assert.True(la.allclose(lb, rtol: 0, atol: 1e-5));
        var l4a = model.Forward(a, ones_like(a)).Logits.narrow(1, 3, 1);
        var l4b = model.Forward(b, ones_like(b)).Logits.narrow(1, 3, 1);
        Assert.False(l4a.allclose(l4b, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void CreateIsDeterministicPerSeed()
    {
        using var a = CausalLM.Create(TestModels.Llama, 7);
        using var b = CausalLM.Create(TestModels.Llama, 7);
        using var c = CausalLM.Create(TestModels.Llama, 8);
        Assert.True(ModelWeights.AreIdentical(a, b));
        Assert.False(ModelWeights.AreIdentical(a, c));
    }

    [Fact]
    public void ParameterNamesAreHuggingFaceKeys()
    {
        using var gpt2 = CausalLM.Create(TestModels.Gpt2, 0);
        var names = gpt2.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("transformer.wte.weight", names);
        Assert.Contains("transformer.wpe.weight", names);
        Assert.Contains("transformer.h.0.attn.c_attn.weight", names);
        Assert.Contains("transformer.h.1.mlp.c_proj.bias", names);
        Assert.Contains("transformer.ln_f.weight", names);
        Assert.DoesNotContain("lm_head.weight", names); // tied
        Assert.Equal(new long[] { 32, 96 }, gpt2.named_parameters().Single(p => p.name == "transformer.h.0.attn.c_attn.weight").parameter.shape);

        using var llama = CausalLM.Create(TestModels.Llama, 0);
        names = llama.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var key in new[] { "model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.o_proj.weight",
                     "model.layers.1.mlp.gate_proj.weight", "model.layers.1.input_layernorm.weight", "model.layers.1.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight" })
            Assert.Contains(key, names);
        Assert.DoesNotContain("model.layers.0.self_attn.q_proj.bias", names);
        Assert.Equal(new long[] { 16, 32 }, llama.named_parameters().Single(p => p.name == "model.layers.0.self_attn.k_proj.weight").parameter.shape);

        using var qwen = CausalLM.Create(TestModels.Qwen2, 0);
        names = qwen.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);

        using var phi = CausalLM.Create(TestModels.Phi, 0);
        names = phi.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var key in new[] { "model.layers.0.self_attn.dense.weight", "model.layers.0.self_attn.dense.bias", "model.layers.0.mlp.fc1.weight",
                     "model.layers.0.input_layernorm.bias", "model.final_layernorm.weight", "lm_head.bias" })
            Assert.Contains(key, names);
    }

    [Fact]
    public void BuiltInTinyHasTheRequestedShapeAndSize()
    {
        var cfg = TransformerConfig.BuiltIn("tiny", 1000);
        Assert.Equal((128, 4, 4, 384, 256), (cfg.HiddenSize, cfg.NumLayers, cfg.NumHeads, cfg.IntermediateSize, cfg.MaxPositions));
        using var model = CausalLM.Create(cfg, 0);
        // embeddings 1000·128 (tied) + 4 layers · (4·128² + 3·128·384 + 2·128) + final norm 128
        Assert.Equal(1000L * 128 + 4 * (4L * 128 * 128 + 3L * 128 * 384 + 2 * 128) + 128, model.ParameterCount);
        using var small = CausalLM.Create(TransformerConfig.BuiltIn("small", 4000), 0);
        Assert.InRange(small.ParameterCount, 4_000_000, 7_000_000);
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void SaveThenLoadIsBitIdentical(string family)
    {
        var dir = TestPaths.NewTempDir("models-save");
        try
        {
            using var model = CausalLM.Create(TestModels.ByName(family), 3);
            model.Save(dir);
            using var loaded = CausalLM.Load(dir);
            Assert.Equal(model.Config, loaded.Config);
            Assert.True(ModelWeights.AreIdentical(model, loaded));
            using var scope = NewDisposeScope();
            var ids = Ids(new long[,] { { 3, 1, 4, 1, 5, 9 } });
            Assert.True(model.Forward(ids, ones_like(ids)).Logits.equal(loaded.Forward(ids, ones_like(ids)).Logits).all().item<bool>());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void NonFiniteWeightsAreReportedWhenAModelLoads()
    {
        var dir = TestPaths.NewTempDir("models-nan");
        try
        {
            using var model = CausalLM.Create(TestModels.Llama, 3);
            using (no_grad())
            {
                var weight = model.named_parameters().Single(p => p.name == "model.layers.0.mlp.up_proj.weight").parameter;
                weight[0, 0].fill_(float.NaN);
                weight[1, 2].fill_(float.PositiveInfinity);
            }
            model.Save(dir);
            var e = Assert.Throws<InvalidDataException>(() => CausalLM.Load(dir));
            Assert.Contains($"{dir}: weight 'model.layers.0.mlp.up_proj.weight' holds 2 non-finite values (NaN or infinity)", e.Message);
            Assert.Contains("diverged training run", e.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void CloneIsIndependent()
    {
        using var model = CausalLM.Create(TestModels.Phi, 4);
        using var copy = model.Clone();
        Assert.True(ModelWeights.AreIdentical(model, copy));
        using (no_grad()) copy.parameters().First().add_(1.0);
        Assert.False(ModelWeights.AreIdentical(model, copy));
        Assert.Equal(1.0, ModelWeights.MaxAbsDifference(model, copy), 6);
    }

    [Fact]
    public void InterpolateReproducesEndpointsExactlyAndMixesLinearly()
    {
        using var a = CausalLM.Create(TestModels.Llama, 10);
        using var b = CausalLM.Create(TestModels.Llama, 11);
        using var dst = CausalLM.Create(TestModels.Llama, 12);
        ModelWeights.Interpolate(dst, a, b, 0.0);
        Assert.True(ModelWeights.AreIdentical(dst, a));
        ModelWeights.Interpolate(dst, a, b, 1.0);
        Assert.True(ModelWeights.AreIdentical(dst, b));
        ModelWeights.Interpolate(dst, a, b, 0.25);
        using var scope = NewDisposeScope();
        var pa = a.named_parameters().First().parameter;
        var pb = b.named_parameters().First().parameter;
        var pd = dst.named_parameters().First().parameter;
        Assert.True(pd.allclose(pa * 0.75 + pb * 0.25, rtol: 0, atol: 1e-7));
        Assert.All(dst.parameters(), p => Assert.Null(p.grad));
    }
}
