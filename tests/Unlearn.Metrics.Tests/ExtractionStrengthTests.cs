using Unlearn.Plugins;
using Unlearn.Plugins.Metrics;

namespace Unlearn.Metrics.Tests;

public class ExtractionStrengthTests
{
    private static AnswerScores Scores(bool eos, params bool[] matches) =>
        new(matches.Select(m => m ? -0.1f : -2f).ToArray(), matches, new float[matches.Length], eos);

    [Theory]
    [InlineData(new[] { true, true, true, true }, 4, 1.0)]      // all correct: k* = 0
    [InlineData(new[] { true, true, true, false }, 4, 0.0)]     // last token wrong: k* = |a|
    [InlineData(new[] { false, true, true, true }, 4, 0.75)]    // first wrong: k* = 1
    [InlineData(new[] { true, false, true, false, true }, 5, 0.2)] // last mismatch at 3: k* = 4
    [InlineData(new[] { true }, 1, 1.0)]                        // single token, right
    [InlineData(new[] { false }, 1, 0.0)]                       // single token, wrong
    [InlineData(new[] { true, true, false }, 2, 1.0)]           // EOS (3rd entry) wrong but excluded
    [InlineData(new[] { false, true, false }, 2, 0.5)]          // EOS excluded, first wrong
    public void FromMatches_hand_computed(bool[] matches, int answerLength, double expected) =>
        Assert.Equal(expected, ExtractionStrength.FromMatches(matches, answerLength), 12);

    [Fact]
    public void FromScores_excludes_eos_only_when_flagged()
    {
        Assert.Equal(1.0, ExtractionStrength.FromScores(Scores(true, true, true, false)), 12);
        Assert.Equal(0.0, ExtractionStrength.FromScores(Scores(false, true, true, false)), 12);
    }

    [Fact]
    public void Exact_memorisation_counts_the_answer_tokens_without_eos()
    {
        Assert.Equal(0.75, ExtractionStrength.ExactMemorisation([true, true, true, false], 4), 12);
        Assert.Equal(0.5, ExtractionStrength.ExactMemorisation([false, true, false], 2), 12);
        Assert.Equal(0.0, ExtractionStrength.ExactMemorisation([], 0), 12);
        Assert.Equal(0.0, ExtractionStrength.ExactMemorisation([true], 0), 12);
        // Hand-counted: 22 answer tokens, the argmax wrong at positions 3, 9, 14 and 20 (18 right), then the EOS, right.
        var matches = Enumerable.Range(0, 23).Select(i => i is not (3 or 9 or 14 or 20)).ToArray();
        Assert.Equal(18.0 / 22, ExtractionStrength.ExactMemorisation(Scores(true, matches)), 12);
        Assert.Equal(18.0 / 22, ExtractionStrength.ExactMemorisation(Scores(true, [.. matches[..22], false])), 12);
        Assert.Equal(18.0 / 22, ExtractionStrength.ExactMemorisation(Scores(false, matches[..22])), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => ExtractionStrength.ExactMemorisation([true], 2));
    }

    [Fact]
    public void Bad_lengths_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ExtractionStrength.FromMatches([true], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExtractionStrength.FromPrefix(3, 2));
    }

    private static FakeMetricContext ScriptedContext()
    {
        var split = new FakeSplit("forget", [
            new QaItem { Question = "q1", Answer = "a1", ParaphrasedQuestion = "p1" },
            new QaItem { Question = "q2", Answer = "a2", ParaphrasedQuestion = "p2" },
        ]);
        var table = new Dictionary<(string, string), AnswerScores>
        {
            [("q1", "a1")] = Scores(true, true, true, true, false),  // ES 1, EM 3/3 (the EOS miss is not counted)
            [("q2", "a2")] = Scores(true, false, true, true),        // ES 1/2 (|a| = 2), EM 1/2
            [("p1", "a1")] = Scores(true, true, false, true, true),  // ES 1/3, EM 2/3
            [("p2", "a2")] = Scores(true, true, true, true),         // ES 1, EM 1
        };
        return new FakeMetricContext(split) { Score = (q, a) => table[(q, a)] };
    }

    [Fact]
    public void Es_metric_averages_items_over_original_questions()
    {
        var result = new ExtractionStrengthMetric(QuestionField.Original).Evaluate(ScriptedContext());
        Assert.Equal([1.0, 0.5], result.Items.Select(v => Math.Round(v, 12)));
        Assert.Equal(0.75, result.Value, 12);
    }

    [Fact]
    public void Es_metric_uses_paraphrased_questions_when_asked()
    {
        var result = new ExtractionStrengthMetric(QuestionField.Paraphrased).Evaluate(ScriptedContext());
        Assert.Equal(1.0 / 3, result.Items[0], 12);
        Assert.Equal((1.0 / 3 + 1.0) / 2, result.Value, 12);
    }

    [Fact]
    public void Em_metric_averages_token_shares()
    {
        var result = new ExactMemorisationMetric(QuestionField.Original).Evaluate(ScriptedContext());
        Assert.Equal([1.0, 0.5], result.Items.Select(v => Math.Round(v, 12)));
        Assert.Equal((1.0 + 0.5) / 2, result.Value, 12);
    }

    private static (FakeMetricContext Context, TokenTableModel Model) TokenTableWorld(int seed, int items)
    {
        var random = new Random(seed);
        var tokenizer = new WordTokenizer();
        var next = Enumerable.Range(0, tokenizer.VocabSize).Select(_ => random.Next(2, tokenizer.VocabSize)).ToArray();
        next[5] = tokenizer.EosId; // some continuations stop early
        var model = new TokenTableModel(next, tokenizer);
        var rows = new List<QaItem>();
        for (var i = 0; i < items; i++)
        {
            var question = string.Join(' ', Enumerable.Range(0, 3).Select(_ => "t" + random.Next(2, tokenizer.VocabSize)));
            // Answers mostly follow the table (so prefixes get reproduced), with random deviations.
            var context = tokenizer.Encode(question).ToList();
            var answer = new List<int>();
            var length = random.Next(1, 9);
            while (answer.Count < length)
            {
                var token = random.NextDouble() < 0.75 ? model.Predict(context) : random.Next(2, tokenizer.VocabSize);
                if (token == tokenizer.EosId) token = 2;
                answer.Add(token);
                context.Add(token);
            }
            rows.Add(new QaItem { Question = question, Answer = tokenizer.Decode(answer) });
        }
        var ctx = new FakeMetricContext(new FakeSplit("forget", rows)) { Score = model.Score, Continue = model.Continue };
        return (ctx, model);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Es_generate_equals_one_pass_es_on_a_greedy_model(int seed)
    {
        var (context, _) = TokenTableWorld(seed, 40);
        var onePass = new ExtractionStrengthMetric(QuestionField.Original).Evaluate(context);
        var generated = new GeneratedExtractionStrengthMetric(QuestionField.Original).Evaluate(context);
        Assert.Equal(onePass.Items, generated.Items);
        Assert.Equal(onePass.Value, generated.Value, 12);
        // The scripted world covers the interesting cases.
        Assert.Contains(onePass.Items, v => v == 1.0);
        Assert.Contains(onePass.Items, v => v == 0.0);
        Assert.Contains(onePass.Items, v => v is > 0 and < 1);
    }

    [Fact]
    public void Es_similar_is_never_below_exact_es()
    {
        var (context, _) = TokenTableWorld(4, 40);
        var exact = new GeneratedExtractionStrengthMetric(QuestionField.Original).Evaluate(context);
        var similar = new GeneratedExtractionStrengthMetric(QuestionField.Original, 0.5).Evaluate(context);
        for (var i = 0; i < exact.Items.Count; i++) Assert.True(similar.Items[i] >= exact.Items[i]);
        Assert.True(similar.Value > exact.Value);
    }

    [Fact]
    public void Es_similar_hand_case()
    {
        // Answer t2 t3 t4 t6 (|a| = 4). The model continues every prompt with t3 t4 t9 t9 ...:
        // k=0: "t3 t4 t9 t9" vs rest "t2 t3 t4 t6": LCS 2 of 4 = 0.5 >= 0.5, reproduced, so ES = 1 at threshold 0.5,
        // while at threshold 0.6: k=1: "t3 t4 t9" vs "t3 t4 t6": 2/3 >= 0.6, so k* = 1 and ES = 0.75.
        var split = new FakeSplit("forget", [new QaItem { Question = "t7", Answer = "t2 t3 t4 t6" }]);
        IReadOnlyList<int> Continue(IReadOnlyList<int> prompt, int max) => new[] { 3, 4, 9, 9, 9, 9 }.Take(max).ToList();
        var context = new FakeMetricContext(split) { Continue = Continue };
        Assert.Equal(1.0, new GeneratedExtractionStrengthMetric(QuestionField.Original, 0.5).Evaluate(context).Value, 12);
        Assert.Equal(0.75, new GeneratedExtractionStrengthMetric(QuestionField.Original, 0.6).Evaluate(context).Value, 12);
        Assert.Equal(0.0, new GeneratedExtractionStrengthMetric(QuestionField.Original).Evaluate(context).Value, 12);
    }
}
