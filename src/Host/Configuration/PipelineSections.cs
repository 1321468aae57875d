using Unlearn.Plugins;

namespace Unlearn.Host.Configuration;

// The pipeline file as written: one options class per section, bound by OptionsBinder exactly as plugin options are
// (defaults here, once; snake_case keys; unknown keys refused with the nearest valid one; Validate() once). Sections
// whose meaning needs another section (the learn recipe's default depends on model.path) or a plugin (an objective's
// options) are turned into the resolved PipelineSpec by PipelineBinder. The sections that need nothing more (model,
// data.world, learn, executor) are their PipelineSpec records themselves.

/// <summary>The top level of a pipeline file.</summary>
public sealed class PipelineSections : IValidatableOptions
{
    /// <summary>Experiment name; default: the file name.</summary>
    public string? Name { get; init; }
    /// <summary>Free text.</summary>
    public string? Description { get; init; }
    /// <summary>The seed every random choice derives from.</summary>
    public int Seed { get; init; }
    /// <summary>Plugin folders (each must be allowed with --plugins or UNLEARN_PLUGIN_PATH).</summary>
    public IReadOnlyList<string>? Plugins { get; init; }
    /// <summary>The model section.</summary>
    public ModelSpec Model { get; init; } = new();
    /// <summary>The data section.</summary>
    public DataSection Data { get; init; } = new();
    /// <summary>The learn section (bound with defaults that depend on the model section).</summary>
    public ConfigMap? Learn { get; init; }
    /// <summary>The unlearn section, or null to evaluate only.</summary>
    public UnlearnSection? Unlearn { get; init; }
    /// <summary>Controllers: a name, an entry or a list of them.</summary>
    public ConfigNode? Controls { get; init; }
    /// <summary>The calibrator: a name, {method:, options:}, or none.</summary>
    public ConfigNode? Calibrate { get; init; }
    /// <summary>The evaluate section.</summary>
    public EvaluateSection Evaluate { get; init; } = new();
    /// <summary>The attacks section (see <see cref="AttacksBinder"/>).</summary>
    public ConfigNode? Attacks { get; init; }
    /// <summary>The report section.</summary>
    public ReportSection Report { get; init; } = new();
    /// <summary>The executor section.</summary>
    public Running.Executors.ExecutorSettings Executor { get; init; } = Running.Executors.ExecutorSettings.None;
    /// <summary>The sweep section, expanded before binding (see <see cref="SweepExpander"/>).</summary>
    public ConfigNode? Sweep { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Seed < 0) yield return $"seed must be >= 0, got {Seed}";
    }
}

/// <summary>The <c>data</c> section as written; <see cref="PipelineBinder"/> derives the split files from it.</summary>
public sealed class DataSection : IValidatableOptions
{
    /// <summary>A folder of TOFU files, or null for the built-in world.</summary>
    public string? Folder { get; init; }
    /// <summary>Settings of the built-in world; null when not written.</summary>
    public WorldSpec? World { get; init; }
    /// <summary>The forget split family.</summary>
    public string Forget { get; init; } = "forget10";
    /// <summary>Logical split name -> file name (without extension), over the defaults of the forget family.</summary>
    public IReadOnlyDictionary<string, string>? Splits { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!PipelineBinder.ForgetSplits.Contains(Forget, StringComparer.Ordinal))
            yield return "forget: " + NameSuggestions.Unknown("value", Forget, PipelineBinder.ForgetSplits);
    }
}

/// <summary>The <c>unlearn</c> section as written.</summary>
public sealed class UnlearnSection : IValidatableOptions
{
    /// <summary>The unlearning objective.</summary>
    public string? Method { get; init; }
    /// <summary>The objective's options, bound once the objective is known.</summary>
    public ConfigMap? Options { get; init; }
    /// <summary>Trainer settings of unlearning.</summary>
    public Training.TrainerSettings Trainer { get; init; } = TrainerDefaults.Unlearn;
    /// <summary>Retain sequences per step for objectives with a retain term (0: the trainer's batch size).</summary>
    public int RetainBatchSize { get; init; }
    /// <summary>Train low-rank adapters instead of the weights (null: full unlearning).</summary>
    public AdapterSection? Adapter { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Method == null) yield return "missing required key 'method'. Name an unlearning objective, e.g. 'method: ga' (see 'dotnet unlearn plugins')";
        if (RetainBatchSize < 0) yield return $"retain_batch_size must be >= 0, got {RetainBatchSize}";
    }
}

/// <summary>The <c>unlearn.adapter</c> section: LoRA adapters trained in place of the model's weights.</summary>
public sealed class AdapterSection : IValidatableOptions
{
    /// <summary>The adapter kind (only lora).</summary>
    public string Type { get; init; } = "lora";
    /// <summary>LoRA rank r.</summary>
    public int Rank { get; init; } = 8;
    /// <summary>LoRA alpha: the delta is alpha / r · B·A.</summary>
    public double Alpha { get; init; } = 16;
    /// <summary>Dropout on the adapter's input while training.</summary>
    public double Dropout { get; init; }
    /// <summary>The linear layers adapted, by their last name segment.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "v_proj"];

    /// <summary>The model-side settings.</summary>
    public Unlearn.Models.LoraSettings ToSettings() => new(Rank, Alpha, Dropout, TargetModules);

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Type != "lora") yield return "type: " + NameSuggestions.Unknown("adapter type", Type, ["lora"]);
        if (Rank < 1) yield return $"rank must be >= 1, got {Rank}";
        if (!(Alpha > 0) || !double.IsFinite(Alpha)) yield return $"alpha must be a finite number > 0, got {Alpha}";
        if (Dropout is < 0 or >= 1 || double.IsNaN(Dropout)) yield return $"dropout must be in [0, 1), got {Dropout}";
        if (TargetModules.Count == 0) yield return "target_modules must name at least one linear layer, e.g. [q_proj, v_proj]";
    }
}

/// <summary>The <c>evaluate</c> section as written.</summary>
public sealed class EvaluateSection : IValidatableOptions
{
    /// <summary>Model roles to evaluate; null: every model the run has.</summary>
    public IReadOnlyList<string>? Models { get; init; }
    /// <summary>Splits every metric is computed on.</summary>
    public IReadOnlyList<string> Splits { get; init; } = ["forget", "retain"];
    /// <summary>Metrics: names or entries; null: the default metrics.</summary>
    public ConfigNode? Metrics { get; init; }
    /// <summary>Sequences per scoring batch.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Items evaluated per split; null: all.</summary>
    public int? MaxItems { get; init; }
    /// <summary>Longest generated answer.</summary>
    public int MaxNewTokens { get; init; } = 48;
    /// <summary>OpenUnlearning TOFU_EVAL.json of the retain model.</summary>
    public string? RetainLogs { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (BatchSize < 1) yield return $"batch_size must be >= 1, got {BatchSize}";
        if (MaxItems < 1) yield return $"max_items must be >= 1, got {MaxItems}";
        if (MaxNewTokens < 1) yield return $"max_new_tokens must be >= 1, got {MaxNewTokens}";
    }
}

/// <summary>The <c>report</c> section as written.</summary>
public sealed class ReportSection : IValidatableOptions
{
    /// <summary>Write PNG charts.</summary>
    public bool Charts { get; init; } = true;
    /// <summary>true, false or a list of roles.</summary>
    public ConfigNode? SaveModel { get; init; }
    /// <summary>Extra calibration targets.</summary>
    public IReadOnlyList<double> Taus { get; init; } = [];
    /// <summary>Also write TOFU_EVAL.json per model.</summary>
    public bool TofuEval { get; init; }
    /// <summary>Also write report.snapshot.md.</summary>
    public bool Deterministic { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        foreach (var tau in Taus.Where(t => !(t > 0 && t <= 1)).Take(1))
            yield return $"taus: expected numbers in (0, 1], got {OptionsBinder.FormatValue(tau)}";
    }
}

/// <summary>A plugin entry of a list (controls, attack steps) written as a mapping.</summary>
public sealed class PluginEntry : IValidatableOptions
{
    /// <summary>The plugin's name.</summary>
    public string? Name { get; init; }
    /// <summary>Its options.</summary>
    public ConfigMap? Options { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Name == null) yield return "missing required key 'name'. Each entry needs 'name:' (a plugin name)";
    }
}

/// <summary>An entry of <c>evaluate.metrics</c> written as a mapping.</summary>
public sealed class MetricEntry : IValidatableOptions
{
    /// <summary>The metric's name.</summary>
    public string? Name { get; init; }
    /// <summary>Its options.</summary>
    public ConfigMap? Options { get; init; }
    /// <summary>The metric's own splits.</summary>
    public IReadOnlyList<string>? Splits { get; init; }
    /// <summary>The name of this use's results (a metric used twice with different options needs one per use).</summary>
    public string? As { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Name == null) yield return "missing required key 'name'. Each entry needs 'name:' (a metric name)";
        if (As != null && !IsResultName(As))
            yield return $"as: '{As}' is not a usable name: use letters, digits, '-', '_' and '.', starting with a letter or digit (e.g. as: es-strict)";
    }

    private static bool IsResultName(string name) =>
        name.Length > 0 && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}

/// <summary>The calibrate section written as a mapping.</summary>
public sealed class CalibrateEntry : IValidatableOptions
{
    /// <summary>The calibrator's name.</summary>
    public string? Method { get; init; }
    /// <summary>Its options.</summary>
    public ConfigMap? Options { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Method == null) yield return "missing 'method:' (e.g. 'method: model-mixing')";
    }
}

/// <summary>An entry of the attacks section written as a mapping: one attack, or a chain of them.</summary>
public sealed class AttackEntry : IValidatableOptions
{
    /// <summary>The results' label.</summary>
    public string? Label { get; init; }
    /// <summary>The attack's name (one attack).</summary>
    public string? Name { get; init; }
    /// <summary>Its options (one attack).</summary>
    public ConfigMap? Options { get; init; }
    /// <summary>Attacks applied in order (a combination).</summary>
    public ConfigNode? Chain { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Chain != null && (Name != null || Options != null))
            yield return "an entry has either chain: (a combination) or name: and options: (one attack), not both";
        else if (Chain == null && Name == null)
            yield return "missing required key 'name'. Each attack needs 'name:' (an attack name) or 'chain:' (a list of attacks applied in order)";
    }
}
