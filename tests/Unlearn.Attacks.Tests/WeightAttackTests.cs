using Unlearn.Plugins;
using Unlearn.Plugins.Attacks.Weights;
using static TorchSharp.torch;

namespace Unlearn.Attacks.Tests;

public sealed class WeightAttackTests
{
    [Fact]
    public void FourBitPerChannelRoundTripMatchesAHandComputedCase()
    {
        // Row 1: scale 1/7; w/scale = 7, -3.15, 1.75 -> 7, -3, 2. Row 2: scale 0.3/7; 0.1/s = 2.33 -> 2,
        // 0.2/s = 4.67 -> 5, -0.3/s = -7.
        using var weight = tensor(new float[] { 1f, -0.45f, 0.25f, 0.1f, 0.2f, -0.3f }, 2, 3);
        var quantized = QuantizeAttack.RoundTrip(weight, bits: 4, groupSize: null).data<float>().ToArray();
        float[] expected = [1f, -3f / 7, 2f / 7, 2 * 0.3f / 7, 5 * 0.3f / 7, -0.3f];
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], quantized[i], 1e-6f);
    }

    [Theory]
    [InlineData(8, null)]
    [InlineData(4, null)]
    [InlineData(8, 16)]
    [InlineData(4, 16)]
    [InlineData(4, 7)]
    public void ErrorIsAtMostHalfAStepOfTheWeightsGroup(int bits, int? groupSize)
    {
        using var generator = new Generator(3);
        using var weight = randn([6, 48], generator: generator);
        using var quantized = QuantizeAttack.RoundTrip(weight, bits, groupSize);
        var qmax = (1 << (bits - 1)) - 1;
        var w = weight.data<float>().ToArray();
        var q = quantized.data<float>().ToArray();
        var group = groupSize ?? 48;
        for (var row = 0; row < 6; row++)
        for (var start = 0; start < 48; start += group)
        {
            var cells = Enumerable.Range(row * 48 + start, Math.Min(group, 48 - start)).ToList();
            var step = cells.Max(i => Math.Abs(w[i])) / qmax;
            foreach (var i in cells) Assert.True(Math.Abs(w[i] - q[i]) <= step / 2 + 1e-6, $"weight {i}: |{w[i]} - {q[i]}| > {step / 2}");
            // Each value is an integer multiple of the group's step within ±q_max steps.
            foreach (var i in cells) Assert.Equal(Math.Round(q[i] / step), q[i] / step, 3);
        }
        Assert.NotEqual(w, q);
    }

    [Fact]
    public void QuantizeChangesMatricesAndKeepsVectors()
    {
        using var world = new TinyWorld();
        var before = world.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter.clone());
        new QuantizeAttack(new QuantizeOptions { Bits = 4 }).AttackWeights(world.Setup());
        foreach (var (name, parameter) in world.Model.named_parameters())
        {
            var same = parameter.allclose(before[name], rtol: 0, atol: 0);
            Assert.True(parameter.dim() < 2 ? same : !same, $"{name} ({parameter.dim()}-d) {(same ? "unchanged" : "changed")}");
        }
    }

    [Theory]
    [InlineData(6, null, "bits must be 8 or 4, got 6")]
    [InlineData(8, 0, "group_size must be >= 1, got 0")]
    public void BadQuantizeOptionsAreNamed(int bits, int? groupSize, string message) =>
        Assert.Equal([message], new QuantizeOptions { Bits = bits, GroupSize = groupSize }.Validate());

    [Fact]
    public void RelearnLowersTheForgetNll()
    {
        using var world = new TinyWorld();
        var pairs = TinyWorld.Forget.Items.Select(i => (i.Question, i.Answer)).ToList();
        var before = MeanNll(world, pairs);
        new RelearnAttack(new RelearnOptions { Fraction = 1, Steps = 6, LearningRate = 3e-3 }).AttackWeights(world.Setup());
        var after = MeanNll(world, pairs);
        Assert.True(after < before - 0.5, $"forget NLL per token {before:F3} -> {after:F3}");
        Assert.False(world.Model.training);
    }

    [Fact]
    public void RelearnSubsetIsSeededAndInSplitOrder()
    {
        var items = TinyWorld.Forget.Items;
        var subset = RelearnAttack.Subset(items, 0.5, seed: 1);
        Assert.Equal(4, subset.Count);
        Assert.Equal(subset, RelearnAttack.Subset(items, 0.5, seed: 1));
        Assert.NotEqual(subset, RelearnAttack.Subset(items, 0.5, seed: 2));
        var positions = subset.Select(i => items.ToList().IndexOf(i)).ToList();
        Assert.Equal(positions.Order(), positions);
    }

    private static double MeanNll(TinyWorld world, IReadOnlyList<(string, string)> pairs)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (nll, mask) = AnswerLoss.TokenNll(world.Model, world.Encoder.Encode(pairs));
        return ((nll * mask).sum() / mask.sum()).item<float>();
    }
}
