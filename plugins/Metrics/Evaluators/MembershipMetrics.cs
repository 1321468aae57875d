using System.ComponentModel;

namespace Unlearn.Plugins.Metrics;

/// <summary>A per-item membership-inference score. Every score is oriented like a loss: higher means less like a
/// training member.</summary>
public enum MembershipScore
{
    /// <summary>Mean token NLL ℓ(a|q)/|a|.</summary>
    Loss,
    /// <summary>Mean token NLL divided by the zlib-compressed byte length of the answer text.</summary>
    Zlib,
    /// <summary>−(mean of the k% lowest token log-probabilities).</summary>
    MinK,
    /// <summary>−(mean of the k% lowest Min-K%++ standardised token log-probabilities).</summary>
    MinKPp,
    /// <summary>Gradient norm of the mean answer-token NLL with respect to the model's parameters (mia-gradnorm).</summary>
    GradNorm,
    /// <summary>Mean token NLL minus a reference model's mean token NLL (mia-reference).</summary>
    Reference,
}

/// <summary>Options of the <c>mia-*</c> metrics.</summary>
public sealed class MembershipOptions : IValidatableOptions
{
    /// <summary>The non-member split.</summary>
    [Description("Logical name of the split of never-trained items the forget split is compared with for the AUC (empty: no AUC).")]
    public string HoldoutSplit { get; init; } = "holdout";

    /// <summary>k of Min-K% and Min-K%++.</summary>
    [Description("Fraction k of lowest-scoring tokens averaged by mia-min-k and mia-min-k-pp.")]
    public double K { get; init; } = 0.4;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(K > 0 && K <= 1)) yield return $"k must be in (0, 1], got {K}";
    }
}

/// <summary>Membership-inference scores of the evaluated split's items (per item, oriented so that higher = less
/// member-like) with their mean as the aggregate. Extras: <c>auc</c>, the Mann–Whitney probability that an item of the
/// evaluated split scores higher than an item of the holdout split (ties ½). 0.5 means forget and holdout items are
/// indistinguishable; near 0 means the forget items are recognised as members (the orientation of MUSE's PrivLeak,
/// where an under-unlearned model gets a large negative value).</summary>
public sealed class MembershipInferenceMetric(MembershipScore score, MembershipOptions options) : IMetric
{
    /// <summary>The scores computed from one teacher-forced pass of the evaluated model (the others need gradients or a
    /// second model and have their own metrics).</summary>
    public static IReadOnlyList<MembershipScore> TeacherForcedScores { get; } =
        [MembershipScore.Loss, MembershipScore.Zlib, MembershipScore.MinK, MembershipScore.MinKPp];

    /// <summary>The score of one answer.</summary>
    public static double Score(MembershipScore score, AnswerScores scores, string answerText, double k) => score switch
    {
        MembershipScore.Loss => AnswerProbability.MeanNll(scores),
        MembershipScore.Zlib => AnswerProbability.MeanNll(scores) / Aggregates.ZlibLength(answerText),
        MembershipScore.MinK => -Aggregates.MeanOfLowest(scores.LogProbs, k),
        MembershipScore.MinKPp => -Aggregates.MeanOfLowest(scores.MinKPlusPlus, k),
        _ => throw new ArgumentOutOfRangeException(nameof(score), score, "not a teacher-forced membership score"),
    };

    /// <summary>The metric name of a score ("mia-loss", …).</summary>
    public static string MetricName(MembershipScore score) => score switch
    {
        MembershipScore.Loss => "mia-loss",
        MembershipScore.Zlib => "mia-zlib",
        MembershipScore.MinK => "mia-min-k",
        MembershipScore.MinKPp => "mia-min-k-pp",
        MembershipScore.GradNorm => "mia-gradnorm",
        MembershipScore.Reference => "mia-reference",
        _ => throw new ArgumentOutOfRangeException(nameof(score), score, "unknown membership score"),
    };

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context) =>
        MembershipResult.Of(context, MetricName(score), options.HoldoutSplit, items =>
        {
            var scores = context.ScoreAnswers(items.Select(i => (i.Question, i.Answer)).ToList());
            return items.Select((item, i) => Score(score, scores[i], item.Answer, options.K)).ToList();
        });
}

/// <summary>The result shape every <c>mia-*</c> metric shares: per-item scores of the evaluated split, their mean, and
/// (when a holdout split is named) Extras <c>auc</c>: <see cref="RankAuc"/> of the split's scores against the holdout's.</summary>
internal static class MembershipResult
{
    public static MetricResult Of(MetricContext context, string metric, string holdoutSplit, Func<IReadOnlyList<QaItem>, IReadOnlyList<double>> score)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = SplitScoring.NonEmptyItems(context, metric);
        context.CancellationToken.ThrowIfCancellationRequested();
        var values = score(items);
        var extras = new Dictionary<string, double>();
        if (!string.IsNullOrWhiteSpace(holdoutSplit))
        {
            var holdout = context.GetSplit(holdoutSplit).Items;
            if (holdout.Count == 0) throw new InvalidOperationException($"{metric}: holdout split '{holdoutSplit}' has no items");
            context.CancellationToken.ThrowIfCancellationRequested();
            extras["auc"] = RankAuc.Compute(values, score(holdout));
        }
        return new MetricResult(Aggregates.Mean(values), values) { Extras = extras };
    }
}

/// <summary>Options of <c>privleak</c>.</summary>
public sealed class PrivLeakOptions : IValidatableOptions
{
    /// <summary>Which membership score's AUC to compare.</summary>
    [Description("Membership score whose AUC is compared: loss, zlib, min-k, min-k-pp, grad-norm or reference.")]
    public MembershipScore Score { get; init; } = MembershipScore.MinK;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(Score)) yield return $"score must be loss, zlib, min-k, min-k-pp, grad-norm or reference, got {Score}";
    }
}

/// <summary>PrivLeak = (AUC_current − AUC_retain) / AUC_retain × 100, with the AUCs of the chosen <c>mia-*</c> metric on
/// the evaluated (forget) split. 0 is ideal; large negative values mean the forget items are still recognised as members
/// (under-unlearning), large positive ones over-unlearning. No per-item values; Extras: <c>auc</c>, <c>auc_retain</c>.</summary>
public sealed class PrivLeakMetric(PrivLeakOptions options) : IMetric
{
    private readonly string _membershipMetric = MembershipInferenceMetric.MetricName(options.Score);

    /// <inheritdoc />
    public IReadOnlyList<MetricDependency> Dependencies =>
    [
        new(_membershipMetric, null, ModelRole.Current),
        new(_membershipMetric, null, ModelRole.Retain),
    ];

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.HasModel(ModelRole.Retain))
            throw new InvalidOperationException("privleak needs the retain model (trained without the forget set); the run has none");
        var current = Auc(context.Result(_membershipMetric, null, ModelRole.Current), "current");
        var retain = Auc(context.Result(_membershipMetric, null, ModelRole.Retain), "retain");
        if (retain == 0) throw new InvalidOperationException($"privleak: the retain model's {_membershipMetric} AUC is 0, the ratio is undefined");
        return new MetricResult((current - retain) / retain * 100.0, [])
        {
            Extras = new Dictionary<string, double> { ["auc"] = current, ["auc_retain"] = retain },
        };
    }

    private double Auc(MetricResult result, string role) =>
        result.Extras.TryGetValue("auc", out var auc)
            ? auc
            : throw new InvalidOperationException($"privleak: {_membershipMetric} of the {role} model has no 'auc' (is holdout_split set?)");
}
