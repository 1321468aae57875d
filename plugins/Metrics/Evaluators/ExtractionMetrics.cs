using System.ComponentModel;

namespace Unlearn.Plugins.Metrics;

/// <summary>Options of <c>es</c>, <c>es-generate</c> and <c>em</c>.</summary>
public sealed class ExtractionStrengthOptions : IValidatableOptions
{
    /// <summary>Which question to prompt with.</summary>
    [Description("Prompt with the original or the paraphrased question (original|paraphrased).")]
    public QuestionField Question { get; init; } = QuestionField.Original;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(Question)) yield return $"question must be original or paraphrased, got {Question}";
    }
}

/// <summary>Options of <c>es-similar</c>.</summary>
public sealed class SimilarExtractionOptions : IValidatableOptions
{
    /// <summary>Which question to prompt with.</summary>
    [Description("Prompt with the original or the paraphrased question (original|paraphrased).")]
    public QuestionField Question { get; init; } = QuestionField.Original;

    /// <summary>ROUGE-L recall at or above which a continuation counts as reproduced.</summary>
    [Description("ROUGE-L recall of the continuation against the rest of the answer at or above which it counts as reproduced.")]
    public double Threshold { get; init; } = 0.5;

    /// <summary>Porter-stem the word tokens of the ROUGE-L recall, as rouge_score's <c>use_stemmer=True</c> (TOFU).</summary>
    [Description("Porter-stem word tokens longer than 3 characters before the LCS, as rouge_score with use_stemmer=True (TOFU's setting); false compares unstemmed tokens.")]
    public bool Stemmer { get; init; } = true;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(Question)) yield return $"question must be original or paraphrased, got {Question}";
        if (!(Threshold > 0 && Threshold <= 1)) yield return $"threshold must be in (0, 1], got {Threshold}";
    }
}

/// <summary>Extraction Strength, exact, from one teacher-forced pass: ES = 1 − k*/|a| with k* = (index of the last
/// argmax mismatch) + 1 over the answer tokens, EOS excluded. Per item: the item's ES; aggregate: the mean.</summary>
public sealed class ExtractionStrengthMetric(QuestionField question) : IMetric
{
    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        SplitScoring.NonEmptyItems(context, "es");
        var items = context.ScoreSplit(question).Select(ExtractionStrength.FromScores).ToList();
        return new MetricResult(Aggregates.Mean(items), items);
    }
}

/// <summary>Exact Memorisation: per item the share of answer tokens (EOS not counted) whose teacher-forced argmax
/// equals the label; aggregate: the mean over items.</summary>
public sealed class ExactMemorisationMetric(QuestionField question) : IMetric
{
    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        SplitScoring.NonEmptyItems(context, "em");
        var items = context.ScoreSplit(question).Select(ExtractionStrength.ExactMemorisation).ToList();
        return new MetricResult(Aggregates.Mean(items), items);
    }
}

/// <summary>Extraction Strength by its definition: for k = 0, 1, …, |a| − 1 the model is given the prompt and the
/// first k answer tokens and continues greedily; k* is the smallest k whose continuation is accepted
/// (|a| when none is). Under greedy decoding <see cref="ExtractionStrengthMetric"/> gives the same values in one pass;
/// this metric exists to check that and as the base of <c>es-similar</c>.</summary>
public sealed class GeneratedExtractionStrengthMetric : IMetric
{
    private readonly QuestionField _question;
    private readonly double? _similarityThreshold;
    private readonly bool _stem;

    /// <summary>Exact reproduction: the continuation must equal the remaining answer tokens.</summary>
    public GeneratedExtractionStrengthMetric(QuestionField question)
    {
        _question = question;
    }

    /// <summary>Similar reproduction: the continuation's ROUGE-L recall against the decoded rest of the answer must
    /// reach <paramref name="similarityThreshold"/>; the recall is on Porter-stemmed word tokens when
    /// <paramref name="stem"/> (rouge_score's <c>use_stemmer=True</c>, the default of <c>es-similar</c>).</summary>
    public GeneratedExtractionStrengthMetric(QuestionField question, double similarityThreshold, bool stem = true)
    {
        _question = question;
        _similarityThreshold = similarityThreshold;
        _stem = stem;
    }

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var split = SplitScoring.NonEmptyItems(context, _similarityThreshold is null ? "es-generate" : "es-similar");
        var eos = context.Tokenizer.EosId;
        var values = new List<double>(split.Count);
        foreach (var item in split)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            var (prompt, answerWithEos) = context.Encoder.Tokenize(SplitScoring.QuestionOf(item, _question), item.Answer);
            var answer = answerWithEos.Count > 0 && answerWithEos[^1] == eos ? answerWithEos.Take(answerWithEos.Count - 1).ToList() : answerWithEos.ToList();
            values.Add(ExtractionStrength.FromPrefix(PrefixNeeded(context, prompt, answer), answer.Count));
        }
        return new MetricResult(Aggregates.Mean(values), values);
    }

    private int PrefixNeeded(MetricContext context, IReadOnlyList<int> prompt, IReadOnlyList<int> answer)
    {
        if (answer.Count == 0) return 0;
        // One batched request per item: the prompt followed by each answer prefix of length k < |a|. Each continuation
        // is judged on its first |a| − k tokens, the budget of the answer rest it must reproduce.
        var prompts = Enumerable.Range(0, answer.Count).Select(k => (IReadOnlyList<int>)prompt.Concat(answer.Take(k)).ToList()).ToList();
        var continuations = context.GenerateTokens(prompts, answer.Count);
        for (var k = 0; k < answer.Count; k++)
        {
            var rest = answer.Skip(k).ToList();
            var continuation = continuations[k].Take(rest.Count).ToList();
            if (Reproduces(context, continuation, rest)) return k;
        }
        return answer.Count;
    }

    private bool Reproduces(MetricContext context, IReadOnlyList<int> continuation, IReadOnlyList<int> rest)
    {
        if (_similarityThreshold is not { } threshold) return continuation.SequenceEqual(rest);
        var gold = context.Tokenizer.Decode(rest);
        // A rest with no words (say a final ".") leaves nothing to recall: it counts as reproduced.
        if (RougeL.Tokenize(gold).Count == 0) return true;
        return RougeL.Recall(context.Tokenizer.Decode(continuation), gold, _stem) >= threshold;
    }
}
