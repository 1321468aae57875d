namespace Unlearn.Plugins.Metrics;

/// <summary>n-gram counts over word tokens, for the fluency metric.</summary>
public static class NGramStatistics
{
    /// <summary>The n-grams of a token sequence joined by a space (empty when shorter than n).</summary>
    public static IReadOnlyList<string> NGrams(IReadOnlyList<string> tokens, int n)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be >= 1");
        var grams = new List<string>();
        for (var i = 0; i + n <= tokens.Count; i++)
            grams.Add(string.Join(' ', tokens.Skip(i).Take(n)));
        return grams;
    }

    /// <summary>Repetition rate of one sequence: the share of its n-grams that repeat an earlier n-gram of the same
    /// sequence, 1 − distinct/total; 0 when it has no n-gram. "and and and and" with n = 2 gives 2/3.</summary>
    public static double RepetitionRate(IReadOnlyList<string> tokens, int n)
    {
        var grams = NGrams(tokens, n);
        if (grams.Count == 0) return 0.0;
        return 1.0 - (double)grams.Distinct(StringComparer.Ordinal).Count() / grams.Count;
    }

    /// <summary>Distinct-n over a corpus (Li et al. 2016): distinct n-grams across all sequences divided by the total
    /// number of n-grams; 0 when there is none.</summary>
    public static double Distinct(IEnumerable<IReadOnlyList<string>> sequences, int n)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        var total = 0;
        foreach (var tokens in sequences)
            foreach (var gram in NGrams(tokens, n))
            {
                distinct.Add(gram);
                total++;
            }
        return total == 0 ? 0.0 : (double)distinct.Count / total;
    }
}
