using TorchSharp;
using Unlearn.Plugins;
using Unlearn.Plugins.GradientAscent;
using static TorchSharp.torch;

namespace Unlearn.Objectives.Tests;

[Collection(TinyWorldCollection.Name)]
public class RmuTests(TinyWorld world)
{
    /// <summary>The tiny model reporting another hidden size (Prepare without norm scaling never runs it).</summary>
    private sealed class Redescribed(ILanguageModel inner, ModelDescription description) : ILanguageModel
    {
        public ModelDescription Description => description;
        public nn.Module Module => inner.Module;
        public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false) => inner.Forward(inputIds, attentionMask, outputHiddenStates);
        public Tensor Head(Tensor hidden) => inner.Head(hidden);
    }

    [Fact]
    public void SteeringDirectionIsAUnitVectorSizedFromTheModelAndFixedBySeed()
    {
        var model = world.NewModel();
        var wide = new Redescribed(model, model.Description with { HiddenSize = 40, NumLayers = 6 });
        var rmu = new RmuObjective(new RmuOptions { ScaleSteeringToHiddenNorm = false });
        rmu.Prepare(TinyWorld.Setup(wide, new CharacterEncoder(), seed: 5));
        Assert.Equal(40, rmu.SteeringDirection.Count);
        Assert.Equal(1.0, Math.Sqrt(rmu.SteeringDirection.Sum(v => (double)v * v)), 5);
        Assert.Equal(3, rmu.Layer); // NumLayers / 2
        var first = rmu.SteeringDirection.ToArray();

        rmu.Prepare(TinyWorld.Setup(wide, new CharacterEncoder(), seed: 5));
        Assert.Equal(first, rmu.SteeringDirection);
        rmu.Prepare(TinyWorld.Setup(wide, new CharacterEncoder(), seed: 6));
        Assert.NotEqual(first, rmu.SteeringDirection);

        rmu.Prepare(TinyWorld.Setup(model, new CharacterEncoder()));
        Assert.Equal(TinyLanguageModel.Hidden, rmu.SteeringDirection.Count);
        Assert.Equal(6.5, rmu.EffectiveSteeringCoefficient);
    }

    [Fact]
    public void LossIsForgetSteeringDistancePlusAlphaRetainActivationDistance()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var reference = world.NewModel();
        var model = world.NewModel();
        AscentTests.Perturb(model, 0.1);
        var rmu = new RmuObjective(new RmuOptions { Alpha = 3.0, Layer = 2, SteeringCoefficient = 4.0, ScaleSteeringToHiddenNorm = false });
        rmu.Prepare(TinyWorld.Setup(model, encoder));
        var batch = TinyWorld.Batch(encoder);
        var loss = rmu.ComputeLoss(TinyWorld.Context(model, encoder, reference), batch);

        var u = rmu.SteeringDirection.Select(v => (double)v).ToArray();
        var forgetHidden = Hidden(model, batch.Forget, 2);
        var forgetDistance = MeanOverAnswers(batch.Forget, (b, t) => forgetHidden[b][t].Select((h, j) => Math.Pow(h - 4.0 * u[j], 2)).Sum());
        var retainHidden = Hidden(model, batch.Retain!, 2);
        var referenceHidden = Hidden(reference, batch.Retain!, 2);
        var retainDistance = MeanOverAnswers(batch.Retain!, (b, t) => retainHidden[b][t].Select((h, j) => Math.Pow(h - referenceHidden[b][t][j], 2)).Sum());
        Assert.True(retainDistance > 1e-3);
        Hand.Close(forgetDistance, loss.Logs["forget_activation_distance"]);
        Hand.Close(retainDistance, loss.Logs["retain_activation_distance"]);
        Hand.Close(forgetDistance + 3.0 * retainDistance, loss.Loss.item<float>());
    }

    [Fact]
    public void SteeringCoefficientCanBeScaledToTheTypicalHiddenNorm()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var rmu = new RmuObjective(new RmuOptions { ScaleSteeringToHiddenNorm = true, SteeringCoefficient = 2.0 });
        rmu.Prepare(TinyWorld.Setup(model, encoder));
        var forget = new CharacterEncoder().Encode(TinyWorld.ForgetItems.Select(i => (i.Question, i.Answer)).ToList());
        var hidden = Hidden(model, forget, 1);
        var norm = MeanOverAnswers(forget, (b, t) => Math.Sqrt(hidden[b][t].Sum(h => h * h)));
        Hand.Close(norm, rmu.MeasuredHiddenNorm!.Value);
        Hand.Close(2.0 * norm, rmu.EffectiveSteeringCoefficient);
    }

    [Theory]
    [InlineData(null, new int[0], new[] { "model.layers.0.mlp." })]
    [InlineData(2, new int[0], new[] { "model.layers.0.mlp.", "model.layers.1.mlp." })]
    [InlineData(1, new[] { 2 }, new[] { "model.layers.1.mlp." })]
    public void SelectTrainableReturnsTheMlpWeightsOfTheUpdatedLayers(int? layer, int[] updateLayers, string[] prefixes)
    {
        var model = world.NewModel();
        IObjective rmu = new RmuObjective(new RmuOptions { Layer = layer, UpdateLayers = updateLayers });
        var selected = rmu.SelectTrainable(model)!; // through the interface, as the host calls it
        var expected = model.Module.named_parameters().Where(p => prefixes.Any(x => p.name.StartsWith(x, StringComparison.Ordinal))).ToList();
        Assert.Equal(4 * prefixes.Length, expected.Count);
        Assert.Equal(expected.Select(p => p.parameter.Handle).Order(), selected.Select(p => p.Handle).Order());
    }

    [Fact]
    public void ComputeLossBeforePrepareFails()
    {
        var encoder = new CharacterEncoder();
        var rmu = new RmuObjective(new RmuOptions());
        Assert.Throws<InvalidOperationException>(() => rmu.ComputeLoss(TinyWorld.Context(world.NewModel(), encoder, world.NewModel()), TinyWorld.Batch(encoder)));
    }

    private static double[][][] Hidden(ILanguageModel model, TokenBatch batch, int layer)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var h = model.Forward(batch.InputIds, batch.AttentionMask, outputHiddenStates: true).HiddenStates![layer].to_type(ScalarType.Float64).cpu();
        var (b, t, d) = ((int)h.shape[0], (int)h.shape[1], (int)h.shape[2]);
        var flat = h.data<double>().ToArray();
        return Enumerable.Range(0, b).Select(i => Enumerable.Range(0, t).Select(j => flat.AsSpan((i * t + j) * d, d).ToArray()).ToArray()).ToArray();
    }

    /// <summary>Mean of <paramref name="value"/> over positions whose own label is an answer token.</summary>
    private static double MeanOverAnswers(TokenBatch batch, Func<int, int, double> value)
    {
        var labels = Hand.Rows(batch.Labels);
        var values = new List<double>();
        for (var b = 0; b < labels.Length; b++)
            for (var t = 0; t < labels[b].Length; t++)
                if (labels[b][t] != TokenBatch.IgnoreIndex) values.Add(value(b, t));
        return values.Average();
    }
}
