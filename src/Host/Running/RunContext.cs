using Unlearn.Host.Configuration;
using Unlearn.Host.Evaluation;
using Unlearn.Host.Plugins;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running.Stages;
using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Text;

namespace Unlearn.Host.Running;

/// <summary>What the stages of one run share: the plan, the cache and log, and what each stage produced for the next
/// (data, model folders and their keys, records, metric values). Models are loaded on first use and disposed with
/// the context, so a stage whose result comes from the cache loads nothing.</summary>
public sealed class RunContext(RunPlan plan, StageCache cache, RunLog log, RunFolder folder, string sweepLabel, CancellationToken cancellation) : IDisposable
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly Dictionary<string, CausalLM> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ModelEvaluator> _evaluators = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MetricInstance> _metrics = new(StringComparer.Ordinal);
    private ModelTokenizer? _tokenizer;
    private BatchEncoder? _encoder;
    private RetainLogs? _retainLogs;
    private ModelFolderScorer? _modelFolders;
    private EvaluationSetup? _setup;
    private IModelMixer? _mixer;

    /// <summary>The plan being run.</summary>
    public RunPlan Plan { get; } = plan;
    /// <summary>The pipeline.</summary>
    public PipelineSpec Spec => Plan.Spec;
    /// <summary>The stage cache.</summary>
    public StageCache Cache { get; } = cache;
    /// <summary>The run log.</summary>
    public RunLog Log { get; } = log;
    /// <summary>The run folder the report stage writes into.</summary>
    public RunFolder Folder { get; } = folder;
    /// <summary>The sweep point's label ("" for a plain run).</summary>
    public string SweepLabel { get; } = sweepLabel;
    /// <summary>When the run started.</summary>
    public DateTime Started { get; } = DateTime.Now;
    /// <summary>Seconds since the run started.</summary>
    public double Elapsed => _clock.Elapsed.TotalSeconds;
    /// <summary>Where <c>report.save_model</c> saves models: the run folder's models/.</summary>
    public string ModelsFolder => Folder.File("models");
    /// <summary>Stops the run at the next step (Ctrl-C, SIGTERM).</summary>
    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>The run's data (set by the data stage).</summary>
    public RunData Data { get; set; } = null!;
    /// <summary>The original and retain models (set by the learn stage).</summary>
    public LearnedModels Learned { get; set; } = null!;
    /// <summary>Model folders by role (original, retain, unlearned, saved models).</summary>
    public Dictionary<string, string> ModelFolders { get; } = new(StringComparer.Ordinal);
    /// <summary>A key per model role that says what its weights are (the stage key that made them): evaluation results are cached under it.</summary>
    public Dictionary<string, string> ModelKeys { get; } = new(StringComparer.Ordinal);
    /// <summary>Stage cache keys (stage -> key), for the manifest.</summary>
    public Dictionary<string, string> StageKeys { get; } = new(StringComparer.Ordinal);
    /// <summary>Seconds per stage.</summary>
    public List<StageTiming> Timings { get; } = [];
    /// <summary>The unlearn stage's record, or null.</summary>
    public UnlearnRecord? Unlearning { get; set; }
    /// <summary>Why the unlearned model is unusable (unlearning diverged), or null.</summary>
    public string? Failure { get; set; }
    /// <summary>The calibration, or null.</summary>
    public CalibrationRecord? Calibration { get; set; }
    /// <summary>Every metric value, in evaluation order.</summary>
    public List<MetricRecord> Metrics { get; } = [];
    /// <summary>Every metric value under an attack, in attack and evaluation order.</summary>
    public List<MetricRecord> AttackMetrics { get; } = [];
    /// <summary>Whether denormal floats are flushed to zero in this run.</summary>
    public bool DenormalsFlushed { get; init; }

    /// <summary>The tokenizer of the original model.</summary>
    public ModelTokenizer Tokenizer => _tokenizer ??= ModelTokenizer.Load(Learned.TargetDir);

    /// <summary>The batch encoder every stage after learning uses.</summary>
    public BatchEncoder Encoder => _encoder ??= new BatchEncoder(Tokenizer, Plan.Template, Spec.Model.MaxLength);

    /// <summary>Whether the run has a model in <paramref name="role"/> (calibrated: once calibration ran).</summary>
    public bool HasModel(string role) => role switch
    {
        ModelRoles.Original => true,
        ModelRoles.Retain => Learned.RetainDir != null,
        ModelRoles.Unlearned => Failure == null && ModelFolders.ContainsKey(ModelRoles.Unlearned),
        ModelRoles.Calibrated => Failure == null && Calibration != null && ModelFolders.ContainsKey(ModelRoles.Unlearned),
        _ => false,
    };

    /// <summary>The model in <paramref name="role"/>, loaded on first use. Once the run has an unlearned model, the
    /// original, unlearned and calibrated roles are the mixer's one resident model, set to θ(0), θ(1) or θ(α*) (bit for
    /// bit the loaded checkpoints at 0 and 1) by each call: a caller that keeps the model across another role's call
    /// asks again before using it. Throws when the run has no such model (check <see cref="HasModel"/>).</summary>
    public CausalLM Model(string role)
    {
        if (!HasModel(role)) throw new InvalidOperationException($"the run has no {role} model");
        if (MixingAlpha(role) is { } alpha) return Mixer().Mix(alpha);
        if (_models.TryGetValue(role, out var model)) return model;
        var dir = role switch
        {
            ModelRoles.Original => Learned.TargetDir,
            ModelRoles.Retain => Learned.RetainDir!,
            _ => ModelFolders[role],
        };
        // A LoRA result is a PEFT adapter folder on the original: the unlearned model is the original with it merged.
        return _models[role] = LoraAdapter.IsAdapterFolder(dir) ? LoraAdapter.LoadMerged(Learned.TargetDir, dir) : CausalLM.Load(dir);
    }

    // Where a role sits on the line from the original (0) to the unlearned model (1), when the run has both.
    private double? MixingAlpha(string role) => HasModel(ModelRoles.Unlearned) ? role switch
    {
        ModelRoles.Original => 0,
        ModelRoles.Unlearned => 1,
        ModelRoles.Calibrated => Calibration!.Alpha,
        _ => null,
    } : null;

    /// <summary>The mixer of the original and unlearned models (full checkpoints or a LoRA adapter): its one model is
    /// what a calibrator's mixes and the calibrated model are written into, neither endpoint resident beside it.</summary>
    public IModelMixer Mixer() => _mixer ??= IModelMixer.Open(Learned.TargetDir, ModelFolders[ModelRoles.Unlearned]);

    /// <summary>Data, metrics and generation for evaluating models, with <paramref name="maxItems"/> items per split
    /// (null: <c>evaluate.max_items</c>).</summary>
    public EvaluationSetup Setup(int? maxItems = null)
    {
        if (maxItems == null && _setup != null) return _setup;
        var limit = maxItems ?? Spec.Evaluate.MaxItems;
        _retainLogs ??= Spec.Evaluate.RetainLogs is { } logsPath ? RetainLogs.Load(logsPath) : null;
        // Reference models that metrics name by folder (mia-reference) are loaded on first use, with their own tokenizer.
        _modelFolders ??= new ModelFolderScorer(folder =>
        {
            var folderTokenizer = ModelTokenizer.Load(folder);
            return (CausalLM.Load(folder), new BatchEncoder(folderTokenizer, Plan.Template, Spec.Model.MaxLength), folderTokenizer.PadId);
        }, Spec.Evaluate.BatchSize);
        var setup = new EvaluationSetup(
            Data.Splits.ToDictionary(s => s.Key, s => DataStage.Limit(s.Value, limit)),
            Tokenizer, Encoder, Metric, Generator, Spec.Evaluate.BatchSize, limit, _retainLogs) { ModelFolders = _modelFolders };
        if (maxItems == null) _setup = setup;
        return setup;
    }

    /// <summary>The evaluator of a model role (its scoring passes are shared by every metric on it).</summary>
    public ModelEvaluator Evaluator(string role)
    {
        if (_evaluators.TryGetValue(role, out var evaluator)) return evaluator;
        return _evaluators[role] = new ModelEvaluator(role, () => Model(role), Setup(), Peer, Cancellation);
    }

    // The models a metric may compare with: the retain model when the run evaluates it, and the original.
    private ModelEvaluator? Peer(ModelRole role) => role switch
    {
        ModelRole.Retain when HasModel(ModelRoles.Retain) && Spec.Evaluate.Models.Contains(ModelRoles.Retain) => Evaluator(ModelRoles.Retain),
        ModelRole.Original => Evaluator(ModelRoles.Original),
        _ => null,
    };

    // A metric by name: with the options evaluate.metrics gives it, else (a metric another depends on) its defaults.
    private MetricInstance Metric(string name)
    {
        if (_metrics.TryGetValue(name, out var instance)) return instance;
        var plan = Plan.Metrics.FirstOrDefault(m => m.Name == name);
        return _metrics[name] = plan != null
            ? new MetricInstance(name, PluginRegistry.CreateWithOptions<IMetric>(plan.Plugin.Descriptor, plan.Plugin.Options), plan.Plugin.Descriptor)
            : MetricInstance.WithDefaults(Plan.Registry, name, "evaluate.metrics");
    }

    private IReadOnlyList<(IReadOnlyList<int> Tokens, IReadOnlyList<float> Entropies)> Generator(ILanguageModel model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens, CancellationToken ct)
    {
        var causal = model as CausalLM ?? throw new InvalidOperationException("generation needs a CausalLM");
        var settings = new GenerationSettings { MaxNewTokens = maxNewTokens, EosId = Tokenizer.EosId, PadId = Tokenizer.PadId, BatchSize = Spec.Evaluate.BatchSize };
        return SequenceGenerator.Generate(causal, prompts, settings, ct).Select(o => (o.Tokens, o.Entropies)).ToList();
    }

    /// <summary>What the run produced, for the run folder.</summary>
    public RunResult Result() => new()
    {
        Name = Spec.Name, SweepLabel = SweepLabel, Method = Plan.Method?.Descriptor.Name, MethodOptions = Plan.Method?.OptionsJson,
        Seed = Spec.Seed, Metrics = Metrics, AttackMetrics = AttackMetrics, Directions = Plan.Metrics.ToDictionary(m => m.Name, m => Metric(m.Name).Metric.Direction),
        Calibration = Calibration, Unlearning = Unlearning,
        Timings = Timings, Plugins = Plan.PluginRecords, ModelFolders = ModelFolders, StageKeys = StageKeys,
        DenormalsFlushed = DenormalsFlushed, Failure = Failure,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var model in _models.Values) model.Dispose();
        _models.Clear();
        _mixer?.Dispose();
        _mixer = null;
        _modelFolders?.Dispose();
    }
}
