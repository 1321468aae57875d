using Unlearn.Plugins;
using Unlearn.Plugins.Attacks.Readout;
using static TorchSharp.torch;

namespace Unlearn.Attacks.Tests;

public sealed class ProbeAttackTests
{
    [Theory]
    [InlineData(-1)]
    [InlineData(4)]
    public void ProbeAtTheLastLayerEqualsTheNormalLogits(int layer)
    {
        using var world = new TinyWorld();
        using var scope = NewDisposeScope();
        var batch = world.Encoder.Encode([("Where was Ada born?", "In Lyon."), ("Who?", "Her aunt.")]);
        var probed = new LogitLensAttack(new LogitLensOptions { Layer = layer }).ReadThrough(world.Model);
        var normal = world.Model.Forward(batch.InputIds, batch.AttentionMask).Logits;
        Assert.True(probed.Forward(batch.InputIds, batch.AttentionMask).Logits.allclose(normal, rtol: 0, atol: 1e-6));
        Assert.True(probed.Head(probed.LastHiddenState(batch.InputIds, batch.AttentionMask)).allclose(normal, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void ProbeAtAnEarlierLayerReadsThatLayersHiddenState()
    {
        using var world = new TinyWorld();
        using var scope = NewDisposeScope();
        var batch = world.Encoder.Encode([("Where was Ada born?", "In Lyon.")]);
        var hidden = world.Model.Forward(batch.InputIds, batch.AttentionMask, outputHiddenStates: true).HiddenStates!;
        var probed = new LogitLensAttack(new LogitLensOptions { Layer = 2 }).ReadThrough(world.Model);
        var logits = probed.Forward(batch.InputIds, batch.AttentionMask).Logits;
        Assert.True(logits.allclose(world.Model.Head(hidden[2]), rtol: 0, atol: 1e-6));
        Assert.False(logits.allclose(world.Model.Forward(batch.InputIds, batch.AttentionMask).Logits, rtol: 0, atol: 1e-3));
        Assert.True(new LogitLensAttack(new LogitLensOptions { Layer = -3 }).ReadThrough(world.Model).Forward(batch.InputIds, batch.AttentionMask).Logits.allclose(logits));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(-6)]
    public void LayerOutsideTheModelIsNamed(int layer)
    {
        using var world = new TinyWorld();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new LogitLensAttack(new LogitLensOptions { Layer = layer }).ReadThrough(world.Model));
        Assert.StartsWith($"probe layer {layer} is outside the model's hidden states 0..4 (or -5..-1)", e.Message);
        // The planner asks the options the same question before any training, with the shape config.json gives.
        var problem = Assert.Single(new LogitLensOptions { Layer = layer }.Validate(new ModelShape("model.path", "llama", 4, 128)));
        Assert.Equal($"layer {layer} is outside the model's hidden states 0..4 (or -5..-1); set probe's layer within them (model.path has 4 layers)", problem);
        Assert.Empty(new LogitLensOptions { Layer = layer < 0 ? -5 : 4 }.Validate(new ModelShape("tiny", "llama", 4, 128)));
    }
}
