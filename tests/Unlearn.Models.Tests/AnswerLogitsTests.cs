using TorchSharp;
using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Tests;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

/// <summary>The output head applied only at answer positions gives the values and gradients of full logits.</summary>
public class AnswerLogitsTests
{
    private const long X = TokenBatch.IgnoreIndex;

    // Two right-padded sequences: row 0 has a 2-token prompt and a 3-token answer, row 1 a 3-token prompt, a 1-token
    // answer and one padding position.
    private static TokenBatch Batch() => new(
        tensor(new long[,] { { 4, 5, 6, 7, 8 }, { 9, 10, 11, 12, 0 } }),
        tensor(new long[,] { { 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 0 } }),
        tensor(new long[,] { { X, X, 6, 7, 8 }, { X, X, X, 12, X } }));

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void HeadAtAnswerPositionsEqualsFullLogitsThere(string family)
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.ByName(family), seed: 3);
        var batch = Batch();
        var answer = AnswerLogits.Of(model, batch);
        var full = model.Forward(batch.InputIds, batch.AttentionMask).Logits;
        // Rows in order: (0,1) (0,2) (0,3) predict 6, 7, 8; (1,2) predicts 12.
        Assert.Equal(new long[] { 4, 50 }, answer.Logits.shape);
        Assert.Equal(new long[] { 6, 7, 8, 12 }, answer.Labels.data<long>().ToArray());
        var expected = stack([full[0, 1], full[0, 2], full[0, 3], full[1, 2]]);
        Assert.True(answer.Logits.allclose(expected, rtol: 0, atol: 1e-5));
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void TokenNllAndGradientsMatchTheFullLogitsPath(string family)
    {
        using var scope = NewDisposeScope();
        using var model = CausalLM.Create(TestModels.ByName(family), seed: 4);
        var batch = Batch();
        var (packed, packedMask) = AnswerLoss.TokenNll(model, batch, temperature: 2.0);
        var (full, fullMask) = AnswerLoss.TokenNll(model.Forward(batch.InputIds, batch.AttentionMask).Logits, batch.Labels, temperature: 2.0);
        Assert.True(packedMask.eq(fullMask).all().item<bool>());
        Assert.True(packed.allclose(full, rtol: 0, atol: 1e-5));
        Assert.Equal(0f, packed[1, 0].item<float>());

        var weights = model.parameters().ToList();
        AnswerLoss.MeanNll(model, batch).backward();
        var packedGrads = weights.Select(p => p.grad!.clone()).ToList();
        foreach (var p in weights) p.grad!.zero_();
        AnswerLoss.MeanNll(model.Forward(batch.InputIds, batch.AttentionMask).Logits, batch.Labels).backward();
        for (var i = 0; i < weights.Count; i++)
            Assert.True(packedGrads[i].allclose(weights[i].grad!, rtol: 1e-4, atol: 1e-6), $"gradient of parameter {i}");
    }
}
