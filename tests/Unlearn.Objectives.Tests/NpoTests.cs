using Unlearn.Plugins;
using Unlearn.Plugins.GradientAscent;
using static TorchSharp.torch;

namespace Unlearn.Objectives.Tests;

[Collection(TinyWorldCollection.Name)]
public class NpoTests(TinyWorld world)
{
    // ℓ_ref per forget item of the split (indexed like the split), deliberately unlike the model's own values.
    private static readonly double[] ReferenceLosses = [21.0, 14.5, 30.25, 9.0];
    private static readonly int[] Order = [3, 1, 0, 2];

    private static double NpoByHand(double[] current, IReadOnlyList<int> indices, double beta) =>
        -(2 / beta) * current.Select((l, i) => Hand.LogSigmoid(beta * (l - ReferenceLosses[indices[i]]))).Average();

    [Fact]
    public void NpoUsesPrecomputedReferenceLossesByForgetIndex()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder, Order, withRetain: false);
        var objective = new NpoObjective(0.5, RetainTerm.None, 0);
        Assert.Equal(ObjectiveNeeds.ReferenceForgetLoss, objective.Needs); // no reference model, no retain batch
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder, referenceForgetLoss: ReferenceLosses), batch);
        var expected = NpoByHand(Hand.SequenceNll(model, batch.Forget), Order, 0.5);
        Hand.Close(expected, loss.Loss.item<float>());
    }

    [Fact]
    public void NpoEqualsTwoOverBetaLogTwoWhenTheModelIsTheReference()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder, withRetain: false);
        var own = Hand.SequenceNll(model, batch.Forget);
        var loss = new NpoObjective(0.5, RetainTerm.None, 0).ComputeLoss(TinyWorld.Context(model, encoder, referenceForgetLoss: own), batch);
        Hand.Close(2 / 0.5 * Math.Log(2), loss.Loss.item<float>());
    }

    [Fact]
    public void NpoGdAddsLambdaTimesRetainNll()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder, Order);
        var objective = new NpoObjective(0.8, RetainTerm.Nll, 1.5);
        Assert.Equal(ObjectiveNeeds.ReferenceForgetLoss | ObjectiveNeeds.RetainBatch, objective.Needs);
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder, referenceForgetLoss: ReferenceLosses), batch);
        var expected = NpoByHand(Hand.SequenceNll(model, batch.Forget), Order, 0.8) + 1.5 * Hand.MeanNll(model, batch.Retain!);
        Hand.Close(expected, loss.Loss.item<float>());
    }

    [Theory]
    [InlineData(0.5, 2.0)]
    [InlineData(2.0, 0.5)]
    [InlineData(0.1, 0.1)]
    public void NpoKlKeepsBetaAndLambdaSeparate(double beta, double lambda)
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var reference = world.NewModel();
        var model = world.NewModel();
        AscentTests.Perturb(model, 0.2);
        var batch = TinyWorld.Batch(encoder, Order);
        var objective = CreateFromCatalog<NpoRetainOptions>("npo-kl", new NpoRetainOptions { Beta = beta, RetainWeight = lambda });
        Assert.Equal(ObjectiveNeeds.ReferenceForgetLoss | ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel, objective.Needs);
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder, reference, ReferenceLosses), batch);

        var retain = batch.Retain!;
        var labels = Hand.Rows(retain.Labels);
        var kl = Hand.MeanKl(Hand.Logits(reference.Forward(retain.InputIds, retain.AttentionMask).Logits),
            Hand.Logits(model.Forward(retain.InputIds, retain.AttentionMask).Logits), (b, t) => labels[b][t + 1] != TokenBatch.IgnoreIndex);
        var expected = NpoByHand(Hand.SequenceNll(model, batch.Forget), Order, beta) + lambda * kl;
        Hand.Close(expected, loss.Loss.item<float>());
    }

    [Fact]
    public void SimNpoIsLengthNormalisedWithoutReference()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder, withRetain: false);
        var objective = new SimNpoObjective(2.5, 0.4, 0);
        Assert.Equal(ObjectiveNeeds.None, objective.Needs);
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder), batch);

        var z = Hand.Logits(model.Forward(batch.Forget.InputIds, batch.Forget.AttentionMask).Logits);
        var nlls = Hand.TokenNlls(z, Hand.Rows(batch.Forget.Labels));
        // |a_i| counts the answer tokens with EOS: the characters of the answer plus one.
        Assert.Equal(TinyWorld.ForgetItems.Select(i => i.Answer.Length + 1), nlls.Select(s => s.Count));
        var expected = -(2 / 2.5) * nlls.Select(s => Hand.LogSigmoid(2.5 / s.Count * s.Sum() - 0.4)).Average();
        Hand.Close(expected, loss.Loss.item<float>());
    }

    internal static IObjective CreateFromCatalog<TOptions>(string name, TOptions options) where TOptions : class, new()
    {
        var catalog = new RecordingCatalog();
        new GradientAscentModule().Register(catalog);
        return catalog.Create(name, options);
    }
}
