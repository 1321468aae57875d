using System.Text.Json;
using Unlearn.Data;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Host.Running.Stages;
using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Text;

namespace Unlearn.Host.Running;

/// <summary>A plugin use with its options bound, and the options as JSON (for stage keys and the manifest).</summary>
public sealed record ResolvedPlugin(PluginDescriptor Descriptor, object Options, string OptionsJson)
{
    /// <summary>The string options whose names end in <paramref name="suffix"/> ("Split", "Metric"): by convention the
    /// split and metric names a controller or calibrator reads, as (snake_case option name, value).</summary>
    public IEnumerable<(string Option, string Value)> NamedBy(string suffix) =>
        Options.GetType().GetProperties()
            .Where(p => p.PropertyType == typeof(string) && p.Name.EndsWith(suffix, StringComparison.Ordinal))
            .Select(p => (Option: OptionsBinder.ToSnakeCase(p.Name), Value: p.GetValue(Options) as string))
            .Where(x => x.Value != null).Select(x => (x.Option, x.Value!));

    /// <summary>The manifest's record of this plugin.</summary>
    public PluginRecord Record
    {
        get
        {
            var a = Descriptor.Assembly;
            return new PluginRecord(PluginRegistry.KindWord(Descriptor.Kind), Descriptor.Name, a.Name, a.Version, a.Sha256, a.Origin, OptionsJson);
        }
    }
}

/// <summary>A metric of <c>evaluate.metrics</c>: its use (name, splits) and the resolved plugin.</summary>
public sealed record MetricPlan(MetricUse Use, ResolvedPlugin Plugin)
{
    /// <summary>The name its results go by: <c>as:</c>, else the metric's name as the pipeline wrote it.</summary>
    public string Name => Use.Name;

    /// <summary>The splits it is evaluated on.</summary>
    public IReadOnlyList<string> Splits(EvaluateSpec evaluate) => Use.Splits ?? evaluate.Splits;
}

/// <summary>An entry of <c>attacks</c>: its label and the attack plugins it applies in order, resolved.</summary>
public sealed record AttackPlan(AttackUse Use, IReadOnlyList<ResolvedPlugin> Steps)
{
    /// <summary>The label of its results (the <c>attack</c> column).</summary>
    public string Label => Use.Label;
}

/// <summary>A validated run: the pipeline with every plugin resolved and its options bound (once), the prompt template,
/// and the stages that run it, in order. Built by <see cref="RunPlanner"/> before any work starts; immutable.</summary>
public sealed class RunPlan
{
    /// <summary>The pipeline.</summary>
    public required PipelineSpec Spec { get; init; }
    /// <summary>How every stage formats prompts (from model.path's chat template, or a text template).</summary>
    public required PromptTemplate Template { get; init; }
    /// <summary>The unlearning objective, or null for an evaluation-only run.</summary>
    public ResolvedPlugin? Method { get; init; }
    /// <summary>Controllers, in pipeline order.</summary>
    public required IReadOnlyList<ResolvedPlugin> Controls { get; init; }
    /// <summary>The calibrator, or null.</summary>
    public ResolvedPlugin? Calibrator { get; init; }
    /// <summary>The metrics of <c>evaluate.metrics</c>.</summary>
    public required IReadOnlyList<MetricPlan> Metrics { get; init; }
    /// <summary>The attacks every evaluated model is also evaluated under, in pipeline order.</summary>
    public IReadOnlyList<AttackPlan> Attacks { get; init; } = [];
    /// <summary>The registry the plugins came from (metrics that others depend on are created from it).</summary>
    public required PluginRegistry Registry { get; init; }
    /// <summary>The stages, in the order they run.</summary>
    public required IReadOnlyList<IStage> Stages { get; init; }

    /// <summary>What a metric name means in this run, for stage keys: the use of <c>evaluate.metrics</c> of that name
    /// (its metric, options and assembly), else the metric of that name with its defaults.</summary>
    public string[] MetricIdentity(string name) => Metrics.FirstOrDefault(m => m.Name == name) is { } use
        ? [name, use.Plugin.Descriptor.Name, use.Plugin.OptionsJson, use.Plugin.Descriptor.Assembly.Sha256]
        : [name, "defaults"];

    /// <summary>The identities of the metrics a controller or calibrator measures with (its *Metric options).</summary>
    public IEnumerable<string[]> MetricsMeasuredBy(ResolvedPlugin plugin) =>
        (plugin ?? throw new ArgumentNullException(nameof(plugin))).NamedBy("Metric").Select(m => MetricIdentity(m.Value));

    /// <summary>Every plugin the run uses, for the manifest.</summary>
    public IReadOnlyList<PluginRecord> PluginRecords =>
        new[] { Method }.Concat(Controls).Append(Calibrator).OfType<ResolvedPlugin>().Select(p => p.Record)
            .Concat(Metrics.Select(m => m.Plugin.Record with { As = m.Use.As }))
            .Concat(Attacks.SelectMany(a => a.Steps).Select(p => p.Record)).ToList();
}

/// <summary>Builds a <see cref="RunPlan"/> from a bound pipeline: resolves every plugin and binds its options, and makes
/// every check that can be made before training (what <c>validate</c> reports). Any problem is bad input (exit 2).</summary>
public sealed class RunPlanner(PluginRegistry registry)
{
    /// <summary>Builds the plan, or throws naming the file, the place and the fix.</summary>
    public RunPlan Build(PipelineSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var method = spec.Unlearn == null ? null : Resolve(PluginKind.Objective, spec.Unlearn.Method);
        var controls = spec.Controls.Select(c => Resolve(PluginKind.Controller, c)).ToList();
        var calibrator = spec.Calibrate == null ? null : Resolve(PluginKind.Calibrator, spec.Calibrate);
        var metrics = spec.Evaluate.Metrics.Select(m => new MetricPlan(m, Resolve(PluginKind.Metric, m.Plugin))).ToList();
        var attacks = spec.Attacks.Select(a => new AttackPlan(a, a.Steps.Select(step => Resolve(PluginKind.Attack, step)).ToList())).ToList();
        CheckUseNames(metrics);
        Check(spec, controls, calibrator, metrics, attacks);
        var uses = spec.Controls.Zip(controls).Concat(spec.Evaluate.Metrics.Select(m => m.Plugin).Zip(metrics.Select(m => m.Plugin)))
            .Concat(attacks.SelectMany(a => a.Use.Steps.Zip(a.Steps))).ToList();
        if (method != null) uses.Add((spec.Unlearn!.Method, method));
        if (calibrator != null) uses.Add((spec.Calibrate!, calibrator));
        CheckOptionsForModels(uses, ModelShapes(spec));
        // Resolved before any training, so a broken chat template stops the run at once.
        var template = PromptTemplates.Resolve(spec.Model.Template, spec.Model.SystemPrompt, spec.Model.Path);
        var stages = new List<IStage> { new DataStage(), new LearnStage() };
        if (method != null) stages.Add(new UnlearnStage());
        if (method != null && calibrator != null) stages.Add(new CalibrateStage());
        if (spec.Report.SaveModels.Count > 0) stages.Add(new SaveModelsStage());
        stages.Add(new EvaluateStage());
        if (attacks.Count > 0) stages.Add(new AttackStage());
        stages.Add(new ReportStage());
        return new RunPlan
        {
            Spec = spec, Template = template, Method = method, Controls = controls, Calibrator = calibrator, Metrics = metrics, Attacks = attacks,
            Registry = registry, Stages = stages,
        };
    }

    private ResolvedPlugin Resolve(PluginKind kind, PluginUse use)
    {
        var descriptor = registry.Resolve(kind, use.Name, use.Location, EntryPath(use));
        var options = OptionsBinder.Bind(descriptor.OptionsType, use.Options, use.KeyPath, use.Location);
        return new ResolvedPlugin(descriptor, options, OptionsBinder.ToJson(options));
    }

    // A use's own name (as:) must not be another metric's: other plugins look metrics up by name, and would get this use.
    private void CheckUseNames(IReadOnlyList<MetricPlan> metrics)
    {
        foreach (var m in metrics.Where(m => m.Use.As != null))
            if (registry.Find(PluginKind.Metric, m.Name) is { } other && other != m.Plugin.Descriptor)
                throw new PipelineException(m.Use.Plugin.Location, EntryPath(m.Use.Plugin) + ".as",
                    $"'{m.Name}' is the name of the metric '{other.Name}', which other metrics and controllers look up by that name. Choose a name no metric has (e.g. as: {m.Use.Plugin.Name}-{m.Name}).");
    }

    // A metric name in another plugin's options or dependencies: a use of evaluate.metrics (by its name), else a metric.
    private void CheckMetricName(IReadOnlyList<MetricPlan> metrics, string name, SourceLocation location, string keyPath)
    {
        if (!metrics.Any(m => m.Name == name)) registry.Resolve(PluginKind.Metric, name, location, keyPath);
    }

    // The split and metric names inside controller, calibrator and attack options; the results metrics declare as
    // IMetric.Dependencies and the item fields they require; the model folders; the data files of every split the run reads.
    private void Check(PipelineSpec spec, IReadOnlyList<ResolvedPlugin> controls, ResolvedPlugin? calibrator, IReadOnlyList<MetricPlan> metrics,
        IReadOnlyList<AttackPlan> attacks)
    {
        var needed = new List<(string Split, SourceLocation Location, string Key)>();
        needed.AddRange(spec.Evaluate.Splits.Select(s => (s, At(spec, "evaluate.splits"), "evaluate.splits")));
        foreach (var m in spec.Evaluate.Metrics)
            needed.AddRange((m.Splits ?? []).Select(s => (s, m.Plugin.Location, EntryPath(m.Plugin) + ".splits")));
        if (spec.Unlearn != null) needed.Add(("train_forget", spec.Unlearn.Method.Location, "unlearn.method"));
        if (spec.Learn.Recipe == "tiny-world") needed.Add(("general", At(spec, "learn.recipe"), "learn.recipe"));
        var uses = spec.Controls.Zip(controls).ToList();
        if (spec.Calibrate != null) uses.Add((spec.Calibrate, calibrator!));
        foreach (var attack in attacks)
        {
            uses.AddRange(attack.Use.Steps.Zip(attack.Steps));
            // Created once here, so an attack whose factory refuses its options (a template file) stops the run before training.
            foreach (var step in attack.Steps) PluginRegistry.CreateWithOptions<IAttack>(step.Descriptor, step.Options);
        }
        foreach (var (use, resolved) in uses)
        {
            foreach (var (option, split) in resolved.NamedBy("Split")) needed.Add((split, use.Location, $"{use.KeyPath}.{option}"));
            foreach (var (option, metric) in resolved.NamedBy("Metric")) CheckMetricName(metrics, metric, use.Location, $"{use.KeyPath}.{option}");
        }
        // Retain logs (evaluate.retain_logs, checked when bound) stand in for the retain model's results.
        var hasRetainModel = spec.Model.RetainPath != null || spec.Learn.RetainModel && spec.Learn.Recipe != "none" || spec.Evaluate.RetainLogs != null;
        var requiredFields = new List<(string Split, ItemFields Fields, string Metric, string Key)>();
        foreach (var (m, plugin) in metrics.Select(p => (p.Use, p.Plugin)))
        {
            var where = EntryPath(m.Plugin);
            var metric = PluginRegistry.CreateWithOptions<IMetric>(plugin.Descriptor, plugin.Options);
            if (metric.RequiredFields != ItemFields.None)
                requiredFields.AddRange((m.Splits ?? spec.Evaluate.Splits).Select(split => (split, metric.RequiredFields, m.Plugin.Name, where)));
            foreach (var dependency in metric.Dependencies)
            {
                CheckMetricName(metrics, dependency.Metric, m.Plugin.Location, where);
                if (dependency.Split != null) needed.Add((dependency.Split, m.Plugin.Location, where));
                if (dependency.Role == ModelRole.Retain && !hasRetainModel)
                    throw new PipelineException(m.Plugin.Location, where,
                        $"'{m.Plugin.Name}' compares with the retain model's '{dependency.Metric}', but the run has no retain model: set model.retain_path, or use a learn recipe that trains one (learn.retain_model: true).");
            }
        }
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

    /// <summary>The shapes of the models the run uses, as far as they are known before training: the model folders
    /// (checked: config.json, the safetensors headers, the tokenizer files, enough positions) or the built-in architecture.</summary>
    private static List<ModelShape> ModelShapes(PipelineSpec spec)
    {
        var shapes = new List<ModelShape>();
        foreach (var (dir, key) in new[] { (spec.Model.Path, "model.path"), (spec.Model.RetainPath, "model.retain_path") })
            if (CheckModelFolder(dir, key, spec.Model.MaxLength) is { } config) shapes.Add(ShapeOf(key, config));
        if (spec.Model.Path != null) return shapes;
        if (!TransformerConfig.BuiltInNames.Contains(spec.Model.Architecture))
            throw new PipelineException(At(spec, "model.architecture"), "model.architecture", NameSuggestions.Unknown("architecture", spec.Model.Architecture, TransformerConfig.BuiltInNames.ToList()));
        var builtIn = TransformerConfig.BuiltIn(spec.Model.Architecture, vocabSize: 1);
        if (builtIn.MaxPositions < spec.Model.MaxLength)
            throw new PipelineException(At(spec, "model.max_length"), "model.max_length",
                $"max_length {spec.Model.MaxLength} is more than the {builtIn.MaxPositions} positions of the built-in '{spec.Model.Architecture}' architecture; set model.max_length to at most {builtIn.MaxPositions}.");
        shapes.Add(ShapeOf($"the built-in '{spec.Model.Architecture}' architecture", builtIn));
        return shapes;
    }

    private static ModelShape ShapeOf(string name, TransformerConfig config) =>
        new(name, config.Family.ToString().ToLowerInvariant(), config.NumLayers, config.HiddenSize);

    // Options that depend on the model (IValidatableOptions.Validate(ModelShape)), asked for every model shape known now.
    private static void CheckOptionsForModels(IEnumerable<(PluginUse Use, ResolvedPlugin Plugin)> uses, IReadOnlyList<ModelShape> shapes)
    {
        foreach (var (use, plugin) in uses)
        {
            if (plugin.Options is not IValidatableOptions options) continue;
            OptionsBinder.ThrowIfInvalid(shapes.SelectMany(options.Validate).Distinct().ToList(), use.Options, use.KeyPath, use.Location);
        }
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
    private static TransformerConfig? CheckModelFolder(string? dir, string key, int maxLength)
    {
        if (dir == null) return null;
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
        return config;
    }

    // Where a key was written (or the pipeline file, for a default).
    private static SourceLocation At(PipelineSpec spec, string key) => PipelineDocument.GetPath(spec.Resolved, key)?.Location ?? spec.Resolved.Location;

    // "evaluate.metrics.0.options" -> "evaluate.metrics.0": the pipeline entry a plugin use came from.
    private static string EntryPath(PluginUse use) =>
        use.KeyPath.EndsWith(".options", StringComparison.Ordinal) ? use.KeyPath[..^".options".Length] : use.KeyPath;

}
