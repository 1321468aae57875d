using TorchSharp;
using Unlearn.Plugins;
using Unlearn.Plugins.GradientAscent;
using static TorchSharp.torch;

namespace Unlearn.Objectives.Tests;

[Collection(TinyWorldCollection.Name)]
public class AscentTests(TinyWorld world)
{
    private const long X = TokenBatch.IgnoreIndex;

    /// <summary>Two sequences of 6 positions over a vocabulary of 5: row 0 has 4 answer labels, row 1 has 2 answer
    /// labels, a masked token between them and 2 padding positions.</summary>
    private static (Tensor Logits, Tensor Labels, double[][][] Z, long[][] L) RawCase(int answerTokens0 = 4)
    {
        manual_seed(7);
        var logits = (randn(2, 6, 5, dtype: ScalarType.Float64) * 2).to_type(ScalarType.Float32).requires_grad_(true);
        long[] row0 = answerTokens0 == 4 ? [X, X, 1, 3, 0, 4] : throw new ArgumentOutOfRangeException(nameof(answerTokens0));
        long[] row1 = [X, 2, X, 4, X, X];
        var labels = tensor(row0.Concat(row1).ToArray(), 2, 6);
        return (logits, labels, Hand.Logits(logits), [row0, row1]);
    }

    [Fact]
    public void GaLossIsMinusMeanAnswerNllWithPaddingAndMaskedTokens()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder, withRetain: false);
        // Mask one mid-answer token of the second row as well (a -100 inside the answer).
        var labels = batch.Forget.Labels.clone();
        var firstAnswer = Hand.Rows(labels)[1].ToList().FindIndex(l => l != X);
        labels[1, firstAnswer + 2] = tensor(X);
        batch = batch with { Forget = batch.Forget with { Labels = labels } };

        var loss = new GradientAscentObjective(new AscentTricks(), RetainTerm.None, 0).ComputeLoss(TinyWorld.Context(model, encoder), batch);

        var z = Hand.Logits(model.Forward(batch.Forget.InputIds, batch.Forget.AttentionMask).Logits);
        var expected = -Hand.MeanNll(Hand.TokenNlls(z, Hand.Rows(labels)));
        Hand.Close(expected, loss.Loss.item<float>());
        Hand.Close(-expected, loss.Logs["forget_nll"]);
        Assert.True(loss.Loss.requires_grad);
    }

    [Fact]
    public void TemperatureDividesTheLogitsOfTheAscentNll()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, z, l) = RawCase();
        var (loss, logs) = new AscentTricks(Temperature: 2.5).Compute(AnswerLogits.FromFull(logits, labels));
        var expected = -Hand.MeanNll(Hand.TokenNlls(z, l, 2.5));
        Hand.Close(expected, loss.item<float>());
        Assert.NotEqual(-Hand.MeanNll(Hand.TokenNlls(z, l)), loss.item<float>(), 2);
        Hand.Close(Hand.MeanNll(Hand.TokenNlls(z, l)), logs["forget_nll"]); // logged at T = 1
    }

    [Fact]
    public void LikelihoodCapAscendsOnlyOnTheLowestNllTokensOfEachSequence()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, z, l) = RawCase();
        var (loss, _) = new AscentTricks(LikelihoodCap: 0.5).Compute(AnswerLogits.FromFull(logits, labels));
        // q = 0.5: row 0 keeps ceil(0.5*4) = 2 of 4 tokens, row 1 keeps ceil(0.5*2) = 1 of 2.
        var nlls = Hand.TokenNlls(z, l);
        var kept = nlls.Select(s => s.Order().Take((int)Math.Ceiling(0.5 * s.Count)).ToList()).ToList();
        Assert.Equal([2, 1], kept.Select(k => k.Count));
        var expected = -kept.Sum(k => k.Sum()) / 3.0;
        Hand.Close(expected, loss.item<float>());

        loss.backward();
        // The highest-NLL token of row 0 carries no gradient.
        var worst = nlls[0].IndexOf(nlls[0].Max());
        var position = LabelRows.AnswerPositions(l[0])[worst] - 1;
        Assert.Equal(0f, logits.grad!.select(0, 0).select(0, position).abs().sum().item<float>());
    }

    [Fact]
    public void LikelihoodCapCountsAreNotInflatedByRounding()
    {
        using var scope = NewDisposeScope();
        // 25 answer tokens and q = 0.28: 0.28 * 25 = 7.000000000000001 in doubles; the cap keeps 7 tokens, not 8.
        manual_seed(3);
        var logits = randn(1, 26, 5);
        var row = Enumerable.Range(0, 26).Select(t => t == 0 ? X : (long)(t % 5)).ToArray();
        var (loss, _) = new AscentTricks(LikelihoodCap: 0.28).Compute(AnswerLogits.FromFull(logits, tensor(row, 1, 26)));
        var nlls = Hand.TokenNlls(Hand.Logits(logits), [row])[0];
        Assert.Equal(25, nlls.Count);
        Hand.Close(-nlls.Order().Take(7).Sum() / 7, loss.item<float>());
    }

    [Fact]
    public void BoundSilencesSequencesWhoseMeanNllExceedsDelta()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, z, l) = RawCase();
        var nlls = Hand.TokenNlls(z, l);
        var means = nlls.Select(s => s.Average()).ToArray();
        var delta = (means[0] + means[1]) / 2; // one sequence below δ, one above
        var (loss, logs) = new AscentTricks(Bound: delta).Compute(AnswerLogits.FromFull(logits, labels));
        var expected = nlls.Sum(s => s.Count * Math.Max(0, delta - s.Average())) / nlls.Sum(s => s.Count);
        Hand.Close(expected, loss.item<float>());
        Assert.Equal(0.5, logs["bound_active"], 6);

        loss.backward();
        var above = means[0] > delta ? 0 : 1;
        Assert.Equal(0f, logits.grad!.select(0, above).abs().sum().item<float>());
        Assert.True(logits.grad!.select(0, 1 - above).abs().sum().item<float>() > 1e-4);
    }

    [Fact]
    public void BoundBelowEverySequenceLeavesTheAscentGradientUnchanged()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, _, _) = RawCase();
        var (bounded, _) = new AscentTricks(Bound: 1e3).Compute(AnswerLogits.FromFull(logits, labels));
        bounded.backward();
        var boundedGrad = logits.grad!.clone();
        logits.grad!.zero_();
        var (plain, _) = new AscentTricks().Compute(AnswerLogits.FromFull(logits, labels));
        plain.backward();
        Assert.True(boundedGrad.allclose(logits.grad!, rtol: 1e-5, atol: 1e-7));
    }

    [Fact]
    public void GdAddsLambdaTimesRetainNll()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder);
        var objective = new GradientAscentObjective(new AscentTricks(), RetainTerm.Nll, 0.7);
        Assert.Equal(ObjectiveNeeds.RetainBatch, objective.Needs);
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder), batch);
        var forget = Hand.MeanNll(model, batch.Forget);
        var retain = Hand.MeanNll(model, batch.Retain!);
        Hand.Close(-forget + 0.7 * retain, loss.Loss.item<float>());
        Hand.Close(retain, loss.Logs["retain_nll"]);
        // The forget and retain passes are separate terms, which the host back-propagates one by one.
        Assert.Equal(2, loss.Terms.Count);
        Hand.Close(-forget, loss.Terms[0].item<float>());
        Hand.Close(0.7 * retain, loss.Terms[1].item<float>());
        var ga = new GradientAscentObjective(new AscentTricks(), RetainTerm.None, 0).ComputeLoss(TinyWorld.Context(model, encoder), batch);
        Assert.Same(ga.Loss, Assert.Single(ga.Terms));
    }

    [Fact]
    public void KlIsPerAnswerTokenOfRetainInputsAndExcludesPadding()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var reference = world.NewModel();
        var model = world.NewModel();
        Perturb(model, 0.3);
        var batch = TinyWorld.Batch(encoder);
        var objective = new GradientAscentObjective(new AscentTricks(), RetainTerm.Kl, 2.0);
        Assert.Equal(ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel, objective.Needs);
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder, reference), batch);

        var retain = batch.Retain!;
        var zRef = Hand.Logits(reference.Forward(retain.InputIds, retain.AttentionMask).Logits);
        var z = Hand.Logits(model.Forward(retain.InputIds, retain.AttentionMask).Logits);
        var labels = Hand.Rows(retain.Labels);
        var attention = Hand.Rows(retain.AttentionMask);
        var answerOnly = Hand.MeanKl(zRef, z, (b, t) => labels[b][t + 1] != X);
        var withPadding = Hand.MeanKl(zRef, z, (b, t) => labels[b][t + 1] != X || attention[b][t] == 0);
        Assert.True(attention.Any(r => r.Contains(0)), "the retain batch must contain padding for this test");
        Assert.True(Math.Abs(answerOnly - withPadding) > 1e-3, $"padding must change the KL: {answerOnly} vs {withPadding}");

        Hand.Close(answerOnly, loss.Logs["kl"]);
        Hand.Close(-Hand.MeanNll(model, batch.Forget) + 2.0 * answerOnly, loss.Loss.item<float>());
    }

    [Fact]
    public void KlOfTheReferenceAgainstItselfIsZero()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var loss = new GradientAscentObjective(new AscentTricks(), RetainTerm.Kl, 1.0)
            .ComputeLoss(TinyWorld.Context(model, encoder, world.NewModel()), TinyWorld.Batch(encoder));
        Assert.Equal(0.0, loss.Logs["kl"], 5);
    }

    internal static void Perturb(TinyLanguageModel model, double scale)
    {
        using var noGrad = no_grad();
        manual_seed(99);
        foreach (var p in model.Module.parameters()) p.add_(randn_like(p) * scale);
    }
}

internal static class LabelRows
{
    /// <summary>Indices of the answer labels (not −100) of a label row.</summary>
    public static int[] AnswerPositions(long[] row) => Enumerable.Range(0, row.Length).Where(i => row[i] != TokenBatch.IgnoreIndex).ToArray();
}
