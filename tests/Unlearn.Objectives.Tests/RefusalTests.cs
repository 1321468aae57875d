using Unlearn.Plugins;
using Unlearn.Plugins.GradientAscent;
using static TorchSharp.torch;

namespace Unlearn.Objectives.Tests;

[Collection(TinyWorldCollection.Name)]
public class RefusalTests(TinyWorld world)
{
    [Fact]
    public void BuiltInListHasAtLeastFiftyDistinctRefusals()
    {
        var phrasings = RefusalSet.BuiltIn.Phrasings;
        Assert.True(phrasings.Count >= 50, $"only {phrasings.Count} refusals");
        Assert.Equal(phrasings.Count, phrasings.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(phrasings, p => Assert.False(string.IsNullOrWhiteSpace(p)));
    }

    [Fact]
    public void RefusalsFileReplacesTheBuiltInList()
    {
        var dir = Unlearn.Tests.TestPaths.NewTempDir();
        var file = Path.Combine(dir, "refusals.txt");
        File.WriteAllLines(file, ["  No comment.", "", "Ask someone else."]);
        Assert.Equal(["No comment.", "Ask someone else."], RefusalSet.Load(file).Phrasings);
        Assert.Same(RefusalSet.BuiltIn, RefusalSet.Load(""));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void PoTrainsForgetQuestionsOnRefusalsOnlyPlusLambdaRetainNll()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder);
        encoder.Encoded.Clear();
        var loss = new RefusalObjective(RefusalSet.BuiltIn, 0.6).ComputeLoss(TinyWorld.Context(model, encoder), batch);

        var positives = encoder.Encoded.ToList();
        Assert.Equal(TinyWorld.ForgetItems.Select(i => i.Question), positives.Select(p => p.Question));
        Assert.All(positives, p => Assert.Contains(p.Answer, RefusalSet.BuiltIn.Phrasings));
        Assert.DoesNotContain(positives, p => TinyWorld.ForgetItems.Any(i => i.Answer == p.Answer));

        var refusalNll = Hand.MeanNll(model, new CharacterEncoder().Encode(positives));
        Hand.Close(refusalNll, loss.Logs["refusal_nll"]);
        Hand.Close(refusalNll + 0.6 * Hand.MeanNll(model, batch.Retain!), loss.Loss.item<float>());
    }

    [Fact]
    public void PoLossDoesNotDependOnTheTrueForgetAnswers()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder);
        var scrambled = batch with
        {
            Forget = encoder.Encode(TinyWorld.ForgetItems.Select(i => (i.Question, "zzz qqq")).ToList()),
            ForgetItems = TinyWorld.ForgetItems.Select(i => i with { Answer = "zzz qqq" }).ToList(),
        };
        var objective = new RefusalObjective(RefusalSet.BuiltIn, 1.0);
        var a = objective.ComputeLoss(TinyWorld.Context(model, encoder), batch).Loss.item<float>();
        var b = objective.ComputeLoss(TinyWorld.Context(model, encoder), scrambled).Loss.item<float>();
        Assert.Equal(a, b, 6);
    }

    [Fact]
    public void DpoPrefersTheRefusalOverTheTrueAnswerRelativeToTheReference()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var reference = world.NewModel();
        var model = world.NewModel();
        AscentTests.Perturb(model, 0.1);
        var batch = TinyWorld.Batch(encoder, withRetain: false);
        encoder.Encoded.Clear();
        var objective = new RefusalDpoObjective(RefusalSet.BuiltIn, 0.1, 0);
        Assert.Equal(ObjectiveNeeds.ReferenceModel, objective.Needs);
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder, reference), batch);

        var refusals = new CharacterEncoder().Encode(encoder.Encoded.ToList());
        Assert.DoesNotContain(encoder.Encoded, p => TinyWorld.ForgetItems.Any(i => i.Answer == p.Answer));
        var (rTheta, rRef) = (Hand.SequenceNll(model, refusals), Hand.SequenceNll(reference, refusals));
        var (aTheta, aRef) = (Hand.SequenceNll(model, batch.Forget), Hand.SequenceNll(reference, batch.Forget));
        var expected = -(2 / 0.1) * Enumerable.Range(0, 4)
            .Select(i => Hand.LogSigmoid(0.1 * ((rRef[i] - rTheta[i]) - (aRef[i] - aTheta[i])))).Average();
        Hand.Close(expected, loss.Loss.item<float>());
    }

    [Fact]
    public void DpoAtTheReferenceIsTwoOverBetaLogTwo()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var loss = new RefusalDpoObjective(RefusalSet.BuiltIn, 0.1, 0)
            .ComputeLoss(TinyWorld.Context(world.NewModel(), encoder, world.NewModel()), TinyWorld.Batch(encoder, withRetain: false));
        Hand.Close(2 / 0.1 * Math.Log(2), loss.Loss.item<float>());
    }
}
