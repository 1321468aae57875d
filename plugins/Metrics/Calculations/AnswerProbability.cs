namespace Unlearn.Plugins.Metrics;

/// <summary>Length-normalised answer probabilities and the truth ratio (spec §4), from teacher-forced scores.
/// Every length here is the number of scored tokens, EOS included, like ℓ(a|q).</summary>
public static class AnswerProbability
{
    /// <summary>Mean token NLL ℓ(a|q)/|a|.</summary>
    public static double MeanNll(AnswerScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.LogProbs.Length == 0) throw new ArgumentException("an answer with no scored tokens has no probability");
        return scores.Nll / scores.LogProbs.Length;
    }

    /// <summary>p̄(a|q) = exp(−ℓ(a|q)/|a|).</summary>
    public static double Normalised(AnswerScores scores) => Math.Exp(-MeanNll(scores));

    /// <summary>p̄(a) / (p̄(a) + Σⱼ p̄(âⱼ)): the probability of the true answer relative to its perturbed versions.</summary>
    public static double RelativeToPerturbed(AnswerScores answer, IReadOnlyList<AnswerScores> perturbed)
    {
        ArgumentNullException.ThrowIfNull(perturbed);
        var p = Normalised(answer);
        var denominator = p + perturbed.Sum(Normalised);
        return denominator == 0 ? 0.0 : p / denominator;
    }

    /// <summary>R = p̃_pert / p̄(ã) with p̃_pert the geometric mean of p̄ over the perturbed answers, computed in log space:
    /// log R = −mean_j ℓ(âⱼ)/|âⱼ| + ℓ(ã)/|ã|.</summary>
    public static double TruthRatio(AnswerScores reference, IReadOnlyList<AnswerScores> perturbed)
    {
        ArgumentNullException.ThrowIfNull(perturbed);
        if (perturbed.Count == 0) throw new ArgumentException("the truth ratio needs at least one perturbed answer");
        var logGeometricMean = -perturbed.Average(MeanNll);
        return Math.Exp(logGeometricMean + MeanNll(reference));
    }

    /// <summary>The forget-set form of one truth ratio: min(R, 1/R) (1 when the model cannot tell true from false).</summary>
    public static double ForgetForm(double ratio) => Math.Min(ratio, 1.0 / ratio);

    /// <summary>The form for other sets: max(0, 1 − R) (1 when the true answer is far more likely).</summary>
    public static double OtherForm(double ratio) => Math.Max(0.0, 1.0 - ratio);
}
