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

    /// <summary>The model, for the metrics that need gradients (mia-gradnorm); null for the others.</summary>
    public ILanguageModel? LanguageModel { get; init; }

    /// <summary>Teacher-forced scores of a pair under another model of the run.</summary>
    public Func<ModelRole, string, string, AnswerScores> ScoreWithRole { get; init; } = (r, q, a) => throw new InvalidOperationException($"no {r} scores scripted for ({q}, {a})");

    /// <summary>Teacher-forced scores of a pair under the model of a folder.</summary>
    public Func<string, string, string, AnswerScores> ScoreWithFolder { get; init; } = (f, q, a) => throw new InvalidOperationException($"no scores of folder {f} scripted for ({q}, {a})");

    public bool HasOriginalModel { get; init; } = true;

    public override ILanguageModel Model => LanguageModel ?? throw new NotSupportedException("metrics must not touch the model directly");

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

    public override bool HasModel(ModelRole role) => role switch
    {
        ModelRole.Current => true,
        ModelRole.Retain => HasRetainModel,
        _ => HasOriginalModel,
    };

    public override IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs, ModelRole role) =>
        pairs.Select(p => ScoreWithRole(role, p.Question, p.Answer)).ToList();

    public override IReadOnlyList<AnswerScores> ScoreAnswersWithModelFolder(string modelFolder, IReadOnlyList<(string Question, string Answer)> pairs) =>
        pairs.Select(p => ScoreWithFolder(modelFolder, p.Question, p.Answer)).ToList();

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
    /// <summary>Prompt and answer tokens right-padded with 0; labels on the answer tokens and EOS, −100 elsewhere.</summary>
    public TokenBatch Encode(IReadOnlyList<(string Question, string Answer)> pairs)
    {
        var rows = pairs.Select(p => Tokenize(p.Question, p.Answer)).ToList();
        var width = rows.Max(r => r.Prompt.Count + r.Answer.Count);
        var ids = new long[rows.Count * width];
        var attention = new long[rows.Count * width];
        var labels = Enumerable.Repeat(TokenBatch.IgnoreIndex, rows.Count * width).ToArray();
        for (var b = 0; b < rows.Count; b++)
        {
            var all = rows[b].Prompt.Concat(rows[b].Answer).ToList();
            for (var t = 0; t < all.Count; t++)
            {
                ids[b * width + t] = all[t];
                attention[b * width + t] = 1;
                if (t >= rows[b].Prompt.Count) labels[b * width + t] = all[t];
            }
        }
        return new TokenBatch(TorchSharp.torch.tensor(ids, rows.Count, width), TorchSharp.torch.tensor(attention, rows.Count, width), TorchSharp.torch.tensor(labels, rows.Count, width));
    }

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
