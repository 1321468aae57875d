using TorchSharp;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Host.Tests;

/// <summary>The example plugin's objective, loaded from its build output and fed fixed logits, against values
/// computed by hand.</summary>
public sealed class ExamplePluginTests
{
    /// <summary>A "model" whose forward pass returns the logits it was given: its last hidden state is those logits and
    /// its head the identity.</summary>
    private sealed class FixedLogitsModel(Tensor logits) : ILanguageModel
    {
        private readonly nn.Module _module = nn.Linear(1, 1);

        public ModelDescription Description => new("test", 1, 1, (int)logits.shape[2], (int)logits.shape[1]);
        public nn.Module Module => _module;
        public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false) => new(logits, null);
        public Tensor Head(Tensor hidden) => hidden;
        public Tensor LastHiddenState(Tensor inputIds, Tensor attentionMask) => logits;
    }

    private static IObjective CreateClippedAscent(double maxNll)
    {
        var registry = new PluginRegistry();
        new PluginLoader().LoadInto(registry, [new PluginSource(HostTestPaths.ExamplePlugin, "--plugins")]);
        var at = new SourceLocation("test.yaml", 1, 1);
        var descriptor = registry.Resolve(PluginKind.Objective, "ga-clipped", at, "unlearn.method");
        return registry.Create<IObjective>(descriptor, PluginLoadingTests.OptionMap($"max_nll: {maxNll}"), "unlearn.options", at);
    }

    [Fact]
    public void ClippedAscentLossAndGradientMatchHandComputation()
    {
        using var scope = NewDisposeScope();
        // One sequence of 4 tokens, vocabulary 3: two question tokens, then answer tokens 1 and 2. Logits at t predict
        // the label at t + 1, so positions 1 and 2 score the answer:
        //   position 1: logits (0, 0, 0), label 1: nll = ln 3 = 1.0986123
        //   position 2: logits (0, 0, -4), label 2: nll = 4 + ln(2 + e^-4) = 4.7022936
        // With max_nll = 2: loss = -(1.0986123 + 2) / 2 = -1.5493061; the second token sits at the ceiling.
        var logits = tensor(new float[] { 5, -1, 2, 0, 0, 0, 0, 0, -4, 3, 3, 3 }, [1, 4, 3]).requires_grad_();
        var labels = tensor(new long[] { TokenBatch.IgnoreIndex, TokenBatch.IgnoreIndex, 1, 2 }, [1, 4]);
        var ids = tensor(new long[] { 0, 1, 1, 2 }, [1, 4]);
        var batch = new UnlearnBatch
        {
            Forget = new TokenBatch(ids, ones_like(ids), labels),
            ForgetItems = [new QaItem { Question = "q", Answer = "a" }],
            ForgetIndices = [0],
        };
        var context = new ObjectiveContext { Model = new FixedLogitsModel(logits), Encoder = null!, Random = new Random(0), Step = 0 };

        var result = CreateClippedAscent(2.0).ComputeLoss(context, batch);

        var ln3 = Math.Log(3);
        var second = 4 + Math.Log(2 + Math.Exp(-4));
        Assert.Equal(-(ln3 + 2) / 2, result.Loss.item<float>(), 5);
        Assert.Equal((ln3 + second) / 2, result.Logs["forget_nll"], 5);
        Assert.Equal(0.5, result.Logs["clipped_share"], 6);

        // d loss / d logits at position 1 = (onehot(1) - softmax) / 2 = (-1/6, 1/3, -1/6); position 2 is clamped, so 0;
        // positions 0 and 3 score no answer token.
        result.Loss.backward();
        var grad = logits.grad!.data<float>().ToArray();
        double[] expected = [0, 0, 0, -1.0 / 6, 1.0 / 3, -1.0 / 6, 0, 0, 0, 0, 0, 0];
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], grad[i], 6);
    }

    [Fact]
    public void ClippedAscentBelowTheCeilingIsPlainAscent()
    {
        using var scope = NewDisposeScope();
        // Same batch, ceiling above both NLLs: loss = -mean nll = -(1.0986123 + 4.7022936) / 2.
        var logits = tensor(new float[] { 5, -1, 2, 0, 0, 0, 0, 0, -4, 3, 3, 3 }, [1, 4, 3]);
        var labels = tensor(new long[] { TokenBatch.IgnoreIndex, TokenBatch.IgnoreIndex, 1, 2 }, [1, 4]);
        var ids = tensor(new long[] { 0, 1, 1, 2 }, [1, 4]);
        var batch = new UnlearnBatch
        {
            Forget = new TokenBatch(ids, ones_like(ids), labels),
            ForgetItems = [new QaItem { Question = "q", Answer = "a" }],
            ForgetIndices = [0],
        };
        var context = new ObjectiveContext { Model = new FixedLogitsModel(logits), Encoder = null!, Random = new Random(0), Step = 0 };
        var result = CreateClippedAscent(10).ComputeLoss(context, batch);
        Assert.Equal(-(Math.Log(3) + 4 + Math.Log(2 + Math.Exp(-4))) / 2, result.Loss.item<float>(), 5);
        Assert.Equal(0.0, result.Logs["clipped_share"]);
    }
}
