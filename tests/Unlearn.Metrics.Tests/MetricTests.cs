using Unlearn.Plugins;
using Unlearn.Plugins.Metrics;

namespace Unlearn.Metrics.Tests;

public class MetricTests
{
    private static AnswerScores LogProbs(params float[] logProbs) =>
        new(logProbs, logProbs.Select(_ => true).ToArray(), logProbs.Select(v => v * 2).ToArray(), EndsWithEos: true);

    private static FakeMetricContext Context(string splitName, IReadOnlyList<QaItem> items, Dictionary<(string, string), AnswerScores> scores) =>
        new(new FakeSplit(splitName, items)) { Score = (q, a) => scores[(q, a)] };

    [Fact]
    public void Probability_plain_on_forget_shaped_split()
    {
        var items = new[]
        {
            new QaItem { Question = "q1", Answer = "a1", ParaphrasedAnswer = "pa1", PerturbedAnswers = ["w1"] },
            new QaItem { Question = "q2", Answer = "a2", ParaphrasedAnswer = "pa2", PerturbedAnswers = ["w2"] },
        };
        var context = Context("forget", items, new()
        {
            [("q1", "a1")] = LogProbs(-0.5f, -1.5f),              // p̄ = e^-1
            [("q2", "a2")] = LogProbs(-0.2f, -0.2f, -0.2f, -0.6f), // p̄ = e^-0.3
        });
        var result = new ProbabilityMetric(new ProbabilityOptions()).Evaluate(context);
        Assert.Equal(Math.Exp(-1), result.Items[0], 6);
        Assert.Equal(Math.Exp(-0.3), result.Items[1], 6);
        Assert.Equal((Math.Exp(-1) + Math.Exp(-0.3)) / 2, result.Value, 6);
        Assert.Equal(0.0, result.Extras["normalised"]);
    }

    [Fact]
    public void Probability_auto_normalises_on_general_knowledge_shape()
    {
        var items = new[] { new QaItem { Question = "q", Answer = "a", PerturbedAnswers = ["w1", "w2", "w3"] } };
        var scores = new Dictionary<(string, string), AnswerScores>
        {
            [("q", "a")] = LogProbs(-1f, -1f),
            [("q", "w1")] = LogProbs(-2f),
            [("q", "w2")] = LogProbs(-3f, -3f),
            [("q", "w3")] = LogProbs(-0.5f, -1.5f),
        };
        var expected = Math.Exp(-1) / (Math.Exp(-1) + Math.Exp(-2) + Math.Exp(-3) + Math.Exp(-1));
        Assert.Equal(expected, new ProbabilityMetric(new ProbabilityOptions()).Evaluate(Context("world_facts", items, scores)).Value, 6);
        var plain = new ProbabilityMetric(new ProbabilityOptions { Normalise = ProbabilityNormalisation.False }).Evaluate(Context("world_facts", items, scores));
        Assert.Equal(Math.Exp(-1), plain.Value, 6);
    }

    [Fact]
    public void Perplexity_items_are_per_item_and_aggregate_is_token_weighted()
    {
        var items = new[] { new QaItem { Question = "q1", Answer = "a1" }, new QaItem { Question = "q2", Answer = "a2" } };
        var context = Context("retain", items, new()
        {
            [("q1", "a1")] = LogProbs(-1f, -3f),       // ℓ = 4, 2 tokens
            [("q2", "a2")] = LogProbs(-1f, -1f, -1f, -1f, -1f, -1f), // ℓ = 6, 6 tokens
        });
        var result = new PerplexityMetric().Evaluate(context);
        Assert.Equal(Math.Exp(2), result.Items[0], 5);
        Assert.Equal(Math.Exp(1), result.Items[1], 5);
        Assert.Equal(Math.Exp(10.0 / 8), result.Value, 5);
    }

    private static (QaItem[] Items, Dictionary<(string, string), AnswerScores> Scores) TruthRatioData()
    {
        var items = new[]
        {
            new QaItem { Question = "q1", Answer = "a1", ParaphrasedAnswer = "pa1", PerturbedAnswers = ["w11", "w12"] },
            new QaItem { Question = "q2", Answer = "a2", ParaphrasedAnswer = "pa2", PerturbedAnswers = ["w21", "w22"] },
        };
        var scores = new Dictionary<(string, string), AnswerScores>
        {
            [("q1", "pa1")] = LogProbs(-1f, -1f),       // mean NLL 1
            [("q1", "w11")] = LogProbs(-2f),            // 2
            [("q1", "w12")] = LogProbs(-4f, -4f, -4f),  // 4  -> p̃ = e^-3, R = e^-2
            [("q2", "pa2")] = LogProbs(-3f),            // 3
            [("q2", "w21")] = LogProbs(-1f),
            [("q2", "w22")] = LogProbs(-0.5f, -1.5f),   // 1, 1 -> R = e^-1 / e^-3 = e^2
        };
        return (items, scores);
    }

    [Fact]
    public void Truth_ratio_per_item_r_and_both_aggregations()
    {
        var (items, scores) = TruthRatioData();
        var forget = new TruthRatioMetric(new TruthRatioOptions()).Evaluate(Context("forget05", items, scores));
        Assert.Equal(Math.Exp(-2), forget.Items[0], 6);
        Assert.Equal(Math.Exp(2), forget.Items[1], 4);
        Assert.Equal(Math.Exp(-2), forget.Value, 6);                 // mean of min(R, 1/R) = (e^-2 + e^-2)/2
        Assert.Equal((1 - Math.Exp(-2) + 0) / 2, forget.Extras["other_form"], 6);
        var retain = new TruthRatioMetric(new TruthRatioOptions()).Evaluate(Context("retain", items, scores));
        Assert.Equal((1 - Math.Exp(-2)) / 2, retain.Value, 6);       // mean of max(0, 1 - R)
        var forced = new TruthRatioMetric(new TruthRatioOptions { Aggregation = TruthRatioAggregation.Forget }).Evaluate(Context("retain", items, scores));
        Assert.Equal(Math.Exp(-2), forced.Value, 6);
    }

    [Fact]
    public void Truth_ratio_uses_the_answer_when_there_is_no_paraphrase_and_needs_perturbed_answers()
    {
        var items = new[] { new QaItem { Question = "q", Answer = "a", PerturbedAnswers = ["w"] } };
        var scores = new Dictionary<(string, string), AnswerScores> { [("q", "a")] = LogProbs(-1f), [("q", "w")] = LogProbs(-2f) };
        Assert.Equal(Math.Exp(-1), new TruthRatioMetric(new TruthRatioOptions()).Evaluate(Context("real_authors", items, scores)).Items[0], 6);
        var bare = new[] { new QaItem { Question = "q", Answer = "a" } };
        var error = Assert.Throws<InvalidOperationException>(() => new TruthRatioMetric(new TruthRatioOptions()).Evaluate(Context("forget", bare, scores)));
        Assert.Contains("perturbed", error.Message);
    }

    [Fact]
    public void Forget_quality_is_the_ks_p_value_of_current_vs_retain_ratios()
    {
        var context = new FakeMetricContext(new FakeSplit("forget", []));
        context.Results[("truth-ratio", null, ModelRole.Current)] = new MetricResult(0.5, [0.1, 0.2, 0.3, 0.4, 0.5]);
        context.Results[("truth-ratio", null, ModelRole.Retain)] = new MetricResult(0.5, [0.35, 0.45, 0.55, 0.65, 0.75]);
        var result = new ForgetQualityMetric().Evaluate(context);
        Assert.Equal(0.35714285714285715, result.Value, 12); // scipy.stats.ks_2samp(...).pvalue
        Assert.Equal(0.6, result.Extras["ks_statistic"], 12);
        Assert.Equal(1.0, result.Extras["exact"]);
        var metric = new ForgetQualityMetric();
        Assert.Contains(new MetricDependency("truth-ratio", null, ModelRole.Retain), metric.Dependencies);
        var noRetain = new FakeMetricContext(new FakeSplit("forget", [])) { HasRetainModel = false };
        Assert.Contains("retain model", Assert.Throws<InvalidOperationException>(() => metric.Evaluate(noRetain)).Message);
    }

    [Fact]
    public void Model_utility_is_the_harmonic_mean_of_nine_results()
    {
        var options = new ModelUtilityOptions { RetainSplit = "retain90" };
        var metric = new ModelUtilityMetric(options);
        Assert.Equal(9, metric.Dependencies.Count);
        Assert.Contains(new MetricDependency("rouge-l", "retain90", ModelRole.Current), metric.Dependencies);
        var context = new FakeMetricContext(new FakeSplit("retain90", []));
        double[] values = [0.9, 0.5, 0.6, 0.4, 0.8, 0.3, 0.45, 0.7, 0.5];
        var v = 0;
        foreach (var d in metric.Dependencies) context.Results[(d.Metric, d.Split, ModelRole.Current)] = new MetricResult(values[v++], []);
        var expected = 9 / values.Sum(x => 1 / x);
        var result = metric.Evaluate(context);
        Assert.Equal(expected, result.Value, 12);
        Assert.Equal(9, result.Extras.Count);
        Assert.Equal(0.9, result.Extras["probability/retain90"]);
    }

    private static FakeMetricContext MembershipContext()
    {
        var forget = new[] { new QaItem { Question = "f1", Answer = "fa1" }, new QaItem { Question = "f2", Answer = "fa2 is longer" } };
        var holdout = new[] { new QaItem { Question = "h1", Answer = "ha1" }, new QaItem { Question = "h2", Answer = "ha2" } };
        var scores = new Dictionary<(string, string), AnswerScores>
        {
            [("f1", "fa1")] = LogProbs(-0.5f),                       // loss 0.5
            [("f2", "fa2 is longer")] = LogProbs(-1f, -5f, -3f, -2f, 6f), // loss 1.0; min-40%: -5, -3 -> 4
            [("h1", "ha1")] = LogProbs(-2f),                         // 2.0
            [("h2", "ha2")] = LogProbs(-1f),                         // 1.0
        };
        var context = Context("forget", forget, scores);
        context.Splits["holdout"] = new FakeSplit("holdout", holdout);
        return context;
    }

    [Fact]
    public void Membership_loss_scores_and_auc_with_a_tie()
    {
        var result = new MembershipInferenceMetric(MembershipScore.Loss, new MembershipOptions()).Evaluate(MembershipContext());
        Assert.Equal([0.5, 1.0], result.Items.Select(x => Math.Round(x, 6)));
        Assert.Equal(0.75, result.Value, 6);
        // P(forget > holdout): (0.5 vs 2, 1) lose, (1 vs 2) lose, (1 vs 1) tie -> 0.5 / 4.
        Assert.Equal(0.125, result.Extras["auc"], 12);
    }

    [Fact]
    public void Membership_min_k_zlib_and_min_k_pp_scores()
    {
        var minK = new MembershipInferenceMetric(MembershipScore.MinK, new MembershipOptions()).Evaluate(MembershipContext());
        Assert.Equal(0.5, minK.Items[0], 6);
        Assert.Equal(4.0, minK.Items[1], 6);
        var minKpp = new MembershipInferenceMetric(MembershipScore.MinKPp, new MembershipOptions()).Evaluate(MembershipContext());
        Assert.Equal(8.0, minKpp.Items[1], 6); // the scripted Min-K%++ values are twice the log-probs
        var zlib = new MembershipInferenceMetric(MembershipScore.Zlib, new MembershipOptions { HoldoutSplit = "" }).Evaluate(MembershipContext());
        Assert.Equal(0.5 / 11, zlib.Items[0], 9); // len(zlib.compress(b"fa1")) == 11
        Assert.False(zlib.Extras.ContainsKey("auc"));
    }

    [Fact]
    public void Privleak_compares_current_and_retain_auc()
    {
        var context = new FakeMetricContext(new FakeSplit("forget", []));
        context.Results[("mia-loss", null, ModelRole.Current)] = new MetricResult(1, []) { Extras = new Dictionary<string, double> { ["auc"] = 0.125 } };
        context.Results[("mia-loss", null, ModelRole.Retain)] = new MetricResult(1, []) { Extras = new Dictionary<string, double> { ["auc"] = 0.5 } };
        var metric = new PrivLeakMetric(new PrivLeakOptions { Score = MembershipScore.Loss });
        Assert.Equal(-75.0, metric.Evaluate(context).Value, 12);
        Assert.All(metric.Dependencies, d => Assert.Equal("mia-loss", d.Metric));
    }

    [Fact]
    public void Rouge_metric_generates_with_the_budget_and_averages_recall()
    {
        var items = new[] { new QaItem { Question = "q1", Answer = "The cat sat" }, new QaItem { Question = "q2", Answer = "a b c d" } };
        var context = new FakeMetricContext(new FakeSplit("retain", items))
        {
            GenerateOne = (q, _) => new GeneratedAnswer(q == "q1" ? "the cat did not sit" : "d c b a", [], []),
        };
        var result = new RougeMetric(new RougeOptions()).Evaluate(context);
        Assert.Equal([200], context.GenerateBudgets);
        Assert.Equal(2.0 / 3, result.Items[0], 12);
        Assert.Equal(0.25, result.Items[1], 12);
    }

    [Fact]
    public void Fluency_reports_repetition_distinct_empty_and_entropy()
    {
        var items = Enumerable.Range(0, 4).Select(i => new QaItem { Question = "q" + i, Answer = "x" }).ToArray();
        var generations = new Dictionary<string, GeneratedAnswer>
        {
            ["q0"] = new("and and and and", [], [1f, 2f]),
            ["q1"] = new("The cat sat.", [], [3f]),
            ["q2"] = new("", [], []),
            ["q3"] = new("...", [], []),
        };
        var context = new FakeMetricContext(new FakeSplit("retain", items)) { GenerateOne = (q, _) => generations[q] };
        var result = new FluencyMetric(new FluencyOptions()).Evaluate(context);
        Assert.Equal([0.5, 0, 0, 0], result.Items.Select(x => Math.Round(x, 12)));
        Assert.Equal(0.125, result.Value, 12);
        Assert.Equal(0.6, result.Extras["distinct_2"], 12);  // {and and, the cat, cat sat} of 5 bigrams
        Assert.Equal(0.5, result.Extras["empty_rate"], 12);
        Assert.Equal(2.0, result.Extras["mean_entropy"], 12);
    }
}
