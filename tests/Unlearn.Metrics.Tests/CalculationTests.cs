using System.IO.Compression;
using System.Text;
using Unlearn.Plugins.Metrics;

namespace Unlearn.Metrics.Tests;

public class CalculationTests
{
    [Fact]
    public void Rouge_tokenizer_lowercases_and_splits_on_non_alphanumerics()
    {
        Assert.Equal(["hello", "world", "it", "s", "2024"], RougeL.Tokenize("Hello, World! It's 2024."));
        Assert.Equal(["caf", "na", "ve"], RougeL.Tokenize("Café naïve"));
        Assert.Empty(RougeL.Tokenize(" ... "));
    }

    [Theory]
    [InlineData("a b c d e", "a c e", 3)]
    [InlineData("the cat sat on the mat", "the mat sat", 2)]
    [InlineData("x y z", "a b", 0)]
    [InlineData("", "a b", 0)]
    [InlineData("a b a b", "b a b a", 3)]
    public void Lcs_known_cases(string a, string b, int expected) =>
        Assert.Equal(expected, RougeL.LongestCommonSubsequence(RougeL.Tokenize(a), RougeL.Tokenize(b)));

    [Fact]
    public void Rouge_recall_known_strings()
    {
        // gold: "the cat was found under the bed" (7 words); LCS with the generation: the cat under the bed = 5.
        Assert.Equal(5.0 / 7, RougeL.Recall("The cat hid under the big bed.", "the cat was found under the bed"), 12);
        Assert.Equal(1.0, RougeL.Recall("Paris, of course: Paris is the capital", "paris is the capital"), 12);
        Assert.Equal(0.0, RougeL.Recall("anything", "!!!"), 12);
    }

    [Fact]
    public void Auc_known_cases_including_ties()
    {
        Assert.Equal(1.0, RankAuc.Compute([3, 4, 5], [0, 1, 2]), 12);
        Assert.Equal(0.0, RankAuc.Compute([0, 1], [2, 3, 4]), 12);
        Assert.Equal(0.5, RankAuc.Compute([1, 1, 1], [1, 1]), 12);
        // pos {1,2,2}, neg {2,3}: pairs won 0, tied 2 (2 vs 2 twice) -> (0 + 2·½) / 6.
        Assert.Equal(1.0 / 6, RankAuc.Compute([1, 2, 2], [2, 3]), 12);
    }

    [Fact]
    public void Auc_matches_pair_counting_on_tied_random_data()
    {
        var random = new Random(7);
        var pos = Enumerable.Range(0, 57).Select(_ => (double)random.Next(0, 12)).ToList();
        var neg = Enumerable.Range(0, 43).Select(_ => (double)random.Next(2, 14)).ToList();
        double wins = 0;
        foreach (var p in pos)
            foreach (var n in neg)
                wins += p > n ? 1 : p == n ? 0.5 : 0;
        Assert.Equal(wins / (pos.Count * neg.Count), RankAuc.Compute(pos, neg), 12);
    }

    [Fact]
    public void Harmonic_mean_known_values()
    {
        Assert.Equal(12.0 / 7, Aggregates.HarmonicMean([1, 2, 4]), 12);
        Assert.Equal(0.5, Aggregates.HarmonicMean([0.5, 0.5, 0.5]), 12);
        Assert.Equal(0.0, Aggregates.HarmonicMean([0.3, 0.0, 0.9]), 12);
        Assert.Throws<ArgumentException>(() => Aggregates.HarmonicMean([1, -1]));
    }

    [Fact]
    public void Zlib_length_is_the_length_of_a_valid_zlib_stream()
    {
        // Python: len(zlib.compress(t.encode())) for "", "a" and the sentence below.
        Assert.Equal(8, Aggregates.ZlibLength(""));
        Assert.Equal(9, Aggregates.ZlibLength("a"));
        Assert.Equal(45, Aggregates.ZlibLength("The author was born in Santiago in 1961."));
        foreach (var text in new[] { "a", "The author was born in Santiago in 1961.", string.Concat(Enumerable.Repeat("and ", 200)) })
        {
            var length = Aggregates.ZlibLength(text);
            // Independently: compress, check the RFC 1950 header, and decompress back to the text.
            using var buffer = new MemoryStream();
            using (var z = new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
                z.Write(Encoding.UTF8.GetBytes(text));
            var bytes = buffer.ToArray();
            Assert.Equal(bytes.Length, length);
            Assert.Equal(0x78, bytes[0]);
            Assert.Equal(0, (bytes[0] * 256 + bytes[1]) % 31);
            using var back = new ZLibStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var reader = new StreamReader(back, Encoding.UTF8);
            Assert.Equal(text, reader.ReadToEnd());
        }
        Assert.True(Aggregates.ZlibLength(string.Concat(Enumerable.Repeat("and ", 200))) < 40); // repetition compresses
    }

    [Fact]
    public void Mean_of_lowest_takes_floor_k_n_at_least_one()
    {
        Assert.Equal(-4.5, Aggregates.MeanOfLowest([-1f, -5f, -3f, -2f, -4f], 0.4), 6);  // floor(2) lowest
        Assert.Equal(-2.0, Aggregates.MeanOfLowest([-2f, -1f], 0.4), 6);                 // floor(0.8) -> 1
        Assert.Equal(-2.5, Aggregates.MeanOfLowest([-1f, -2f, -3f, -4f], 1.0), 6);
    }

    [Fact]
    public void Repetition_rate_and_distinct_known_cases()
    {
        Assert.Equal(2.0 / 3, NGramStatistics.RepetitionRate(["and", "and", "and", "and"], 2), 12);
        Assert.Equal(0.0, NGramStatistics.RepetitionRate(["a", "b", "c", "d"], 3), 12);
        Assert.Equal(0.0, NGramStatistics.RepetitionRate(["a", "b"], 3), 12);
        // "a b a b a": trigrams aba, bab, aba -> 1 - 2/3.
        Assert.Equal(1.0 / 3, NGramStatistics.RepetitionRate(["a", "b", "a", "b", "a"], 3), 12);
        // bigrams: [a b, b c] + [a b, b b] -> 3 distinct of 4.
        Assert.Equal(0.75, NGramStatistics.Distinct([["a", "b", "c"], ["a", "b", "b"], ["z"]], 2), 12);
    }
}
