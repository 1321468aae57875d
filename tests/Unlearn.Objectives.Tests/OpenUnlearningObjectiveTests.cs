using TorchSharp;
using Unlearn.Plugins;
using Unlearn.Plugins.GradientAscent;
using static TorchSharp.torch;

namespace Unlearn.Objectives.Tests;

/// <summary>WGA, SatImp, CE-U, UNDIAL and PDU against the papers' formulas computed by hand in doubles.</summary>
[Collection(TinyWorldCollection.Name)]
public class OpenUnlearningObjectiveTests(TinyWorld world)
{
    private const long X = TokenBatch.IgnoreIndex;
    private static readonly long[][] LabelRows = [[X, X, 1, 3, 0, 4], [X, 2, X, 4, X, X]];

    /// <summary>Two rows of 6 positions over a vocabulary of 5: row 0 has 4 answer labels, row 1 has 2 answer labels with
    /// a masked token between them and 2 padding positions.</summary>
    private static (Tensor Logits, Tensor Labels, double[][][] Z) RawCase(int seed = 11)
    {
        manual_seed(seed);
        var logits = (randn(2, 6, 5, dtype: ScalarType.Float64) * 2).to_type(ScalarType.Float32).requires_grad_(true);
        return (logits, tensor(LabelRows.SelectMany(r => r).ToArray(), 2, 6), Hand.Logits(logits));
    }

    /// <summary>(row, position t, label) of every answer position: logits at t against the label at t + 1.</summary>
    private static IEnumerable<(int Row, int T, int Label)> AnswerPositions(long[][] labels) =>
        labels.SelectMany((row, b) => Enumerable.Range(0, row.Length - 1).Where(t => row[t + 1] != X).Select(t => (b, t, (int)row[t + 1])));

    private static double WeightedAscentByHand(double[][][] z, double temperature, Func<double, double> weight)
    {
        var terms = AnswerPositions(LabelRows).Select(p =>
        {
            var logP = Hand.LogSoftmax(z[p.Row][p.T].Select(v => v / temperature).ToArray())[p.Label];
            return weight(Math.Exp(logP)) * logP; // −w·NLL
        }).ToList();
        return terms.Average();
    }

    [Fact]
    public void WgaWeighsEachTokenNllByItsProbabilityToTheBeta()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, z) = RawCase();
        var (loss, logs) = new AscentTricks(Weighting: new AscentWeighting(2.0)).Compute(AnswerLogits.FromFull(logits, labels));
        Hand.Close(WeightedAscentByHand(z, 1.0, p => p * p), loss.item<float>());
        var meanWeight = AnswerPositions(LabelRows).Average(p => Math.Pow(Math.Exp(Hand.LogSoftmax(z[p.Row][p.T])[p.Label]), 2));
        Hand.Close(meanWeight, logs["token_weight"]);
    }

    [Fact]
    public void WgaWeightsCarryNoGradient()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, z) = RawCase();
        var (loss, _) = new AscentTricks(Weighting: new AscentWeighting(1.5)).Compute(AnswerLogits.FromFull(logits, labels));
        loss.backward();
        // With w detached, d(−w·NLL/N)/dz = −(w/N)·(softmax(z) − e_y) at each answer position.
        var positions = AnswerPositions(LabelRows).ToList();
        var grad = Hand.Logits(logits.grad!);
        foreach (var (row, t, label) in positions)
        {
            var logP = Hand.LogSoftmax(z[row][t]);
            var w = Math.Pow(Math.Exp(logP[label]), 1.5);
            for (var v = 0; v < 5; v++)
                Hand.Close(-w / positions.Count * (Math.Exp(logP[v]) - (v == label ? 1 : 0)), grad[row][t][v]);
        }
    }

    [Fact]
    public void SatImpWeighsByProbabilityAndItsComplementOnTemperatureScaledLogits()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, z) = RawCase();
        var (loss, _) = new AscentTricks(Temperature: 2.0, Weighting: new AscentWeighting(3.0, 1.5)).Compute(AnswerLogits.FromFull(logits, labels));
        Hand.Close(WeightedAscentByHand(z, 2.0, p => Math.Pow(p, 3.0) * Math.Pow(1 - p, 1.5)), loss.item<float>());
    }

    [Fact]
    public void WgaAndSatImpObjectivesAddTheRetainNll()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder);
        var catalog = new RecordingCatalog();
        new GradientAscentModule().Register(catalog);
        var forget = Hand.TokenNlls(Hand.Logits(model.Forward(batch.Forget.InputIds, batch.Forget.AttentionMask).Logits.detach()), Hand.Rows(batch.Forget.Labels));
        var retain = Hand.MeanNll(model, batch.Retain!);
        double WeightedByHand(Func<double, double> weight) =>
            -forget.SelectMany(s => s).Sum(nll => weight(Math.Exp(-nll)) * nll) / forget.Sum(s => s.Count);

        var wga = catalog.Create("wga", new WgaOptions { Beta = 0.7, RetainWeight = 0.4 }).ComputeLoss(TinyWorld.Context(model, encoder), batch);
        Hand.Close(WeightedByHand(p => Math.Pow(p, 0.7)) + 0.4 * retain, wga.Loss.item<float>());
        var satimp = catalog.Create("satimp", new SatImpOptions()).ComputeLoss(TinyWorld.Context(model, encoder), batch);
        Hand.Close(WeightedByHand(p => Math.Pow(p, 5) * (1 - p)) + 0.1 * retain, satimp.Loss.item<float>());
    }

    [Fact]
    public void CeuFitsTheModelsOwnDistributionWithoutTheTrueTokenSkippingTheFirstAnswerToken()
    {
        using var scope = NewDisposeScope();
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        var batch = TinyWorld.Batch(encoder, withRetain: false);
        var objective = new CrossEntropyUnlearningObjective(1, 0);
        Assert.Equal(ObjectiveNeeds.None, objective.Needs);
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder), batch);

        var z = Hand.Logits(model.Forward(batch.Forget.InputIds, batch.Forget.AttentionMask).Logits);
        var labels = Hand.Rows(batch.Forget.Labels);
        var terms = new List<double>();
        foreach (var group in AnswerPositions(labels).GroupBy(p => p.Row))
            foreach (var (row, t, label) in group.Skip(1))
            {
                var logP = Hand.LogSoftmax(z[row][t]);
                var others = Enumerable.Range(0, z[row][t].Length).Where(v => v != label).ToList();
                var logQ = Hand.LogSoftmax(others.Select(v => z[row][t][v]).ToArray());
                terms.Add(-others.Select((v, i) => Math.Exp(logQ[i]) * logP[v]).Sum());
            }
        Assert.Equal(AnswerPositions(labels).Count() - 4, terms.Count);
        Hand.Close(terms.Average(), loss.Loss.item<float>());
        Hand.Close(Hand.MeanNll(model, batch.Forget), loss.Logs["forget_nll"]);
    }

    [Fact]
    public void CeuGradientPushesTheTrueTokenToZeroAndKeepsTheOthersOdds()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, z) = RawCase();
        var model = new FixedLogitsModel(logits);
        var batch = new UnlearnBatch { Forget = new TokenBatch(zeros(2, 6, dtype: ScalarType.Int64), ones(2, 6, dtype: ScalarType.Int64), labels), ForgetItems = [], ForgetIndices = [] };
        var loss = new CrossEntropyUnlearningObjective(0, 0).ComputeLoss(TinyWorld.Context(model, new CharacterEncoder()), batch);
        loss.Loss.backward();
        var positions = AnswerPositions(LabelRows).ToList();
        var grad = Hand.Logits(logits.grad!);
        foreach (var (row, t, label) in positions)
        {
            var p = Hand.LogSoftmax(z[row][t]).Select(Math.Exp).ToArray();
            var rest = 1 - p[label];
            for (var v = 0; v < 5; v++)
                Hand.Close(((v == label ? p[v] : p[v] - p[v] / rest)) / positions.Count, grad[row][t][v]);
        }
    }

    /// <summary>The pre-trained model as reference, a perturbed copy as the model being trained, and a full batch.</summary>
    private (CharacterEncoder Encoder, TinyLanguageModel Reference, TinyLanguageModel Model, UnlearnBatch Batch) PerturbedAgainstReference()
    {
        var encoder = new CharacterEncoder();
        var model = world.NewModel();
        AscentTests.Perturb(model, 0.2);
        return (encoder, world.NewModel(), model, TinyWorld.Batch(encoder));
    }

    [Fact]
    public void UndialDistilsTheReferenceWithTheTrueLogitLoweredOnAnswerTokensOnly()
    {
        using var scope = NewDisposeScope();
        var (encoder, reference, model, batch) = PerturbedAgainstReference();
        var objective = new UndialObjective(3.0, 0.5);
        Assert.Equal(ObjectiveNeeds.ReferenceModel | ObjectiveNeeds.RetainBatch, objective.Needs);
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder, reference), batch);

        var z = Hand.Logits(model.Forward(batch.Forget.InputIds, batch.Forget.AttentionMask).Logits);
        var zRef = Hand.Logits(reference.Forward(batch.Forget.InputIds, batch.Forget.AttentionMask).Logits);
        var terms = AnswerPositions(Hand.Rows(batch.Forget.Labels)).Select(p =>
        {
            var logQ = Hand.LogSoftmax(zRef[p.Row][p.T].Select((v, k) => k == p.Label ? v - 3.0 : v).ToArray());
            var logP = Hand.LogSoftmax(z[p.Row][p.T]);
            return -logQ.Select((lq, k) => Math.Exp(lq) * logP[k]).Sum();
        }).ToList();
        Hand.Close(terms.Average(), loss.Logs["undial_loss"]);
        Hand.Close(terms.Average() + 0.5 * Hand.MeanNll(model, batch.Retain!), loss.Loss.item<float>());
    }

    [Fact]
    public void PduFlatteningLossIsTheMeanSquaredMarginOfMaxOverMeanLogitPerSequence()
    {
        using var scope = NewDisposeScope();
        var (logits, labels, z) = RawCase();
        var perSequence = AnswerPositions(LabelRows).GroupBy(p => p.Row)
            .Select(g => g.Average(p => Math.Pow(z[p.Row][p.T].Max() - z[p.Row][p.T].Average(), 2))).ToList();
        Hand.Close(perSequence.Average(), PrimalDualObjective.FlatteningLoss(logits, labels).item<float>());
        // Flat logits give 0.
        Assert.Equal(0f, PrimalDualObjective.FlatteningLoss(full(2, 6, 5, 3.0f), labels).item<float>());
    }

    [Fact]
    public void PduIsTheLagrangianAndTakesAProjectedDualStep()
    {
        using var scope = NewDisposeScope();
        var (encoder, reference, model, batch) = PerturbedAgainstReference();
        var objective = new PrimalDualObjective(new PduOptions { RetainTolerance = 0.25, DualStepSize = 0.5, InitialDual = 2.0 });
        Assert.Equal(ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel, objective.Needs);
        objective.Prepare(TinyWorld.Setup(model, encoder));

        var flattening = PrimalDualObjective.FlatteningLoss(model.Forward(batch.Forget.InputIds, batch.Forget.AttentionMask).Logits, batch.Forget.Labels).item<float>();
        var retain = Hand.MeanNll(model, batch.Retain!);
        var epsilon = 1.25 * Hand.MeanNll(reference, batch.Retain!);
        Assert.True(retain > epsilon, $"the perturbed model must violate the constraint: {retain} vs {epsilon}");
        var loss = objective.ComputeLoss(TinyWorld.Context(model, encoder, reference), batch);
        Hand.Close(flattening + 2.0 * (retain - epsilon), loss.Loss.item<float>());
        Hand.Close(epsilon, loss.Logs["retain_bound"]);
        Hand.Close(2.0 + 0.5 * (retain - epsilon), objective.Dual);

        // An absolute bound far above the retain NLL drives λ down and projects it onto 0; no reference model needed.
        var loose = new PrimalDualObjective(new PduOptions { RetainBound = retain + 100, DualStepSize = 1.0, InitialDual = 3.0 });
        Assert.Equal(ObjectiveNeeds.RetainBatch, loose.Needs);
        var second = loose.ComputeLoss(TinyWorld.Context(model, encoder), batch);
        Hand.Close(flattening + 3.0 * (retain - (retain + 100)), second.Loss.item<float>());
        Assert.Equal(0.0, loose.Dual);
        var third = loose.ComputeLoss(TinyWorld.Context(model, encoder), batch);
        Hand.Close(flattening, third.Loss.item<float>());
    }

    /// <summary>A model whose forward pass returns fixed logits (for gradient checks on the logits themselves).</summary>
    private sealed class FixedLogitsModel(Tensor logits) : ILanguageModel
    {
        public ModelDescription Description { get; } = new("fixed", 1, 1, (int)logits.shape[2], (int)logits.shape[1]);
        public nn.Module Module => throw new NotSupportedException("fixed logits have no module");
        public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false) => new(logits, null);
        public Tensor Head(Tensor hidden) => throw new NotSupportedException("fixed logits have no head");
    }
}
