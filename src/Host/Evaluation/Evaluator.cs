using System.Security.Cryptography;
using System.Text;
using Unlearn.Host.Plugins;
using Unlearn.Plugins;

namespace Unlearn.Host.Evaluation;

/// <summary>Greedy generation as the evaluator needs it: token prompts in, generated ids and per-step entropies out.</summary>
public delegate IReadOnlyList<(IReadOnlyList<int> Tokens, IReadOnlyList<float> Entropies)> GreedyGenerator(
    ILanguageModel model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens, CancellationToken cancellationToken);

/// <summary>A metric the run can compute: its plugin instance and the splits it is asked for.</summary>
public sealed record MetricInstance(string Name, IMetric Metric, PluginDescriptor Descriptor)
{
    /// <summary>The metric of that name with its default options (a metric another one depends on, or a benchmark's).</summary>
    public static MetricInstance WithDefaults(PluginRegistry registry, string name, string keyPath)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var descriptor = registry.Resolve(PluginKind.Metric, name, Configuration.SourceLocation.Default, keyPath);
        var options = Configuration.OptionsBinder.Bind(descriptor.OptionsType, null, keyPath, Configuration.SourceLocation.Default);
        return new MetricInstance(name, PluginRegistry.CreateWithOptions<IMetric>(descriptor, options), descriptor);
    }
}

/// <summary>What evaluations share across models of one run: data, tokenizer, metric instances, generation.</summary>
public sealed class EvaluationSetup
{
    /// <summary>Creates the setup.</summary>
    public EvaluationSetup(IReadOnlyDictionary<string, IDataSplit> splits, ITokenizerView tokenizer, IBatchEncoder encoder,
        Func<string, MetricInstance> metricByName, GreedyGenerator generator, int batchSize, int? maxItems, RetainLogs? retainLogs = null)
    {
        Splits = splits; Tokenizer = tokenizer; Encoder = encoder; MetricByName = metricByName;
        Generator = generator; BatchSize = batchSize; MaxItems = maxItems; RetainLogs = retainLogs;
    }

    /// <summary>The retain model's results from an OpenUnlearning TOFU_EVAL.json, used instead of a retain model's, or null.</summary>
    public RetainLogs? RetainLogs { get; }

    /// <summary>Logical split name -> split (already limited to MaxItems).</summary>
    public IReadOnlyDictionary<string, IDataSplit> Splits { get; }
    /// <summary>Tokenizer.</summary>
    public ITokenizerView Tokenizer { get; }
    /// <summary>Encoder.</summary>
    public IBatchEncoder Encoder { get; }
    /// <summary>Finds (or creates with default options) a metric by name.</summary>
    public Func<string, MetricInstance> MetricByName { get; }
    /// <summary>Greedy generation.</summary>
    public GreedyGenerator Generator { get; }
    /// <summary>Scoring batch size.</summary>
    public int BatchSize { get; }
    /// <summary>Limit on items per split.</summary>
    public int? MaxItems { get; }

    /// <summary>Model folders metrics score against (mia-reference), loaded on first use; null where none can be loaded.</summary>
    public ModelFolderScorer? ModelFolders { get; init; }

    /// <summary>A split by logical name, with the valid names on failure.</summary>
    public IDataSplit GetSplit(string name) => Splits.TryGetValue(name, out var s) ? s
        : throw new KeyNotFoundException(Configuration.NameSuggestions.Unknown("split", name, Splits.Keys.ToList()));
}

/// <summary>Evaluates one model: caches teacher-forced scores by content, generations by prompt, and metric results
/// by (metric, split), so composite metrics and repeated requests never rerun the model.</summary>
public sealed class ModelEvaluator
{
    private readonly EvaluationSetup _setup;
    private readonly Dictionary<string, AnswerScores[]> _scores = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GeneratedAnswer[]> _generations = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Metric, string Split), MetricResult> _results = [];
    private readonly HashSet<(string, string)> _inProgress = [];

    private readonly Func<ILanguageModel> _model;

    /// <summary>Creates an evaluator for the model <paramref name="model"/> gives, playing <paramref name="role"/>.
    /// It is asked for the model before every use, so that roles sharing one resident model (the run's original,
    /// unlearned and calibrated models are one model mixed at α = 0, 1 and α*) each get their own weights back.</summary>
    public ModelEvaluator(string role, Func<ILanguageModel> model, EvaluationSetup setup, Func<ModelRole, ModelEvaluator?> peers, CancellationToken cancellationToken)
    {
        Role = role; _model = model; _setup = setup; Peers = peers; CancellationToken = cancellationToken;
    }

    /// <summary>The role name (original, unlearned, calibrated, retain).</summary>
    public string Role { get; }
    /// <summary>The model, holding this role's weights.</summary>
    public ILanguageModel Model => _model();
    /// <summary>Other models of the run by SDK role.</summary>
    public Func<ModelRole, ModelEvaluator?> Peers { get; }
    /// <summary>Cancellation.</summary>
    public CancellationToken CancellationToken { get; }
    /// <summary>Model forward passes spent on scoring (for reports and tests).</summary>
    public int ScoringPasses { get; private set; }
    /// <summary>The shared setup.</summary>
    public EvaluationSetup Setup => _setup;

    /// <summary>A metric's result on a split, computed once.</summary>
    public MetricResult Result(string metric, string split)
    {
        if (_results.TryGetValue((metric, split), out var cached)) return cached;
        if (!_inProgress.Add((metric, split)))
            throw new InvalidOperationException($"metric '{metric}' on split '{split}' depends on itself.");
        try
        {
            var instance = _setup.MetricByName(metric);
            var context = new HostMetricContext(this, _setup.GetSplit(split));
            var result = PluginCall.Run(instance.Descriptor, $"Evaluate on split '{split}'", () => instance.Metric.Evaluate(context));
            _results[(metric, split)] = result;
            return result;
        }
        finally { _inProgress.Remove((metric, split)); }
    }

    /// <summary>Teacher-forced scores of pairs (cached by content).</summary>
    public IReadOnlyList<AnswerScores> Score(IReadOnlyList<(string Question, string Answer)> pairs)
    {
        var key = ContentKey(pairs);
        if (_scores.TryGetValue(key, out var cached)) return cached;
        var scores = AnswerScorer.Score(Model, _setup.Encoder, _setup.Tokenizer.PadId, pairs, _setup.BatchSize, CancellationToken);
        ScoringPasses++;
        _scores[key] = scores;
        return scores;
    }

    /// <summary>Greedy answers to questions (cached).</summary>
    public IReadOnlyList<GeneratedAnswer> Generate(IReadOnlyList<string> questions, int maxNewTokens)
    {
        var key = Key(questions.Append(maxNewTokens.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (_generations.TryGetValue(key, out var cached)) return cached;
        var prompts = questions.Select(q => _setup.Encoder.Tokenize(q, "").Prompt).ToList();
        var generated = GenerateTokensWithEntropy(prompts, maxNewTokens);
        var answers = generated.Select(g => new GeneratedAnswer(_setup.Tokenizer.Decode(g.Tokens).Trim(), g.Tokens, g.Entropies)).ToArray();
        _generations[key] = answers;
        return answers;
    }

    /// <summary>Greedy continuation of token prompts, in batches.</summary>
    public IReadOnlyList<(IReadOnlyList<int> Tokens, IReadOnlyList<float> Entropies)> GenerateTokensWithEntropy(IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens)
    {
        var output = new List<(IReadOnlyList<int>, IReadOnlyList<float>)>(prompts.Count);
        for (var start = 0; start < prompts.Count; start += _setup.BatchSize)
        {
            CancellationToken.ThrowIfCancellationRequested();
            output.AddRange(_setup.Generator(Model, prompts.Skip(start).Take(_setup.BatchSize).ToList(), maxNewTokens, CancellationToken));
        }
        return output;
    }

    /// <summary>The cache key of a list of pairs (a hash of their text).</summary>
    internal static string ContentKey(IReadOnlyList<(string Question, string Answer)> pairs) => Key(pairs.SelectMany(p => new[] { p.Question, p.Answer }));

    private static string Key(IEnumerable<string> parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in parts)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(part));
            hash.AppendData([0]);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}

/// <summary>The host's <see cref="MetricContext"/> for one (model, split).</summary>
public sealed class HostMetricContext(ModelEvaluator evaluator, IDataSplit split) : MetricContext
{
    /// <inheritdoc />
    public override IDataSplit Split => split;
    /// <inheritdoc />
    public override ILanguageModel Model => evaluator.Model;
    /// <inheritdoc />
    public override ITokenizerView Tokenizer => evaluator.Setup.Tokenizer;
    /// <inheritdoc />
    public override IBatchEncoder Encoder => evaluator.Setup.Encoder;
    /// <inheritdoc />
    public override CancellationToken CancellationToken => evaluator.CancellationToken;

    /// <inheritdoc />
    public override IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs) => evaluator.Score(pairs);

    /// <inheritdoc />
    public override IReadOnlyList<GeneratedAnswer> Generate(IReadOnlyList<string> questions, int maxNewTokens) => evaluator.Generate(questions, maxNewTokens);

    /// <inheritdoc />
    public override IReadOnlyList<IReadOnlyList<int>> GenerateTokens(IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens) =>
        evaluator.GenerateTokensWithEntropy(prompts, maxNewTokens).Select(g => g.Tokens).ToList();

    /// <inheritdoc />
    public override MetricResult Result(string metric, string? split1 = null, ModelRole role = ModelRole.Current)
    {
        if (role == ModelRole.Retain && evaluator.Setup.RetainLogs is { } logs) return logs.Result(metric, split1 ?? split.Name);
        var target = role == ModelRole.Current ? evaluator : evaluator.Peers(role)
            ?? throw new InvalidOperationException($"the run has no {role.ToString().ToLowerInvariant()} model, which '{metric}' needs. Add a retain model (model.retain_path or a learn recipe that trains one).");
        return Restoring(target, () => target.Result(metric, split1 ?? split.Name));
    }

    // A peer may share this evaluator's resident model (mixed to its own α): after it ran, this role's weights are put
    // back, so a metric holding Model across a peer call still reads its own model.
    private T Restoring<T>(ModelEvaluator target, Func<T> call)
    {
        var result = call();
        if (target != evaluator) _ = evaluator.Model;
        return result;
    }

    /// <inheritdoc />
    public override bool HasModel(ModelRole role) =>
        role == ModelRole.Current || evaluator.Peers(role) != null || role == ModelRole.Retain && evaluator.Setup.RetainLogs != null;

    /// <inheritdoc />
    public override IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs, ModelRole role)
    {
        var target = role == ModelRole.Current ? evaluator : evaluator.Peers(role)
            ?? throw new InvalidOperationException($"the run has no {role.ToString().ToLowerInvariant()} model to score answers with");
        return Restoring(target, () => target.Score(pairs));
    }

    /// <inheritdoc />
    public override IReadOnlyList<AnswerScores> ScoreAnswersWithModelFolder(string modelFolder, IReadOnlyList<(string Question, string Answer)> pairs) =>
        (evaluator.Setup.ModelFolders ?? throw new InvalidOperationException($"this evaluation cannot load model folders (asked for '{modelFolder}')"))
            .Score(modelFolder, pairs, evaluator.CancellationToken);

    /// <inheritdoc />
    public override IDataSplit GetSplit(string name) => evaluator.Setup.GetSplit(name);
}

/// <summary>Scores answers with models loaded from folders (a reference model a metric names): each folder is loaded once,
/// with its own tokenizer and the run's prompt format, and its scores are cached by content. Disposes the models.</summary>
/// <param name="load">Loads a folder's model and the encoder that formats pairs for it.</param>
/// <param name="batchSize">Scoring batch size.</param>
public sealed class ModelFolderScorer(Func<string, (ILanguageModel Model, IBatchEncoder Encoder, int PadId)> load, int batchSize) : IDisposable
{
    private readonly Dictionary<string, (ILanguageModel Model, IBatchEncoder Encoder, int PadId)> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Folder, string Key), AnswerScores[]> _scores = [];

    /// <summary>Teacher-forced scores of pairs under the model in <paramref name="folder"/>.</summary>
    public IReadOnlyList<AnswerScores> Score(string folder, IReadOnlyList<(string Question, string Answer)> pairs, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(folder);
        var key = ModelEvaluator.ContentKey(pairs);
        if (_scores.TryGetValue((full, key), out var cached)) return cached;
        if (!_models.TryGetValue(full, out var loaded))
        {
            loaded = load(full);
            _models[full] = loaded;
        }
        var scores = AnswerScorer.Score(loaded.Model, loaded.Encoder, loaded.PadId, pairs, batchSize, cancellationToken);
        _scores[(full, key)] = scores;
        return scores;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (model, _, _) in _models.Values) (model as IDisposable)?.Dispose();
        _models.Clear();
    }
}
