using TorchSharp;
using Unlearn.Plugins;
using Unlearn.Plugins.GradientAscent;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Unlearn.Objectives.Tests;

/// <summary>A few AdamW steps on the tiny pre-trained model, driven the way the host drives an objective.</summary>
[Collection(TinyWorldCollection.Name)]
public class TrainingTests(TinyWorld world, ITestOutputHelper output)
{
    private const int Steps = 15;
    private const double LearningRate = 0.01;
    private static readonly string[] ProbeRefusals = RefusalSet.BuiltIn.Phrasings.Take(5).ToArray();

    private sealed record Outcome(double ForgetBefore, double ForgetAfter, double RetainBefore, double RetainAfter, double RefusalBefore, double RefusalAfter);

    private Outcome Train(string name, object options)
    {
        var catalog = new RecordingCatalog();
        new GradientAscentModule().Register(catalog);
        var objective = catalog.Create(name, options);
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var reference = world.NewModel();
        var probe = TinyWorld.Batch(encoder);
        var refusalProbe = encoder.Encode(TinyWorld.ForgetItems.SelectMany(i => ProbeRefusals.Select(r => (i.Question, r))).ToList());
        var referenceForgetLoss = Hand.SequenceNll(reference, probe.Forget);
        var (forgetBefore, retainBefore, refusalBefore) = (Hand.MeanNll(model, probe.Forget), Hand.MeanNll(model, probe.Retain!), Hand.MeanNll(model, refusalProbe));

        objective.Prepare(TinyWorld.Setup(model, encoder));
        var parameters = objective.SelectTrainable(model) ?? model.Module.parameters().ToList();
        using var optimizer = optim.AdamW(parameters, lr: LearningRate);
        var needs = objective.Needs;
        for (var step = 0; step < Steps; step++)
        {
            using var scope = NewDisposeScope();
            var batch = TinyWorld.Batch(encoder, withRetain: needs.HasFlag(ObjectiveNeeds.RetainBatch));
            var context = TinyWorld.Context(model, encoder,
                needs.HasFlag(ObjectiveNeeds.ReferenceModel) ? reference : null,
                needs.HasFlag(ObjectiveNeeds.ReferenceForgetLoss) ? referenceForgetLoss : null, step);
            optimizer.zero_grad();
            var loss = objective.ComputeLoss(context, batch);
            loss.Loss.backward();
            optimizer.step();
        }

        var outcome = new Outcome(forgetBefore, Hand.MeanNll(model, probe.Forget), retainBefore, Hand.MeanNll(model, probe.Retain!), refusalBefore, Hand.MeanNll(model, refusalProbe));
        output.WriteLine($"{name}: {outcome}");
        return outcome;
    }

    [Theory]
    [InlineData("ga")]
    [InlineData("gd")]
    [InlineData("kl")]
    [InlineData("npo")]
    [InlineData("npo-gd")]
    [InlineData("npo-kl")]
    [InlineData("simnpo")]
    [InlineData("dpo")]
    [InlineData("wga")]
    [InlineData("satimp")]
    [InlineData("ce-u")]
    [InlineData("undial")]
    [InlineData("pdu")]
    public void ForgetNllRisesWithDefaultOptions(string name)
    {
        var catalog = new RecordingCatalog();
        new GradientAscentModule().Register(catalog);
        var outcome = Train(name, Activator.CreateInstance(catalog.Objectives.Single(o => o.Info.Name == name).Options)!);
        Assert.True(outcome.ForgetAfter > outcome.ForgetBefore + 0.1, $"{name}: forget NLL {outcome.ForgetBefore:F3} -> {outcome.ForgetAfter:F3}");
    }

    [Fact]
    public void RmuRaisesForgetNll()
    {
        // The tiny model's forget and retain answers share every token, so the default α = 100 pins the activations in
        // 15 steps; a smaller α and c scaled to the hidden norm let the forget NLL move.
        var outcome = Train("rmu", new RmuOptions { Alpha = 10, ScaleSteeringToHiddenNorm = true, SteeringCoefficient = 3 });
        Assert.True(outcome.ForgetAfter > outcome.ForgetBefore + 0.1, $"rmu: forget NLL {outcome.ForgetBefore:F3} -> {outcome.ForgetAfter:F3}");
    }

    [Fact]
    public void PoLowersTheRefusalNll()
    {
        var outcome = Train("po", new PoOptions());
        Assert.True(outcome.RefusalAfter < outcome.RefusalBefore - 0.1, $"refusal NLL {outcome.RefusalBefore:F3} -> {outcome.RefusalAfter:F3}");
    }

    [Fact]
    public void GdAndKlKeepRetainNllBoundedWhereGaDoesNot()
    {
        var ga = Train("ga", new GaOptions());
        var gd = Train("gd", new GdOptions());
        var kl = Train("kl", new KlOptions());
        // After 15 steps at lr 0.01, GA's retain NLL has risen by more than 10 nats; GD's and KL's stay within 2.5 (measured: about 1.7 and 1.6).
        Assert.True(ga.RetainAfter > ga.RetainBefore + 10, $"ga retain NLL {ga.RetainBefore:F3} -> {ga.RetainAfter:F3}");
        Assert.True(gd.RetainAfter < gd.RetainBefore + 2.5, $"gd retain NLL {gd.RetainBefore:F3} -> {gd.RetainAfter:F3}");
        Assert.True(kl.RetainAfter < kl.RetainBefore + 2.5, $"kl retain NLL {kl.RetainBefore:F3} -> {kl.RetainAfter:F3}");
        Assert.True(ga.RetainAfter > gd.RetainAfter && ga.RetainAfter > kl.RetainAfter, $"ga retain {ga.RetainAfter:F3}, gd {gd.RetainAfter:F3}, kl {kl.RetainAfter:F3}");
    }

    [Fact]
    public void BoundedAscentStopsBelowUnboundedAscent()
    {
        var plain = Train("ga", new GaOptions());
        var bounded = Train("ga", new GaOptions { Bound = 2.0 });
        Assert.True(bounded.ForgetAfter < plain.ForgetAfter, $"bounded {bounded.ForgetAfter:F3} vs plain {plain.ForgetAfter:F3}");
    }
}
