using Unlearn.Models;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class GradientCheckpointTests
{
    public static TheoryData<string, bool> Cases => new()
    {
        { "gpt2", false }, { "llama", false }, { "qwen2", false }, { "phi", false },
        { "llama", true }, // embeddings frozen: the first layer's input needs no gradient
    };

    private static Dictionary<string, Tensor> Gradients(CausalLM model, Tensor ids)
    {
        foreach (var p in model.parameters()) p.grad?.zero_();
        // The loss leaves the scope of its forward pass, as an objective's does: backward runs after the pass's own
        // tensors (rotary tables, mask) have been freed by that scope.
        Tensor loss;
        using (var pass = NewDisposeScope())
            loss = model.Forward(ids, ones_like(ids)).Logits.log_softmax(-1).narrow(-1, 0, 7).sum().MoveToOuterDisposeScope();
        loss.backward();
        return model.named_parameters().Where(p => p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CheckpointedGradientsEqualThePlainOnes(string family, bool freezeEmbeddings)
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.ByName(family), 4);
        model.train();
        if (freezeEmbeddings)
            foreach (var (name, p) in model.named_parameters())
                if (name.Contains("embed", StringComparison.Ordinal)) p.requires_grad = false;
        var ids = tensor(new long[,] { { 1, 5, 9, 2, 7, 3 }, { 4, 4, 8, 1, 6, 2 } });
        // Layer 0's forward is observed through a hook on one of its modules: it runs once per step plainly, and once
        // more in backward (the recomputation) when checkpointed.
        var calls = 0;
        var observed = model.named_modules()
            .First(m => (m.name.Contains("layers.0.", StringComparison.Ordinal) || m.name.Contains("h.0.", StringComparison.Ordinal)) && m.module is nn.Module<Tensor, Tensor>)
            .module as nn.Module<Tensor, Tensor>;
        observed!.register_forward_hook((_, _, o) => { calls++; return o; });
        var plain = Gradients(model, ids);
        Assert.Equal(1, calls);
        model.GradientCheckpointing = true;
        var checkpointed = Gradients(model, ids);
        Assert.Equal(3, calls);
        Assert.Equal(plain.Keys.Order(), checkpointed.Keys.Order());
        foreach (var (name, g) in plain)
            Assert.True(g.allclose(checkpointed[name], rtol: 1e-5, atol: 1e-7), $"{family}: gradient of {name} differs by {(g - checkpointed[name]).abs().max().item<float>()}");
        Assert.Contains(plain.Values, g => g.abs().sum().item<float>() > 0);

        // Without grad (evaluation) the flag changes nothing.
        using (no_grad())
        {
            var a = model.Forward(ids, ones_like(ids)).Logits;
            model.GradientCheckpointing = false;
            Assert.True(a.equal(model.Forward(ids, ones_like(ids)).Logits).all().item<bool>());
        }
    }
}
