using Unlearn.Plugins;

namespace Unlearn.Plugins.Testing;

/// <summary>A split built from rows.</summary>
/// <param name="Name">The split's name.</param>
/// <param name="Items">Its rows, in order.</param>
public sealed record FakeSplit(string Name, IReadOnlyList<QaItem> Items) : IDataSplit
{
    /// <inheritdoc />
    public string Source => "test";
}

/// <summary>A MetricContext whose scores, generations and dependency results are scripted by the test: set the
/// functions a metric calls (<see cref="Score"/>, <see cref="GenerateOne"/>, ...) and the <see cref="Results"/> of the
/// metrics it depends on; anything unscripted throws, naming what was asked for. Texts use <see cref="WordTokenizer"/>.</summary>
/// <param name="split">The split being evaluated.</param>
public sealed class FakeMetricContext(IDataSplit split) : MetricContext
{
    /// <summary>Teacher-forced scores of a (question, answer) pair.</summary>
    public Func<string, string, AnswerScores> Score { get; init; } = (q, a) => throw new InvalidOperationException($"no scores scripted for ({q}, {a})");

    /// <summary>Greedy generation for a question.</summary>
    public Func<string, int, GeneratedAnswer> GenerateOne { get; init; } = (q, _) => throw new InvalidOperationException($"no generation scripted for {q}");

    /// <summary>Greedy continuation of token prompts.</summary>
    public Func<IReadOnlyList<int>, int, IReadOnlyList<int>> Continue { get; init; } = (_, _) => throw new InvalidOperationException("no token generation scripted");

    /// <summary>Results of other metrics, as <see cref="Result"/> returns them (split null = the evaluated split).</summary>
    public Dictionary<(string Metric, string? Split, ModelRole Role), MetricResult> Results { get; } = new();

    /// <summary>Splits by name, as <see cref="GetSplit"/> returns them.</summary>
    public Dictionary<string, IDataSplit> Splits { get; } = new();

    /// <summary>Whether the run has a retain model (default true).</summary>
    public bool HasRetainModel { get; init; } = true;

    /// <summary>The tokenizer (and, through <see cref="Encoder"/>, the encoder) of this context.</summary>
    public WordTokenizer WordTokenizer { get; } = new();

    /// <summary>How many times <see cref="ScoreAnswers(IReadOnlyList{ValueTuple{string, string}})"/> was called.</summary>
    public int ScoreRequests { get; private set; }

    /// <summary>The <c>maxNewTokens</c> of every <see cref="Generate"/> call.</summary>
    public List<int> GenerateBudgets { get; } = [];

    /// <inheritdoc />
    public override IDataSplit Split { get; } = split;

    /// <summary>The model, for the metrics that need gradients (mia-gradnorm); null for the others.</summary>
    public ILanguageModel? LanguageModel { get; init; }

    /// <summary>Teacher-forced scores of a pair under another model of the run.</summary>
    public Func<ModelRole, string, string, AnswerScores> ScoreWithRole { get; init; } = (r, q, a) => throw new InvalidOperationException($"no {r} scores scripted for ({q}, {a})");

    /// <summary>Teacher-forced scores of a pair under the model of a folder.</summary>
    public Func<string, string, string, AnswerScores> ScoreWithFolder { get; init; } = (f, q, a) => throw new InvalidOperationException($"no scores of folder {f} scripted for ({q}, {a})");

    /// <summary>Whether the run has an original (pre-unlearning) model (default true).</summary>
    public bool HasOriginalModel { get; init; } = true;

    /// <inheritdoc />
    public override ILanguageModel Model => LanguageModel ?? throw new NotSupportedException("metrics must not touch the model directly");

    /// <inheritdoc />
    public override ITokenizerView Tokenizer => WordTokenizer;

    /// <inheritdoc />
    public override IBatchEncoder Encoder => new WordEncoder(WordTokenizer);

    /// <inheritdoc />
    public override CancellationToken CancellationToken => CancellationToken.None;

    /// <inheritdoc />
    public override IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs)
    {
        ScoreRequests++;
        return pairs.Select(p => Score(p.Question, p.Answer)).ToList();
    }

    /// <inheritdoc />
    public override IReadOnlyList<GeneratedAnswer> Generate(IReadOnlyList<string> questions, int maxNewTokens)
    {
        GenerateBudgets.Add(maxNewTokens);
        return questions.Select(q => GenerateOne(q, maxNewTokens)).ToList();
    }

    /// <inheritdoc />
    public override IReadOnlyList<IReadOnlyList<int>> GenerateTokens(IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens) =>
        prompts.Select(p => Continue(p, maxNewTokens)).ToList();

    /// <inheritdoc />
    public override MetricResult Result(string metric, string? split = null, ModelRole role = ModelRole.Current) =>
        Results.TryGetValue((metric, split, role), out var r) ? r : throw new KeyNotFoundException($"no result scripted for {metric}/{split}/{role}");

    /// <inheritdoc />
    public override bool HasModel(ModelRole role) => role switch
    {
        ModelRole.Current => true,
        ModelRole.Retain => HasRetainModel,
        _ => HasOriginalModel,
    };

    /// <inheritdoc />
    public override IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs, ModelRole role) =>
        pairs.Select(p => ScoreWithRole(role, p.Question, p.Answer)).ToList();

    /// <inheritdoc />
    public override IReadOnlyList<AnswerScores> ScoreAnswersWithModelFolder(string modelFolder, IReadOnlyList<(string Question, string Answer)> pairs) =>
        pairs.Select(p => ScoreWithFolder(modelFolder, p.Question, p.Answer)).ToList();

    /// <inheritdoc />
    public override IDataSplit GetSplit(string name) =>
        Splits.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"unknown split {name}; valid: {string.Join(", ", Splits.Keys)}");
}

/// <summary>Texts are space-separated tokens "t&lt;id&gt;" (<c>"t5 t7"</c>); id 1 is EOS, 0 is padding, 32 ids.</summary>
public sealed class WordTokenizer : ITokenizerView
{
    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => int.Parse(w.AsSpan(1))).ToList();

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => string.Join(' ', ids.Where(i => i != EosId && i != PadId).Select(i => "t" + i));

    /// <inheritdoc />
    public int EosId => 1;

    /// <inheritdoc />
    public int PadId => 0;

    /// <inheritdoc />
    public int VocabSize => 32;
}

/// <summary>Prompt = the question's tokens; answer = the answer's tokens followed by EOS.</summary>
/// <param name="tokenizer">The tokenizer of the texts.</param>
public sealed class WordEncoder(WordTokenizer tokenizer) : IBatchEncoder
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

    /// <inheritdoc />
    public string FormatPrompt(string question) => question;

    /// <inheritdoc />
    public (IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer) Tokenize(string question, string answer) =>
        (tokenizer.Encode(question), tokenizer.Encode(answer).Append(tokenizer.EosId).ToList());
}

/// <summary>A deterministic greedy "language model" on token ids: the argmax after a prefix is
/// <c>Next[last token]</c>. Teacher-forced scores and greedy continuations are both derived from the same table, as a
/// real model's would be.</summary>
/// <param name="next">The argmax after each last token id.</param>
/// <param name="tokenizer">The tokenizer of the texts.</param>
public sealed class TokenTableModel(int[] next, WordTokenizer tokenizer)
{
    /// <summary>The greedy next token after <paramref name="prefix"/>.</summary>
    public int Predict(IReadOnlyList<int> prefix) => next[prefix[^1]];

    /// <summary>Teacher-forced scores: log p = −0.1 where the table predicts the label, −3 elsewhere.</summary>
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

    /// <summary>Greedy continuation of <paramref name="prompt"/> until EOS or <paramref name="maxNewTokens"/> tokens.</summary>
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
