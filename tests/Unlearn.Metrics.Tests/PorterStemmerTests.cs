using System.Text.Json;
using Unlearn.Plugins;
using Unlearn.Plugins.Metrics;

namespace Unlearn.Metrics.Tests;

/// <summary>The Porter stemmer and stemmed ROUGE-L against NLTK 3.8 (PorterStemmer(), NLTK_EXTENSIONS) values in
/// Fixtures/porter_fixtures.json, written by scripts/fixtures/porter_fixtures.py.</summary>
public class PorterStemmerTests
{
    private static readonly JsonElement Fixtures = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "porter_fixtures.json"))).RootElement;

    [Fact]
    public void Every_fixture_word_stems_as_nltk_does()
    {
        var stems = Fixtures.GetProperty("stems").EnumerateObject().ToList();
        Assert.True(stems.Count > 3000, $"only {stems.Count} fixture words");
        var mismatches = stems
            .Select(p => (Word: p.Name, Expected: p.Value.GetString()!, Actual: PorterStemmer.Stem(p.Name)))
            .Where(c => c.Expected != c.Actual)
            .Select(c => $"  {c.Word}: nltk {c.Expected}, got {c.Actual}")
            .ToList();
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {stems.Count} words stem differently from NLTK:\n" + string.Join("\n", mismatches));
    }

    [Fact]
    public void Sentence_recalls_match_rouge_score_with_and_without_the_stemmer()
    {
        var sentences = Fixtures.GetProperty("sentences").EnumerateArray().ToList();
        Assert.True(sentences.Count >= 20, $"only {sentences.Count} fixture sentences");
        var mismatches = new List<string>();
        foreach (var s in sentences)
        {
            var generated = s.GetProperty("generated").GetString()!;
            var gold = s.GetProperty("gold").GetString()!;
            var stemmed = RougeL.Recall(generated, gold, stem: true);
            var unstemmed = RougeL.Recall(generated, gold, stem: false);
            if (Math.Abs(stemmed - s.GetProperty("recall").GetDouble()) > 1e-12)
                mismatches.Add($"  stemmed '{generated}' vs '{gold}': expected {s.GetProperty("recall").GetDouble():R}, got {stemmed:R}");
            if (Math.Abs(unstemmed - s.GetProperty("recall_unstemmed").GetDouble()) > 1e-12)
                mismatches.Add($"  unstemmed '{generated}' vs '{gold}': expected {s.GetProperty("recall_unstemmed").GetDouble():R}, got {unstemmed:R}");
        }
        Assert.True(mismatches.Count == 0, "ROUGE-L recalls differ from the fixture:\n" + string.Join("\n", mismatches));
    }

    [Theory]
    [InlineData("caresses", "caress")]
    [InlineData("ponies", "poni")]
    [InlineData("ties", "tie")]
    [InlineData("cats", "cat")]
    [InlineData("running", "run")]
    [InlineData("hopping", "hop")]
    [InlineData("falling", "fall")]
    [InlineData("filing", "file")]
    [InlineData("agreed", "agre")]
    [InlineData("feed", "feed")]
    [InlineData("died", "die")]
    [InlineData("cried", "cri")]
    [InlineData("relational", "relat")]
    [InlineData("conditional", "condit")]
    [InlineData("rational", "ration")]
    [InlineData("happily", "happili")]
    [InlineData("happy", "happi")]
    [InlineData("enjoy", "enjoy")]
    [InlineData("sky", "sky")]
    [InlineData("skies", "sky")]
    [InlineData("dying", "die")]
    [InlineData("news", "news")]
    [InlineData("innings", "inning")]
    [InlineData("generously", "gener")]
    [InlineData("geology", "geolog")]
    [InlineData("y", "y")]
    [InlineData("ys", "ys")]
    [InlineData("abc123", "abc123")]
    public void Hand_checked_stems(string word, string stem) => Assert.Equal(stem, PorterStemmer.Stem(word));

    [Fact]
    public void Tokens_of_at_most_three_characters_and_digit_tokens_are_not_stemmed()
    {
        // NLTK would stem these ("ies" -> "i", "ran" stays, "was" -> "wa"), rouge_score never passes them to it.
        Assert.Equal("wa", PorterStemmer.Stem("was"));
        Assert.Equal(["was", "ies", "ran", "the", "cat", "run"], RougeL.Tokenize("Was ies ran the cats running", stem: true));
        Assert.Equal(["2024", "1234567", "12"], RougeL.Tokenize("2024 1234567 12", stem: true));
        Assert.Equal(["it", "s", "caress"], RougeL.Tokenize("It's caresses", stem: true));
        Assert.Equal(RougeL.Tokenize("Caresses, ponies; running!"), RougeL.Tokenize("Caresses, ponies; running!", stem: false));
    }

    [Fact]
    public void The_stemmer_option_defaults_on_and_reaches_the_rouge_metric()
    {
        Assert.True(new RougeOptions().Stemmer);
        Assert.True(new SimilarExtractionOptions().Stemmer);
        var items = new[] { new QaItem { Question = "q", Answer = "the cat runs" } };
        var context = new FakeMetricContext(new FakeSplit("retain", items)) { GenerateOne = (_, _) => new GeneratedAnswer("the cats ran", [], []) };
        Assert.Equal(2.0 / 3, new RougeMetric(new RougeOptions()).Evaluate(context).Items[0], 12);
        Assert.Equal(1.0 / 3, new RougeMetric(new RougeOptions { Stemmer = false }).Evaluate(context).Items[0], 12);
        Assert.Equal(1.0 / 3, RougeL.Recall("the cats ran", "the cat runs"), 12);
    }

    [Fact]
    public void Es_similar_compares_stemmed_tokens_unless_told_not_to()
    {
        // Answer "the cat runs"; every continuation is "the cats ran ...". At k=0 the stemmed recall is 2/3 >= 0.6, so
        // ES = 1; unstemmed it is 1/3, and no shorter rest is matched either ("the cats" vs "cat runs", "the" vs
        // "runs"), so k* = |a| and ES = 0.
        var context = new VocabularyContext(["<pad>", "<eos>", "the", "cat", "cats", "runs", "ran", "q"])
        {
            Items = [new QaItem { Question = "q", Answer = "the cat runs" }],
            Continue = (_, max) => new[] { 2, 4, 6, 6, 6 }.Take(max).ToList(),
        };
        Assert.Equal(1.0, new GeneratedExtractionStrengthMetric(QuestionField.Original, 0.6).Evaluate(context).Value, 12);
        Assert.Equal(1.0, new GeneratedExtractionStrengthMetric(QuestionField.Original, 0.6, stem: true).Evaluate(context).Value, 12);
        Assert.Equal(0.0, new GeneratedExtractionStrengthMetric(QuestionField.Original, 0.6, stem: false).Evaluate(context).Value, 12);
    }

    /// <summary>A context whose tokenizer maps ids to the words of a vocabulary (0 padding, 1 EOS), for generations
    /// made of real words; only token generation is scripted.</summary>
    private sealed class VocabularyContext(string[] vocabulary) : MetricContext, ITokenizerView, IBatchEncoder
    {
        public required IReadOnlyList<QaItem> Items { get; init; }

        public required Func<IReadOnlyList<int>, int, IReadOnlyList<int>> Continue { get; init; }

        public override IDataSplit Split => new FakeSplit("forget", Items);

        public override ILanguageModel Model => throw new NotSupportedException();

        public override ITokenizerView Tokenizer => this;

        public override IBatchEncoder Encoder => this;

        public override CancellationToken CancellationToken => CancellationToken.None;

        public override IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs) => throw new NotSupportedException();

        public override IReadOnlyList<GeneratedAnswer> Generate(IReadOnlyList<string> questions, int maxNewTokens) => throw new NotSupportedException();

        public override IReadOnlyList<IReadOnlyList<int>> GenerateTokens(IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens) =>
            prompts.Select(p => Continue(p, maxNewTokens)).ToList();

        public override MetricResult Result(string metric, string? split = null, ModelRole role = ModelRole.Current) => throw new NotSupportedException();

        public override bool HasModel(ModelRole role) => role == ModelRole.Current;

        public override IDataSplit GetSplit(string name) => throw new NotSupportedException();

        public IReadOnlyList<int> Encode(string text) =>
            text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => Array.IndexOf(vocabulary, w)).ToList();

        public string Decode(IEnumerable<int> ids) => string.Join(' ', ids.Where(i => i > 1).Select(i => vocabulary[i]));

        public int EosId => 1;

        public int PadId => 0;

        public int VocabSize => vocabulary.Length;

        public TokenBatch Encode(IReadOnlyList<(string Question, string Answer)> pairs) => throw new NotSupportedException();

        public string FormatPrompt(string question) => question;

        public (IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer) Tokenize(string question, string answer) =>
            (Encode(question), Encode(answer).Append(EosId).ToList());
    }
}
