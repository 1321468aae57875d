using Unlearn.Plugins;

namespace Unlearn.Metrics.Tests.Fakes;

/// <summary>A split built from rows.</summary>
internal sealed record FakeSplit(string Name, IReadOnlyList<QaItem> Items) : IDataSplit
{
    public string Source => "test";
}

/// <summary>A MetricContext whose scores, generations and dependency results are scripted by the test.</summary>
internal sealed class FakeMetricContext(IDataSplit split) : MetricContext
{
    /// <summary>Teacher-forced scores of a (question, answer) pair.</summary>
    public Func<string, string, AnswerScores> Score { get; init; } = (q, a) => throw new InvalidOperationException($"no scores scripted for ({q}, {a})");

    /// <summary>Greedy generation for a question.</summary>
    public Func<string, int, GeneratedAnswer> GenerateOne { get; init; } = (q, _) => throw new InvalidOperationException($"no generation scripted for {q}");

    /// <summary>Greedy continuation of token prompts.</summary>
    public Func<IReadOnlyList<int>, int, IReadOnlyList<int>> Continue { get; init; } = (_, _) => throw new InvalidOperationException("no token generation scripted");

    public Dictionary<(string Metric, string? Split, ModelRole Role), MetricResult> Results { get; } = new();

    public Dictionary<string, IDataSplit> Splits { get; } = new();

    public bool HasRetainModel { get; init; } = true;

    public WordTokenizer WordTokenizer { get; } = new();

    public int ScoreRequests { get; private set; }

    public List<int> GenerateBudgets { get; } = [];

    public override IDataSplit Split { get; } = split;

    public override ILanguageModel Model => throw new NotSupportedException("metrics must not touch the model directly");

    public override ITokenizerView Tokenizer => WordTokenizer;

    public override IBatchEncoder Encoder => new WordEncoder(WordTokenizer);

    public override CancellationToken CancellationToken => CancellationToken.None;

    public override IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs)
    {
        ScoreRequests++;
        return pairs.Select(p => Score(p.Question, p.Answer)).ToList();
    }

    public override IReadOnlyList<GeneratedAnswer> Generate(IReadOnlyList<string> questions, int maxNewTokens)
    {
        GenerateBudgets.Add(maxNewTokens);
        return questions.Select(q => GenerateOne(q, maxNewTokens)).ToList();
    }

    public override IReadOnlyList<IReadOnlyList<int>> GenerateTokens(IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens) =>
        prompts.Select(p => Continue(p, maxNewTokens)).ToList();

    public override MetricResult Result(string metric, string? split = null, ModelRole role = ModelRole.Current) =>
        Results.TryGetValue((metric, split, role), out var r) ? r : throw new KeyNotFoundException($"no result scripted for {metric}/{split}/{role}");

    public override bool HasModel(ModelRole role) => role == ModelRole.Current || HasRetainModel;

    public override IDataSplit GetSplit(string name) =>
        Splits.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"unknown split {name}; valid: {string.Join(", ", Splits.Keys)}");
}

/// <summary>Texts are space-separated tokens "t&lt;id&gt;"; id 1 is EOS, 0 is padding.</summary>
internal sealed class WordTokenizer : ITokenizerView
{
    public IReadOnlyList<int> Encode(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => int.Parse(w.AsSpan(1))).ToList();

    public string Decode(IEnumerable<int> ids) => string.Join(' ', ids.Where(i => i != EosId && i != PadId).Select(i => "t" + i));

    public int EosId => 1;

    public int PadId => 0;

    public int VocabSize => 32;
}

/// <summary>Prompt = the question's tokens; answer = the answer's tokens followed by EOS.</summary>
internal sealed class WordEncoder(WordTokenizer tokenizer) : IBatchEncoder
{
    public TokenBatch Encode(IReadOnlyList<(string Question, string Answer)> pairs) => throw new NotSupportedException();

    public string FormatPrompt(string question) => question;

    public (IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer) Tokenize(string question, string answer) =>
        (tokenizer.Encode(question), tokenizer.Encode(answer).Append(tokenizer.EosId).ToList());
}

/// <summary>A deterministic greedy "language model" on token ids: the argmax after a prefix is
/// <c>Next[last token]</c>. Teacher-forced scores and greedy continuations are both derived from the same table, as a
/// real model's would be.</summary>
internal sealed class TokenTableModel(int[] next, WordTokenizer tokenizer)
{
    public int Predict(IReadOnlyList<int> prefix) => next[prefix[^1]];

    public AnswerScores Score(string question, string answer)
    {
        var prompt = tokenizer.Encode(question);
        var labels = tokenizer.Encode(answer).Append(tokenizer.EosId).ToList();
        var context = prompt.ToList();
        var matches = new bool[labels.Count];
        var logProbs = new float[labels.Count];
        for (var t = 0; t < labels.Count; t++)
        {
            matches[t] = Predict(context) == labels[t];
            logProbs[t] = matches[t] ? -0.1f : -3.0f;
            context.Add(labels[t]);
        }
        return new AnswerScores(logProbs, matches, logProbs, EndsWithEos: true);
    }

    public IReadOnlyList<int> Continue(IReadOnlyList<int> prompt, int maxNewTokens)
    {
        var context = prompt.ToList();
        var output = new List<int>();
        while (output.Count < maxNewTokens)
        {
            var token = Predict(context);
            if (token == tokenizer.EosId) break;
            output.Add(token);
            context.Add(token);
        }
        return output;
    }
}
