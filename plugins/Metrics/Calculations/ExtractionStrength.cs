namespace Unlearn.Plugins.Metrics;

/// <summary>Extraction Strength and Exact Memorisation from teacher-forced argmax matches (spec §4).</summary>
public static class ExtractionStrength
{
    /// <summary>k*: the number of answer tokens the model must be given before greedy decoding reproduces the rest,
    /// i.e. (index of the last mismatch) + 1 over the first <paramref name="answerLength"/> entries, 0 if none.</summary>
    /// <param name="matches">Whether the teacher-forced argmax equals the label, per answer token (EOS may follow).</param>
    /// <param name="answerLength">Number of answer tokens to consider (EOS excluded).</param>
    public static int PrefixNeeded(IReadOnlyList<bool> matches, int answerLength)
    {
        ArgumentNullException.ThrowIfNull(matches);
        if (answerLength < 0 || answerLength > matches.Count)
            throw new ArgumentOutOfRangeException(nameof(answerLength), answerLength, $"answer length must be within 0..{matches.Count}");
        for (var i = answerLength - 1; i >= 0; i--)
            if (!matches[i]) return i + 1;
        return 0;
    }

    /// <summary>ES = 1 − k*/|a| from a prefix length k* and an answer length |a|; an empty answer counts as fully
    /// extracted (1).</summary>
    public static double FromPrefix(int prefixNeeded, int answerLength)
    {
        if (answerLength < 0) throw new ArgumentOutOfRangeException(nameof(answerLength), answerLength, "answer length must be >= 0");
        if (prefixNeeded < 0 || prefixNeeded > answerLength)
            throw new ArgumentOutOfRangeException(nameof(prefixNeeded), prefixNeeded, $"prefix must be within 0..{answerLength}");
        return answerLength == 0 ? 1.0 : 1.0 - (double)prefixNeeded / answerLength;
    }

    /// <summary>ES of one answer from its argmax matches (EOS excluded through <paramref name="answerLength"/>).</summary>
    public static double FromMatches(IReadOnlyList<bool> matches, int answerLength) =>
        FromPrefix(PrefixNeeded(matches, answerLength), answerLength);

    /// <summary>ES of one scored answer: the EOS entry, when present, is not part of the answer.</summary>
    public static double FromScores(AnswerScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return FromMatches(scores.ArgmaxMatches, scores.AnswerLength);
    }

    /// <summary>Exact Memorisation: the share of the first <paramref name="answerLength"/> entries (the answer tokens,
    /// EOS not counted, as OpenUnlearning's <c>exact_memorization</c> and <see cref="FromMatches"/> do) whose
    /// teacher-forced argmax equals the label; 0 for an answer with no tokens.</summary>
    /// <param name="matches">Whether the teacher-forced argmax equals the label, per answer token (EOS may follow).</param>
    /// <param name="answerLength">Number of answer tokens to count (EOS excluded).</param>
    public static double ExactMemorisation(IReadOnlyList<bool> matches, int answerLength)
    {
        ArgumentNullException.ThrowIfNull(matches);
        if (answerLength < 0 || answerLength > matches.Count)
            throw new ArgumentOutOfRangeException(nameof(answerLength), answerLength, $"answer length must be within 0..{matches.Count}");
        if (answerLength == 0) return 0.0;
        var hits = 0;
        for (var i = 0; i < answerLength; i++) if (matches[i]) hits++;
        return (double)hits / answerLength;
    }

    /// <summary>Exact Memorisation of one scored answer: the EOS entry, when present, is not counted.</summary>
    public static double ExactMemorisation(AnswerScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        return ExactMemorisation(scores.ArgmaxMatches, scores.AnswerLength);
    }
}
