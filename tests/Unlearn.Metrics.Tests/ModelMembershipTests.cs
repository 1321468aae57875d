using TorchSharp;
using TorchSharp.Modules;
using Unlearn.Plugins;
using Unlearn.Plugins.Metrics;
using static TorchSharp.torch;

namespace Unlearn.Metrics.Tests;

/// <summary>mia-gradnorm on a bigram model whose gradients are computed by hand, mia-reference on scripted scores, and
/// the AUC of both against a direct count over all (member, holdout) pairs.</summary>
public class ModelMembershipTests
{
    private static readonly QaItem[] Forget = [new() { Question = "t2 t3", Answer = "t4 t5" }, new() { Question = "t6", Answer = "t7 t8 t9" }];
    private static readonly QaItem[] Holdout =
    [
        new() { Question = "t3", Answer = "t11" }, new() { Question = "t12 t2", Answer = "t13 t4" }, new() { Question = "t14", Answer = "t15 t16" },
    ];

    /// <summary>P(member score &gt; holdout score) + ½·P(equal), counted over every pair.</summary>
    private static double AucByCounting(IReadOnlyList<double> members, IReadOnlyList<double> holdout) =>
        members.Sum(m => holdout.Sum(h => m > h ? 1.0 : m == h ? 0.5 : 0.0)) / (members.Count * holdout.Count);

    private static FakeMetricContext GradNormContext(BigramModel model)
    {
        var context = new FakeMetricContext(new FakeSplit("forget", Forget)) { LanguageModel = model };
        context.Splits["holdout"] = new FakeSplit("holdout", Holdout);
        return context;
    }

    /// <summary>By hand: the mean answer-token NLL of logits z_t = W[s_t] + b has dL/dW[s_t] += (softmax(z_t) − e_y)/N and
    /// dL/db += (softmax(z_t) − e_y)/N over the N answer positions (EOS included); the score is the mean of the two
    /// tensors' norms.</summary>
    private static double GradNormByHand(BigramModel model, QaItem item, Func<IEnumerable<double>, double> norm)
    {
        var tokenizer = new WordTokenizer();
        var prompt = tokenizer.Encode(item.Question);
        var sequence = prompt.Concat(tokenizer.Encode(item.Answer)).Append(tokenizer.EosId).ToList();
        var (w, b) = model.Values();
        var v = b.Length;
        var gradW = new double[v, v];
        var gradB = new double[v];
        var positions = Enumerable.Range(prompt.Count - 1, sequence.Count - prompt.Count).ToList();
        foreach (var t in positions)
        {
            var z = Enumerable.Range(0, v).Select(k => w[sequence[t], k] + b[k]).ToArray();
            var max = z.Max();
            var sum = z.Sum(x => Math.Exp(x - max));
            for (var k = 0; k < v; k++)
            {
                var g = (Math.Exp(z[k] - max) / sum - (k == sequence[t + 1] ? 1 : 0)) / positions.Count;
                gradW[sequence[t], k] += g;
                gradB[k] += g;
            }
        }
        return (norm(gradW.Cast<double>()) + norm(gradB)) / 2;
    }

    [Theory]
    [InlineData(GradientNorm.L2)]
    [InlineData(GradientNorm.L1)]
    [InlineData(GradientNorm.Max)]
    public void Gradnorm_is_the_mean_over_parameter_tensors_of_the_answer_loss_gradient_norm(GradientNorm which)
    {
        Func<IEnumerable<double>, double> norm = which switch
        {
            GradientNorm.L1 => xs => xs.Sum(Math.Abs),
            GradientNorm.Max => xs => xs.Max(Math.Abs),
            _ => xs => Math.Sqrt(xs.Sum(x => x * x)),
        };
        using var model = new BigramModel(seed: 5);
        var result = new GradNormMembershipMetric(new GradNormOptions { Norm = which }).Evaluate(GradNormContext(model));

        var members = Forget.Select(i => GradNormByHand(model, i, norm)).ToList();
        var holdout = Holdout.Select(i => GradNormByHand(model, i, norm)).ToList();
        for (var i = 0; i < members.Count; i++) Assert.Equal(members[i], result.Items[i], 5);
        Assert.Equal(members.Average(), result.Value, 5);
        Assert.Equal(AucByCounting(members, holdout), result.Extras["auc"], 12);
        Assert.All(model.parameters(), p => Assert.True(p.grad is null, "mia-gradnorm must leave the .grad fields alone"));
    }

    [Fact]
    public void Gradnorm_separates_items_the_model_was_trained_on_from_holdout_items()
    {
        using var model = new BigramModel(seed: 8);
        model.Fit(Forget, steps: 60);
        var result = new GradNormMembershipMetric(new GradNormOptions()).Evaluate(GradNormContext(model));
        // Members sit near a minimum of their loss: every member gradient is smaller than every holdout gradient.
        Assert.Equal(0.0, result.Extras["auc"], 12);
    }

    private static AnswerScores MeanNllScores(double meanNll, int tokens) =>
        new(Enumerable.Repeat((float)-meanNll, tokens).ToArray(), new bool[tokens], new float[tokens], EndsWithEos: true);

    private static FakeMetricContext ReferenceContext(Func<string, string, AnswerScores> reference, bool fromFolder = false)
    {
        var own = new Dictionary<string, double> { ["t2 t3"] = 0.5, ["t6"] = 1.25, ["t3"] = 2.0, ["t12 t2"] = 1.5, ["t14"] = 3.0 };
        var context = new FakeMetricContext(new FakeSplit("forget", Forget))
        {
            Score = (q, a) => MeanNllScores(own[q], 3),
            ScoreWithRole = (role, q, a) => role == ModelRole.Original && !fromFolder ? reference(q, a) : throw new InvalidOperationException($"unexpected role {role}"),
            ScoreWithFolder = (folder, q, a) => fromFolder && folder == "models/ref" ? reference(q, a) : throw new InvalidOperationException($"unexpected folder {folder}"),
        };
        context.Splits["holdout"] = new FakeSplit("holdout", Holdout);
        return context;
    }

    [Fact]
    public void Reference_score_is_own_mean_nll_minus_the_reference_models()
    {
        var referenceNll = new Dictionary<string, double> { ["t2 t3"] = 2.0, ["t6"] = 1.0, ["t3"] = 2.5, ["t12 t2"] = 1.0, ["t14"] = 3.0 };
        // Different token counts than the evaluated model's scores: only the means enter.
        var result = new ReferenceMembershipMetric(new ReferenceMembershipOptions()).Evaluate(ReferenceContext((q, _) => MeanNllScores(referenceNll[q], 5)));
        Assert.Equal([-1.5, 0.25], result.Items.Select(x => Math.Round(x, 6)));
        Assert.Equal(-0.625, result.Value, 6);
        // Holdout differences: -0.5, 0.5, 0.0. Pairs (member > holdout): -1.5 loses to all; 0.25 beats -0.5 and 0.0.
        Assert.Equal(AucByCounting([-1.5, 0.25], [-0.5, 0.5, 0.0]), result.Extras["auc"], 12);
        Assert.Equal(2.0 / 6, result.Extras["auc"], 12);

        var fromFolder = new ReferenceMembershipMetric(new ReferenceMembershipOptions { Reference = "models/ref" })
            .Evaluate(ReferenceContext((q, _) => MeanNllScores(referenceNll[q], 5), fromFolder: true));
        Assert.Equal(result.Items, fromFolder.Items);
    }

    [Fact]
    public void Reference_against_itself_scores_zero_and_auc_one_half()
    {
        var own = new Dictionary<string, double> { ["t2 t3"] = 0.5, ["t6"] = 1.25, ["t3"] = 2.0, ["t12 t2"] = 1.5, ["t14"] = 3.0 };
        var result = new ReferenceMembershipMetric(new ReferenceMembershipOptions()).Evaluate(ReferenceContext((q, _) => MeanNllScores(own[q], 3)));
        Assert.All(result.Items, x => Assert.Equal(0.0, x, 12));
        Assert.Equal(0.5, result.Extras["auc"], 12);
    }

    [Fact]
    public void Reference_retain_needs_a_retain_model()
    {
        var context = new FakeMetricContext(new FakeSplit("forget", Forget)) { HasRetainModel = false };
        var e = Assert.Throws<InvalidOperationException>(() => new ReferenceMembershipMetric(new ReferenceMembershipOptions { Reference = "retain" }).Evaluate(context));
        Assert.Contains("reference 'retain' needs the retain model", e.Message);
    }

    [Fact]
    public void Reference_folder_is_checked_when_the_options_are_bound()
    {
        var dir = Directory.CreateTempSubdirectory("mia-reference-").FullName;
        try
        {
            Assert.Empty(new ReferenceMembershipOptions { Reference = "original" }.Validate());
            Assert.Contains(new ReferenceMembershipOptions { Reference = Path.Combine(dir, "missing") }.Validate(), m => m.Contains("no such folder", StringComparison.Ordinal));
            Assert.Contains(new ReferenceMembershipOptions { Reference = dir }.Validate(), m => m.Contains("has no config.json", StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
            Assert.Contains(new ReferenceMembershipOptions { Reference = dir }.Validate(), m => m.Contains("has no model.safetensors", StringComparison.Ordinal));
            File.WriteAllText(Path.Combine(dir, "model.safetensors"), "");
            Assert.Empty(new ReferenceMembershipOptions { Reference = dir }.Validate());
            Assert.Contains(new ReferenceMembershipOptions { Reference = " " }.Validate(), m => m.StartsWith("reference must be", StringComparison.Ordinal));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Privleak_can_compare_gradnorm_and_reference_aucs()
    {
        var context = new FakeMetricContext(new FakeSplit("forget", []));
        context.Results[("mia-reference", null, ModelRole.Current)] = new MetricResult(1, []) { Extras = new Dictionary<string, double> { ["auc"] = 0.3 } };
        context.Results[("mia-reference", null, ModelRole.Retain)] = new MetricResult(1, []) { Extras = new Dictionary<string, double> { ["auc"] = 0.6 } };
        Assert.Equal(-50.0, new PrivLeakMetric(new PrivLeakOptions { Score = MembershipScore.Reference }).Evaluate(context).Value, 12);
        Assert.All(new PrivLeakMetric(new PrivLeakOptions { Score = MembershipScore.GradNorm }).Dependencies, d => Assert.Equal("mia-gradnorm", d.Metric));
    }
}

/// <summary>A bigram language model: logits at t = W[token_t] + b (two parameter tensors).</summary>
internal sealed class BigramModel : nn.Module, ILanguageModel
{
    private const int Vocabulary = 32;
    private readonly Embedding table;
    private readonly Parameter bias;

    public BigramModel(int seed) : base(nameof(BigramModel))
    {
        manual_seed(seed);
        table = nn.Embedding(Vocabulary, Vocabulary);
        bias = new Parameter(randn(Vocabulary) * 0.5);
        RegisterComponents();
        Description = new ModelDescription("bigram", Vocabulary, 1, Vocabulary, 64);
    }

    public ModelDescription Description { get; }

    public nn.Module Module => this;

    public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false) => new(table.call(inputIds) + bias, null);

    public Tensor Head(Tensor hidden) => throw new NotSupportedException("a bigram model has no hidden states");

    public (double[,] W, double[] B) Values()
    {
        var w = table.weight!.detach().to_type(ScalarType.Float64).data<double>().ToArray();
        var matrix = new double[Vocabulary, Vocabulary];
        for (var i = 0; i < Vocabulary; i++)
            for (var j = 0; j < Vocabulary; j++) matrix[i, j] = w[i * Vocabulary + j];
        return (matrix, bias.detach().to_type(ScalarType.Float64).data<double>().ToArray());
    }

    /// <summary>Trains on the items' answers (what makes them members) and clears the gradients afterwards.</summary>
    public void Fit(IReadOnlyList<QaItem> items, int steps)
    {
        var batch = new WordEncoder(new WordTokenizer()).Encode(items.Select(i => (i.Question, i.Answer)).ToList());
        using var optimizer = optim.Adam(parameters(), lr: 0.1);
        for (var step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            AnswerLoss.MeanNll(Forward(batch.InputIds, batch.AttentionMask).Logits, batch.Labels).backward();
            optimizer.step();
        }
        foreach (var p in parameters()) p.grad = null;
    }
}
