using System.Diagnostics;
using System.Text.Json;
using Unlearn.Data;
using Unlearn.Host.Configuration;
using Unlearn.Host.Evaluation;
using Unlearn.Host.Plugins;
using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Text;
using Unlearn.Training;

namespace Unlearn.Host.Running;

/// <summary>Runs one pipeline: data → learn → unlearn (controllers) → calibrate → evaluate. Stages are cached by content
/// hash, so a re-run after a crash or with a changed metric list does not redo training.</summary>
public sealed class ExperimentRunner(PluginRegistry registry, StageCache cache, RunLog log)
{
    /// <summary>Binds options of a plugin use and describes them for hashing.</summary>
    public ResolvedPlugin Resolve(PluginKind kind, PluginUse use)
    {
        var descriptor = registry.Resolve(kind, use.Name, use.Location, EntryPath(use));
        var options = OptionsBinder.Bind(descriptor.OptionsType, use.Options, use.KeyPath, use.Location);
        return new ResolvedPlugin(descriptor, options, JsonSerializer.Serialize(options, options.GetType()));
    }

    /// <summary>Checks everything a run will need before any work starts (what <c>validate</c> does beyond binding, and
    /// what <c>run</c> checks first): plugin names and options; the split and metric names inside controller and
    /// calibrator options; the results metrics declare as <see cref="IMetric.Dependencies"/>; and the data files of
    /// every split the run reads.</summary>
    public void Validate(PipelineSpec spec)
    {
        if (spec.Unlearn != null) Resolve(PluginKind.Objective, spec.Unlearn.Method);
        var needed = new List<(string Split, SourceLocation Location, string Key)>();
        needed.AddRange(spec.Evaluate.Splits.Select(s => (s, At(spec, "evaluate.splits"), "evaluate.splits")));
        foreach (var m in spec.Evaluate.Metrics)
            needed.AddRange((m.Splits ?? []).Select(s => (s, m.Plugin.Location, EntryPath(m.Plugin) + ".splits")));
        if (spec.Unlearn != null) needed.Add(("train_forget", spec.Unlearn.Method.Location, "unlearn.method"));
        if (spec.Learn.Recipe == "tiny-world") needed.Add(("general", At(spec, "learn.recipe"), "learn.recipe"));
        var uses = spec.Controls.Select(c => (Kind: PluginKind.Controller, Use: c)).ToList();
        if (spec.Calibrate != null) uses.Add((PluginKind.Calibrator, spec.Calibrate));
        foreach (var (kind, use) in uses)
        {
            var options = Resolve(kind, use).Options;
            foreach (var property in options.GetType().GetProperties().Where(p => p.PropertyType == typeof(string)))
            {
                if (property.GetValue(options) is not string value) continue;
                var key = $"{use.KeyPath}.{OptionsBinder.ToSnakeCase(property.Name)}";
                if (property.Name.EndsWith("Split", StringComparison.Ordinal)) needed.Add((value, use.Location, key));
                else if (property.Name.EndsWith("Metric", StringComparison.Ordinal)) registry.Resolve(PluginKind.Metric, value, use.Location, key);
            }
        }
        // Retain logs (evaluate.retain_logs, checked when bound) stand in for the retain model's results.
        var hasRetainModel = spec.Model.RetainPath != null || spec.Learn.TrainRetainModel && spec.Learn.Recipe != "none" || spec.Evaluate.RetainLogs != null;
        var requiredFields = new List<(string Split, ItemFields Fields, string Metric, string Key)>();
        foreach (var m in spec.Evaluate.Metrics)
        {
            var plugin = Resolve(PluginKind.Metric, m.Plugin);
            var where = EntryPath(m.Plugin);
            var metric = PluginRegistry.CreateWithOptions<IMetric>(plugin.Descriptor, plugin.Options);
            if (metric.RequiredFields != ItemFields.None)
                requiredFields.AddRange((m.Splits ?? spec.Evaluate.Splits).Select(split => (split, metric.RequiredFields, m.Plugin.Name, where)));
            foreach (var dependency in metric.Dependencies)
            {
                registry.Resolve(PluginKind.Metric, dependency.Metric, m.Plugin.Location, where);
                if (dependency.Split != null) needed.Add((dependency.Split, m.Plugin.Location, where));
                if (dependency.Role == ModelRole.Retain && !hasRetainModel)
                    throw new PipelineException(m.Plugin.Location, where,
                        $"'{m.Plugin.Name}' compares with the retain model's '{dependency.Metric}', but the run has no retain model: set model.retain_path, or use a learn recipe that trains one (learn.retain_model: true).");
            }
        }
        CheckModelFolder(spec.Model.Path, "model.path", spec.Model.MaxLength);
        CheckModelFolder(spec.Model.RetainPath, "model.retain_path", spec.Model.MaxLength);
        if (spec.Model.Path == null && !TransformerConfig.BuiltInNames.Contains(spec.Model.Architecture))
            throw new PipelineException(At(spec, "model.architecture"), "model.architecture", NameSuggestions.Unknown("architecture", spec.Model.Architecture, TransformerConfig.BuiltInNames.ToList()));
        if (spec.Model.Path == null && TransformerConfig.BuiltIn(spec.Model.Architecture, vocabSize: 1).MaxPositions is var positions && positions < spec.Model.MaxLength)
            throw new PipelineException(At(spec, "model.max_length"), "model.max_length",
                $"max_length {spec.Model.MaxLength} is more than the {positions} positions of the built-in '{spec.Model.Architecture}' architecture; set model.max_length to at most {positions}.");
        if (spec.Data.Folder != null && !Directory.Exists(spec.Data.Folder))
            throw new DataFileException(spec.Data.Folder, null, "the data folder does not exist", "set data.folder to a folder of TOFU JSON/JSONL files (for example a copy of the TOFU dataset)");
        foreach (var (split, location, key) in needed.DistinctBy(n => n.Split))
        {
            if (!spec.Data.Splits.TryGetValue(split, out var file))
                throw new PipelineException(location, key, NameSuggestions.Unknown("split", split, spec.Data.Splits.Keys.ToList()));
            if (spec.Data.Folder != null && !new TofuFolder(spec.Data.Folder).Contains(file))
                throw new DataFileException(Path.Combine(spec.Data.Folder, file + ".json"), null,
                    $"the run needs split '{split}' ({key}), but data.folder has no file '{file}' (.json or .jsonl)",
                    $"add the file, map the split to another file with data.splits.{split}, or stop using the split");
        }
        if (spec.Data.Folder != null)
            foreach (var (split, fields, metric, key) in requiredFields)
                CheckItemFields(new TofuFolder(spec.Data.Folder).ResolvePath(spec.Data.Splits[split]), spec.Evaluate.MaxItems, split, fields, metric, key);
    }

    /// <summary>Reads a split file and refuses it when a row the run evaluates lacks a field a metric needs (the first such row).</summary>
    private static void CheckItemFields(string path, int? maxItems, string split, ItemFields fields, string metric, string key)
    {
        var items = TofuReader.ReadItems(path).Take(maxItems ?? int.MaxValue).ToList();
        foreach (var (field, has, name) in new (ItemFields, Func<QaItem, bool>, string)[]
        {
            (ItemFields.PerturbedAnswers, i => i.PerturbedAnswers.Count > 0, "perturbed_answer"),
            (ItemFields.ParaphrasedQuestion, i => !string.IsNullOrEmpty(i.ParaphrasedQuestion), "paraphrased_question"),
            (ItemFields.ParaphrasedAnswer, i => !string.IsNullOrEmpty(i.ParaphrasedAnswer), "paraphrased_answer"),
        })
        {
            if (!fields.HasFlag(field)) continue;
            var missing = items.Select((item, index) => (item, index)).FirstOrDefault(x => !has(x.item));
            if (missing.item != null)
                throw new DataFileException(path, null,
                    $"'{metric}' ({key}) needs the field \"{name}\" in every row of split '{split}', but row {missing.index + 1} (\"{Shorten(missing.item.Question)}\") has none",
                    $"evaluate '{metric}' on a split whose rows have {name} (TOFU's *_perturbed files), or remove it from the metric's splits");
        }
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    /// <summary>Reads what the run will read of a user's model folder (config.json, the safetensors headers, the
    /// tokenizer files) and checks that the model has at least max_length positions. Any failure is bad input.</summary>
    private static void CheckModelFolder(string? dir, string key, int maxLength)
    {
        if (dir == null) return;
        ModelFolder.Check(dir, key);
        TransformerConfig config;
        try
        {
            config = TransformerConfig.Load(Path.Combine(dir, "config.json"));
            SafetensorsCheckpoint.Open(dir);
            ModelTokenizer.Load(dir);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InputException($"{key} '{dir}' cannot be used: {e.Message}", e);
        }
        if (config.MaxPositions < maxLength)
            throw new InputException($"{key} '{dir}': the model has {config.MaxPositions} positions (config.json), fewer than model.max_length {maxLength}; set model.max_length to at most {config.MaxPositions}.");
    }

    // Where a key was written (or the pipeline file, for a default).
    private static SourceLocation At(PipelineSpec spec, string key) => PipelineDocument.GetPath(spec.Resolved, key)?.Location ?? spec.Resolved.Location;

    // "evaluate.metrics.0.options" -> "evaluate.metrics.0": the pipeline entry a plugin use came from.
    private static string EntryPath(PluginUse use) =>
        use.KeyPath.EndsWith(".options", StringComparison.Ordinal) ? use.KeyPath[..^".options".Length] : use.KeyPath;

    /// <summary>Runs the pipeline; models that <c>report.save_model</c> names are saved under <paramref name="modelsFolder"/>.</summary>
    public RunResult Run(PipelineSpec spec, string sweepLabel, string? modelsFolder, CancellationToken ct)
    {
        var timings = new List<StageTiming>();
        var stageKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        // Gradient ascent drives probabilities toward zero; denormal floats would slow the CPU kernels many-fold.
        var denormalsFlushed = DenormalControl.TrySetFlushDenormal(true);
        if (!denormalsFlushed) log.Info("warning: denormal floats cannot be flushed to zero on this platform; gradient ascent may slow down late in a run");
        var method = spec.Unlearn == null ? null : Resolve(PluginKind.Objective, spec.Unlearn.Method);
        var controls = spec.Controls.Select(c => Resolve(PluginKind.Controller, c)).ToList();
        var calibrator = spec.Calibrate == null ? null : Resolve(PluginKind.Calibrator, spec.Calibrate);
        var metrics = spec.Evaluate.Metrics.Select(m => (Use: m, Plugin: Resolve(PluginKind.Metric, m.Plugin))).ToList();

        var clock = Stopwatch.StartNew();
        var data = DataStage.Prepare(spec.Data, cache);
        timings.Add(new StageTiming("data", clock.Elapsed.TotalSeconds, data.Reused));
        stageKeys["data"] = data.Key;
        log.Info($"data: {data.Folder} ({string.Join(", ", data.Splits.Select(s => $"{s.Key}={s.Value.Items.Count}"))})");

        // Every stage formats prompts alike: the template comes from model.path, whose tokenizer files the fine-tuned
        // models carry; resolved before any training, so a broken chat template stops the run at once.
        var template = PromptTemplates.Resolve(spec.Model, spec.Model.Path);
        if (template.Chat is { } chat) log.Info($"prompt: chat template from {chat.Origin} ({template.Text})");
        var learned = LearnStage.Run(spec, template, data, cache, log, ct);
        timings.AddRange(learned.Timings);
        stageKeys["target"] = learned.TargetKey;
        if (learned.RetainKey != null) stageKeys["retain"] = learned.RetainKey;

        var tokenizer = ModelTokenizer.Load(learned.TargetDir);
        var encoder = new BatchEncoder(tokenizer, template, spec.Model.MaxLength);
        var metricInstances = new Dictionary<string, MetricInstance>(StringComparer.Ordinal);
        foreach (var (use, plugin) in metrics)
            metricInstances.TryAdd(use.Plugin.Name, new MetricInstance(use.Plugin.Name, PluginRegistry.CreateWithOptions<IMetric>(plugin.Descriptor, plugin.Options), plugin.Descriptor));
        MetricInstance MetricByName(string name)
        {
            if (metricInstances.TryGetValue(name, out var m)) return m;
            var created = MetricInstance.WithDefaults(registry, name, "evaluate.metrics");
            metricInstances[name] = created;
            return created;
        }
        var generator = Generator(spec, tokenizer);
        var retainLogs = spec.Evaluate.RetainLogs is { } logsPath ? RetainLogs.Load(logsPath) : null;
        // Reference models that metrics name by folder (mia-reference) are loaded on first use, with their own tokenizer.
        using var modelFolders = new ModelFolderScorer(folder =>
        {
            var folderTokenizer = ModelTokenizer.Load(folder);
            return (CausalLM.Load(folder), new BatchEncoder(folderTokenizer, template, spec.Model.MaxLength), folderTokenizer.PadId);
        }, spec.Evaluate.BatchSize);
        EvaluationSetup Setup(int? maxItems) => new(
            data.Splits.ToDictionary(s => s.Key, s => DataStage.Limit(s.Value, maxItems ?? spec.Evaluate.MaxItems)),
            tokenizer, encoder, MetricByName, generator, spec.Evaluate.BatchSize, maxItems ?? spec.Evaluate.MaxItems, retainLogs) { ModelFolders = modelFolders };

        var folders = new Dictionary<string, string>(StringComparer.Ordinal) { [ModelRoles.Original] = learned.TargetDir };
        if (learned.RetainDir != null) folders[ModelRoles.Retain] = learned.RetainDir;
        UnlearnRecord? unlearnRecord = null;
        string? failure = null;
        if (method != null)
        {
            clock.Restart();
            var (dir, key, record, reused) = UnlearnStage.Run(spec, template, learned, data, cache, method, controls,
                (model, tok, enc, maxItems) => Setup(maxItems), log, ct);
            timings.Add(new StageTiming("unlearn", clock.Elapsed.TotalSeconds, reused));
            folders[ModelRoles.Unlearned] = dir;
            stageKeys["unlearn"] = key;
            unlearnRecord = record;
            if (record.StopReason != null) log.Info($"unlearn: stopped early at step {record.Steps}/{record.PlannedSteps}: {record.StopReason}");
            failure = UnlearnStage.Divergence(record);
            if (failure != null) log.Info($"unlearn: {failure}; the unlearned model is neither calibrated nor evaluated");
        }

        using var original = CausalLM.Load(learned.TargetDir);
        using var unlearned = failure == null && folders.TryGetValue(ModelRoles.Unlearned, out var unlearnedDir) ? CausalLM.Load(unlearnedDir) : null;
        using var retain = learned.RetainDir != null && spec.Evaluate.Models.Contains(ModelRoles.Retain) ? CausalLM.Load(learned.RetainDir) : null;
        using var mixed = unlearned != null && calibrator != null ? original.Clone() : null;
        CalibrationRecord? calibrationRecord = null;
        if (calibrator != null && unlearned != null && mixed != null)
        {
            clock.Restart();
            var calibrationContext = new HostCalibrationContext(original, unlearned, mixed, Setup, ct, log);
            var outcome = PluginCall.Run(calibrator.Descriptor, "Calibrate", () => PluginRegistry.CreateWithOptions<ICalibrator>(calibrator.Descriptor, calibrator.Options).Calibrate(calibrationContext));
            calibrationContext.Mix(outcome.Alpha);
            var seconds = clock.Elapsed.TotalSeconds;
            calibrationRecord = new CalibrationRecord(calibrator.Descriptor.Name, outcome.Alpha, outcome.OriginalValue, outcome.Target, outcome.Evaluations, seconds, outcome.Note, outcome.Curve);
            timings.Add(new StageTiming("calibrate", seconds, false));
            log.Info($"calibrate: α* = {outcome.Alpha:F4} ({outcome.Evaluations} evaluations, {seconds:F1} s). {outcome.Note}");
        }
        foreach (var role in spec.Report.SaveModels)
        {
            var model = role == ModelRoles.Calibrated ? mixed : unlearned;
            if (model == null || modelsFolder == null) continue; // a diverged run has neither
            folders[role] = SaveModel(model, learned.TargetDir, Path.Combine(modelsFolder, role));
            log.Info($"report: {role} model saved as a Hugging Face folder: {folders[role]}");
        }

        clock.Restart();
        var setup = Setup(null);
        var evaluators = new Dictionary<string, ModelEvaluator>(StringComparer.Ordinal);
        ModelEvaluator? Peer(ModelRole role) => role switch
        {
            ModelRole.Retain when retain != null => evaluators.GetValueOrDefault(ModelRoles.Retain),
            ModelRole.Original => evaluators.GetValueOrDefault(ModelRoles.Original),
            _ => null,
        };
        void AddEvaluator(string role, ILanguageModel? model)
        {
            if (model != null) evaluators[role] = new ModelEvaluator(role, model, setup, Peer, ct);
        }
        AddEvaluator(ModelRoles.Retain, retain);
        AddEvaluator(ModelRoles.Original, original);
        AddEvaluator(ModelRoles.Unlearned, unlearned);
        AddEvaluator(ModelRoles.Calibrated, mixed);
        var records = new List<MetricRecord>();
        var roles = spec.Evaluate.Models.Where(evaluators.ContainsKey).ToList();
        var progress = log.StartTask("evaluate", roles.Count * metrics.Sum(m => (m.Use.Splits ?? spec.Evaluate.Splits).Count));
        foreach (var role in roles)
        {
            var evaluator = evaluators[role];
            foreach (var (use, _) in metrics)
            foreach (var split in use.Splits ?? spec.Evaluate.Splits)
            {
                ct.ThrowIfCancellationRequested();
                if (!data.Splits.ContainsKey(split)) _ = data.Get(split, spec.Data);
                var result = evaluator.Result(use.Plugin.Name, split);
                records.Add(new MetricRecord(role, split, use.Plugin.Name, result.Value, result.Items, result.Extras));
                progress?.Increment(1);
            }
            log.Info($"evaluate: {role} done ({evaluator.ScoringPasses} scoring passes)");
        }
        progress?.StopTask();
        timings.Add(new StageTiming("evaluate", clock.Elapsed.TotalSeconds, false));

        var plugins = new List<PluginRecord>();
        void Note(ResolvedPlugin? p)
        {
            if (p == null) return;
            var a = p.Descriptor.Assembly;
            plugins.Add(new PluginRecord(PluginRegistry.KindWord(p.Descriptor.Kind), p.Descriptor.Name, a.Name, a.Version, a.Sha256, a.Origin, p.OptionsJson));
        }
        Note(method);
        controls.ForEach(Note);
        Note(calibrator);
        metrics.ForEach(m => Note(m.Plugin));
        return new RunResult
        {
            Name = spec.Name, SweepLabel = sweepLabel, Method = method?.Descriptor.Name, MethodOptions = method?.OptionsJson,
            Seed = spec.Seed, Metrics = records, Calibration = calibrationRecord, Unlearning = unlearnRecord,
            Timings = timings, Plugins = plugins, ModelFolders = folders, StageKeys = stageKeys, DenormalsFlushed = denormalsFlushed, Failure = failure,
        };
    }

    /// <summary>Saves a model with the tokenizer files of <paramref name="tokenizerDir"/> as a Hugging Face folder, built
    /// beside <paramref name="target"/> and renamed into place; a folder an earlier attempt finished is kept.</summary>
    private static string SaveModel(CausalLM model, string tokenizerDir, string target)
    {
        if (Directory.Exists(target)) return target;
        var staging = target + ".partial";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        model.Save(staging);
        ModelFolder.CopyTokenizerFiles(tokenizerDir, staging);
        Directory.Move(staging, target);
        return target;
    }

    private static GreedyGenerator Generator(PipelineSpec spec, ITokenizerView tokenizer) =>
        (model, prompts, maxNewTokens, ct) =>
        {
            var causal = model as CausalLM ?? throw new InvalidOperationException("generation needs a CausalLM");
            var settings = new GenerationSettings { MaxNewTokens = maxNewTokens, EosId = tokenizer.EosId, PadId = tokenizer.PadId, BatchSize = spec.Evaluate.BatchSize };
            return SequenceGenerator.Generate(causal, prompts, settings, ct).Select(o => (o.Tokens, o.Entropies)).ToList();
        };
}

/// <summary>The host's <see cref="CalibrationContext"/>: mixes into one preallocated model.</summary>
public sealed class HostCalibrationContext(CausalLM original, CausalLM unlearned, CausalLM mixed, Func<int?, EvaluationSetup> setup, CancellationToken ct, RunLog log) : CalibrationContext
{
    /// <inheritdoc />
    public override ILanguageModel Original => original;
    /// <inheritdoc />
    public override ILanguageModel Unlearned => unlearned;
    /// <inheritdoc />
    public override CancellationToken CancellationToken => ct;

    /// <inheritdoc />
    public override ILanguageModel Mix(double alpha)
    {
        ModelWeights.Interpolate(mixed, original, unlearned, alpha);
        return mixed;
    }

    /// <inheritdoc />
    public override double Evaluate(ILanguageModel model, string metric, string split, int? maxItems = null) =>
        new ModelEvaluator("calibration", model, setup(maxItems), _ => null, ct).Result(metric, split).Value;

    private Spectre.Console.ProgressTask? _task;

    /// <inheritdoc />
    public override void Report(string message)
    {
        _task ??= log.StartTask("calibrate", 12);
        _task?.Increment(1);
        log.Info("calibrate: " + message);
    }
}
