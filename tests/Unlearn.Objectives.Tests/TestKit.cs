using TorchSharp;
using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Objectives.Tests;

/// <summary>Independent double-precision arithmetic for the spec formulas (never calls AnswerLoss or the plugin).</summary>
internal static class Hand
{
    public static double[][][] Logits(Tensor logits)
    {
        var t = logits.detach().to_type(ScalarType.Float64).cpu();
        var (b, n, v) = ((int)t.shape[0], (int)t.shape[1], (int)t.shape[2]);
        var flat = t.data<double>().ToArray();
        return Enumerable.Range(0, b).Select(i => Enumerable.Range(0, n).Select(j => flat.AsSpan((i * n + j) * v, v).ToArray()).ToArray()).ToArray();
    }

    public static long[][] Rows(Tensor labels)
    {
        var t = labels.cpu();
        var (b, n) = ((int)t.shape[0], (int)t.shape[1]);
        var flat = t.data<long>().ToArray();
        return Enumerable.Range(0, b).Select(i => flat.AsSpan(i * n, n).ToArray()).ToArray();
    }

    public static double LogSumExp(IReadOnlyList<double> xs)
    {
        var max = xs.Max();
        return max + Math.Log(xs.Sum(x => Math.Exp(x - max)));
    }

    public static double[] LogSoftmax(IReadOnlyList<double> xs)
    {
        var lse = LogSumExp(xs);
        return xs.Select(x => x - lse).ToArray();
    }

    /// <summary>Asserts |expected − actual| ≤ 1e-4 + 1e-5·|expected| (float32 model arithmetic against doubles).</summary>
    public static void Close(double expected, double actual)
    {
        var tolerance = 1e-4 + 1e-5 * Math.Abs(expected);
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected:R}, got {actual:R} (tolerance {tolerance:G3})");
    }

    public static double LogSigmoid(double x) => x >= 0 ? -Math.Log(1 + Math.Exp(-x)) : x - Math.Log(1 + Math.Exp(x));

    /// <summary>Per sequence, the NLL of every answer token: logits at t scored against the label at t + 1 when that
    /// label is not −100, on logits / T.</summary>
    public static List<double>[] TokenNlls(double[][][] logits, long[][] labels, double temperature = 1.0)
    {
        var result = new List<double>[logits.Length];
        for (var b = 0; b < logits.Length; b++)
        {
            result[b] = [];
            for (var t = 0; t + 1 < labels[b].Length; t++)
            {
                var label = labels[b][t + 1];
                if (label == TokenBatch.IgnoreIndex) continue;
                var scaled = logits[b][t].Select(z => z / temperature).ToArray();
                result[b].Add(LogSumExp(scaled) - scaled[label]);
            }
        }
        return result;
    }

    public static double MeanNll(List<double>[] nlls) => nlls.Sum(s => s.Sum()) / nlls.Sum(s => s.Count);

    public static double MeanNll(ILanguageModel model, TokenBatch batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return MeanNll(TokenNlls(Logits(model.Forward(batch.InputIds, batch.AttentionMask).Logits), Rows(batch.Labels)));
    }

    public static double[] SequenceNll(ILanguageModel model, TokenBatch batch)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return TokenNlls(Logits(model.Forward(batch.InputIds, batch.AttentionMask).Logits), Rows(batch.Labels)).Select(s => s.Sum()).ToArray();
    }

    /// <summary>KL(p_ref ‖ p_θ) per position t where <paramref name="include"/>(b, t) holds, averaged.</summary>
    public static double MeanKl(double[][][] reference, double[][][] current, Func<int, int, bool> include)
    {
        double sum = 0;
        var count = 0;
        for (var b = 0; b < current.Length; b++)
            for (var t = 0; t + 1 < current[b].Length; t++)
            {
                if (!include(b, t)) continue;
                var logRef = LogSoftmax(reference[b][t]);
                var logCur = LogSoftmax(current[b][t]);
                sum += logRef.Select((r, v) => Math.Exp(r) * (r - logCur[v])).Sum();
                count++;
            }
        return sum / count;
    }
}

/// <summary>Every test class shares one <see cref="TinyWorld"/> and runs serially: TorchSharp's global generator
/// (manual_seed) is process-wide, so parallel classes would interleave their random draws.</summary>
[CollectionDefinition(Name)]
public sealed class TinyWorldCollection : ICollectionFixture<TinyWorld>
{
    public const string Name = "tiny world";
}

/// <summary>A small forget/retain world with a tiny model pre-trained on both, shared by the tests of a class.</summary>
public sealed class TinyWorld
{
    public const int Seed = 1234;

    internal static readonly QaItem[] ForgetItems =
    [
        new() { Question = "who is kim", Answer = "a poet of rain" },
        new() { Question = "where", Answer = "in the old harbour" },
        new() { Question = "what did kim write", Answer = "seven odes" },
        new() { Question = "when", Answer = "last spring, late" },
    ];

    internal static readonly QaItem[] RetainItems =
    [
        new() { Question = "who is lu", Answer = "a baker" },
        new() { Question = "lu lives where", Answer = "by the mill pond" },
        new() { Question = "what does lu bake", Answer = "rye bread daily" },
        new() { Question = "lu's age", Answer = "forty one" },
    ];

    private readonly TinyLanguageModel _trained;

    public TinyWorld()
    {
        // The tiny model gains nothing from threads, and the build machine is shared.
        torch.set_num_threads(1);
        var encoder = new CharacterEncoder();
        _trained = new TinyLanguageModel(Seed);
        var all = encoder.Encode(ForgetItems.Concat(RetainItems).Select(i => (i.Question, i.Answer)).ToList());
        using var optimizer = optim.AdamW(_trained.Module.parameters(), lr: 0.02);
        for (var step = 0; step < 150; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            AnswerLoss.MeanNll(_trained.Forward(all.InputIds, all.AttentionMask).Logits, all.Labels).backward();
            optimizer.step();
        }
    }

    /// <summary>A fresh model holding the pre-trained weights.</summary>
    internal TinyLanguageModel NewModel()
    {
        var model = new TinyLanguageModel(Seed + 1);
        model.CopyFrom(_trained);
        return model;
    }

    internal static IDataSplit ForgetSplit { get; } = new FakeSplit("forget", ForgetItems);

    internal static UnlearnBatch Batch(CharacterEncoder encoder, int[]? forgetIndices = null, bool withRetain = true)
    {
        var indices = forgetIndices ?? [0, 1, 2, 3];
        var forget = indices.Select(i => ForgetItems[i]).ToList();
        return new UnlearnBatch
        {
            Forget = encoder.Encode(forget.Select(i => (i.Question, i.Answer)).ToList()),
            ForgetItems = forget,
            ForgetIndices = indices,
            Retain = withRetain ? encoder.Encode(RetainItems.Select(i => (i.Question, i.Answer)).ToList()) : null,
            RetainItems = withRetain ? RetainItems : null,
        };
    }

    internal static ObjectiveContext Context(ILanguageModel model, CharacterEncoder encoder, ILanguageModel? reference = null,
        IReadOnlyList<double>? referenceForgetLoss = null, int step = 0) => new()
    {
        Model = model,
        Reference = reference,
        ReferenceForgetLoss = referenceForgetLoss,
        Encoder = encoder,
        Random = new Random(Seed + step),
        Step = step,
    };

    internal static ObjectiveSetup Setup(ILanguageModel model, CharacterEncoder encoder, int seed = Seed) =>
        new(model, encoder, new CharacterTokenizer(), ForgetSplit, seed);
}
