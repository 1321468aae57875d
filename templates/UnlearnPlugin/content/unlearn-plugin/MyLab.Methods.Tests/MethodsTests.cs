using Unlearn.Plugins;
using Unlearn.Plugins.Testing;
using static TorchSharp.torch;

namespace MyLab.Methods.Tests;

/// <summary>The objective and the metric called as the host calls them, on the fakes of Unlearn.Plugins.Testing.</summary>
public sealed class MethodsTests
{
    private static readonly QaItem[] Forget =
    [
        new() { Question = "who is kim", Answer = "a poet of rain" },
        new() { Question = "where", Answer = "in the old harbour" },
    ];

    [Fact]
    public void ScaledAscentIsMinusScaleTimesTheForgetNll()
    {
        var encoder = new CharacterEncoder();
        var model = new TinyLanguageModel(seed: 1);
        var batch = new UnlearnBatch
        {
            Forget = encoder.Encode(Forget.Select(i => (i.Question, i.Answer)).ToList()),
            ForgetItems = Forget,
            ForgetIndices = [0, 1],
        };
        var context = new ObjectiveContext { Model = model, Encoder = encoder, Random = new Random(1), Step = 0 };
        using var noGrad = no_grad();

        var nll = AnswerLoss.MeanNll(model.Forward(batch.Forget.InputIds, batch.Forget.AttentionMask).Logits, batch.Forget.Labels).item<float>();
        var loss = new ScaledAscent(2.5).ComputeLoss(context, batch);

        Assert.True(nll > 0);
        Assert.Equal(-2.5 * nll, loss.Loss.item<float>(), 4);
        Assert.Equal(nll, loss.Logs["forget_nll"], 4);
    }

    [Fact]
    public void ScaleMustBePositive()
    {
        Assert.Empty(new ScaledAscentOptions { Scale = 0.5 }.Validate());
        Assert.Equal("scale must be a finite number > 0, got 0", Assert.Single(new ScaledAscentOptions { Scale = 0 }.Validate()));
    }

    [Fact]
    public void AnswerNllAveragesThePerTokenNllOfEachItem()
    {
        var split = new FakeSplit("forget", [new() { Question = "t2", Answer = "t3 t4" }, new() { Question = "t5", Answer = "t6" }]);
        var context = new FakeMetricContext(split)
        {
            // Scores per answer token, EOS included: item 1 has 3 tokens, item 2 has 2.
            Score = (question, _) => question == "t2"
                ? new AnswerScores([-1f, -2f, -3f], [false, false, false], [-1f, -2f, -3f], EndsWithEos: true)
                : new AnswerScores([-0.5f, -1.5f], [true, true], [-0.5f, -1.5f], EndsWithEos: true),
        };

        var result = new AnswerNll().Evaluate(context);

        Assert.Equal([2.0, 1.0], result.Items);
        Assert.Equal(1.5, result.Value, 6);
    }
}
