using System.Text;

namespace Unlearn.Plugins.Metrics;

/// <summary>ROUGE-L on word tokens, tokenised like the rouge_score package: lower-case, every run of characters other
/// than ASCII letters and digits is a separator; with stemming (rouge_score's <c>use_stemmer=True</c>, TOFU's setting)
/// every token longer than 3 characters is replaced by its <see cref="PorterStemmer"/> stem.</summary>
public static class RougeL
{
    /// <summary>The word tokens of a text, unstemmed.</summary>
    public static IReadOnlyList<string> Tokenize(string text) => Tokenize(text, stem: false);

    /// <summary>The word tokens of a text; with <paramref name="stem"/> the tokens of more than 3 characters are
    /// Porter-stemmed (NLTK's default mode), as rouge_score does.</summary>
    public static IReadOnlyList<string> Tokenize(string text, bool stem)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var current = new StringBuilder();
        void Flush()
        {
            if (current.Length == 0) return;
            var token = current.ToString();
            tokens.Add(stem && token.Length > 3 ? PorterStemmer.Stem(token) : token);
            current.Clear();
        }
        foreach (var raw in text)
        {
            var c = char.ToLowerInvariant(raw);
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9') current.Append(c);
            else Flush();
        }
        Flush();
        return tokens;
    }

    /// <summary>Length of the longest common subsequence of two token sequences (O(|a|·|b|) time, O(|b|) memory).</summary>
    public static int LongestCommonSubsequence<T>(IReadOnlyList<T> a, IReadOnlyList<T> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var comparer = EqualityComparer<T>.Default;
        var previous = new int[b.Count + 1];
        var current = new int[b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
        {
            for (var j = 1; j <= b.Count; j++)
                current[j] = comparer.Equals(a[i - 1], b[j - 1])
                    ? previous[j - 1] + 1
                    : Math.Max(previous[j], current[j - 1]);
            (previous, current) = (current, previous);
        }
        return previous[b.Count];
    }

    /// <summary>ROUGE-L recall = LCS / |gold| in unstemmed word tokens; 0 when the gold text has no tokens.</summary>
    public static double Recall(string generated, string gold) => Recall(generated, gold, stem: false);

    /// <summary>ROUGE-L recall = LCS / |gold| in word tokens, Porter-stemmed when <paramref name="stem"/> (rouge_score's
    /// <c>use_stemmer</c>); 0 when the gold text has no tokens.</summary>
    public static double Recall(string generated, string gold, bool stem)
    {
        var goldTokens = Tokenize(gold, stem);
        if (goldTokens.Count == 0) return 0.0;
        return (double)LongestCommonSubsequence(Tokenize(generated, stem), goldTokens) / goldTokens.Count;
    }
}
