using Unlearn.Plugins;
using Unlearn.Plugins.Metrics;

[assembly: UnlearnPlugin(typeof(MetricsModule))]

namespace Unlearn.Plugins.Metrics;

/// <summary>Registers the metrics of this assembly: Extraction Strength (exact, paraphrased, by generation, similar), the
/// TOFU suite, membership inference and fluency.</summary>
public sealed class MetricsModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        catalog.AddMetric<ExtractionStrengthOptions>(
            new PluginInfo("es", "Extraction Strength 1 - k*/|a| from one teacher-forced pass (k*: answer tokens needed before greedy decoding reproduces the rest)."),
            o => new ExtractionStrengthMetric(o.Question));
        catalog.AddMetric<NoOptions>(
            new PluginInfo("es-paraphrased", "Extraction Strength on the paraphrased questions."),
            _ => new ExtractionStrengthMetric(QuestionField.Paraphrased));
        catalog.AddMetric<ExtractionStrengthOptions>(
            new PluginInfo("es-generate", "Extraction Strength by its definition, searching k with greedy generation (a check of es; slow)."),
            o => new GeneratedExtractionStrengthMetric(o.Question));
        catalog.AddMetric<SimilarExtractionOptions>(
            new PluginInfo("es-similar", "Extraction Strength where a continuation counts as reproduced when its ROUGE-L recall reaches a threshold."),
            o => new GeneratedExtractionStrengthMetric(o.Question, o.Threshold, o.Stemmer));
        catalog.AddMetric<ExtractionStrengthOptions>(
            new PluginInfo("em", "Exact Memorisation: share of answer tokens (EOS not counted) whose teacher-forced argmax is the label."),
            o => new ExactMemorisationMetric(o.Question));
        catalog.AddMetric<NoOptions>(
            new PluginInfo("perplexity", "Perplexity: per item exp of its mean token NLL; aggregate exp of the split's mean token NLL."),
            _ => new PerplexityMetric());
        catalog.AddMetric<ProbabilityOptions>(
            new PluginInfo("probability", "Length-normalised answer probability exp(-l/|a|), normalised over perturbed answers on general-knowledge splits."),
            o => new ProbabilityMetric(o));
        catalog.AddMetric<RougeOptions>(
            new PluginInfo("rouge-l", "ROUGE-L recall of the greedy generation against the gold answer.") { Aliases = ["rouge"] },
            o => new RougeMetric(o));
        catalog.AddMetric<TruthRatioOptions>(
            new PluginInfo("truth-ratio", "Truth Ratio of perturbed to (paraphrased) true answer probability; per item R."),
            o => new TruthRatioMetric(o));
        catalog.AddMetric<NoOptions>(
            new PluginInfo("forget-quality", "KS-test p-value between the forget-set truth ratios of the current and the retain model."),
            _ => new ForgetQualityMetric());
        catalog.AddMetric<ModelUtilityOptions>(
            new PluginInfo("model-utility", "Harmonic mean of probability, ROUGE-L and truth ratio on retain, real_authors and world_facts."),
            o => new ModelUtilityMetric(o));
        foreach (var score in MembershipInferenceMetric.TeacherForcedScores)
            catalog.AddMetric<MembershipOptions>(
                new PluginInfo(MembershipInferenceMetric.MetricName(score), MembershipDescription(score)),
                o => new MembershipInferenceMetric(score, o));
        catalog.AddMetric<GradNormOptions>(
            new PluginInfo("mia-gradnorm", "Membership inference by gradient norm: per item the mean over parameter tensors of the norm of the answer-loss gradient, with the forget-vs-holdout AUC."),
            o => new GradNormMembershipMetric(o));
        catalog.AddMetric<ReferenceMembershipOptions>(
            new PluginInfo("mia-reference", "Membership inference against a reference model (original, retain or a folder): mean token NLL minus the reference's, with the forget-vs-holdout AUC."),
            o => new ReferenceMembershipMetric(o));
        catalog.AddMetric<PrivLeakOptions>(
            new PluginInfo("privleak", "PrivLeak: relative difference (%) of the membership AUC of the current and the retain model."),
            o => new PrivLeakMetric(o));
        catalog.AddMetric<FluencyOptions>(
            new PluginInfo("fluency", "Repetition rate of greedy generations, with distinct-2, empty-answer rate and mean token entropy."),
            o => new FluencyMetric(o));
    }

    private static string MembershipDescription(MembershipScore score) => score switch
    {
        MembershipScore.Loss => "Membership inference by the LOSS score (mean token NLL) with the forget-vs-holdout AUC.",
        MembershipScore.Zlib => "Membership inference by the ZLib score (NLL / zlib length of the answer) with the forget-vs-holdout AUC.",
        MembershipScore.MinK => "Membership inference by Min-K% (mean of the k% lowest token log-probs) with the forget-vs-holdout AUC.",
        MembershipScore.MinKPp => "Membership inference by Min-K%++ (standardised token log-probs) with the forget-vs-holdout AUC.",
        _ => throw new ArgumentOutOfRangeException(nameof(score), score, "not a teacher-forced membership score"),
    };
}
