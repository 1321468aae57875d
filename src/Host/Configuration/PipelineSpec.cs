using Unlearn.Plugins;
using Unlearn.Text;
using Unlearn.Training;

namespace Unlearn.Host.Configuration;

/// <summary>A plugin named in a pipeline, with its options mapping and where it was written.</summary>
public sealed record PluginUse(string Name, ConfigMap? Options, string KeyPath, SourceLocation Location);

/// <summary>The <c>model</c> section.</summary>
public sealed record ModelSpec : IValidatableOptions
{
    /// <summary>A Hugging Face model folder (config.json, model.safetensors, tokenizer files), or null for a built-in architecture.</summary>
    public string? Path { get; init; }
    /// <summary>Built-in architecture for models trained from scratch.</summary>
    public string Architecture { get; init; } = "tiny";
    /// <summary>A PEFT LoRA adapter folder merged into <see cref="Path"/> to make the target model (recipe none).</summary>
    public string? Adapter { get; init; }
    /// <summary>An existing retain model folder (trained without the forget set), if the user has one.</summary>
    public string? RetainPath { get; init; }
    /// <summary>"auto" (the model folder's chat template if it has one, else the default text template), "chat" (the
    /// folder's chat template, required), or a text template with {question} and {answer}.</summary>
    public string Template { get; init; } = PromptTemplates.Auto;
    /// <summary>Longest tokenised sequence.</summary>
    public int MaxLength { get; init; } = 128;
    /// <summary>A system message put before the question when a chat template is used.</summary>
    public string? SystemPrompt { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (MaxLength < 8) yield return $"max_length must be >= 8, got {MaxLength}";
        var isChat = Template is PromptTemplates.Auto or PromptTemplates.Chat;
        if (!isChat && (!Template.Contains("{question}", StringComparison.Ordinal) || !Template.Contains("{answer}", StringComparison.Ordinal)))
            yield return $"template: the template must be '{PromptTemplates.Auto}', '{PromptTemplates.Chat}' or a text containing {{question}} and {{answer}}";
        else if (!isChat && !Template.EndsWith("{answer}", StringComparison.Ordinal))
            yield return "template: the template must end with {answer} (the answer is what the model continues)";
        if (Template == PromptTemplates.Chat && Path == null)
            yield return "template 'chat' uses the chat template of the model folder, but there is no model.path (built-in models have none). Set model.path or remove the template key";
        if (Adapter != null && Path == null)
            yield return "adapter is merged into the model folder model.path, but there is no model.path. Set model.path to the adapter's base model";
        if (SystemPrompt != null && !isChat)
            yield return "system_prompt is used only with a chat template; set template to 'chat' (or 'auto') or remove system_prompt";
    }
}

/// <summary>The <c>data</c> section: where the TOFU-schema files are and which split plays which role.</summary>
/// <param name="Folder">A folder of TOFU files, or null for the built-in world.</param>
/// <param name="World">Settings of the built-in world (when <paramref name="Folder"/> is null).</param>
/// <param name="Forget">The forget split family: forget01, forget05 or forget10.</param>
/// <param name="Splits">Logical split name -> file name without extension.</param>
public sealed record DataSpec(string? Folder, WorldSpec? World, string Forget, IReadOnlyDictionary<string, string> Splits);

/// <summary>Built-in synthetic world settings (<c>data.world</c>).</summary>
public sealed record WorldSpec : IValidatableOptions
{
    /// <summary>Fictitious authors.</summary>
    public int Authors { get; init; } = 10;
    /// <summary>The world's seed.</summary>
    public int Seed { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Authors < 2) yield return $"authors must be >= 2, got {Authors}";
        if (Seed < 0) yield return $"seed must be >= 0, got {Seed}";
    }
}

/// <summary>The <c>learn</c> section. The recipe's and the retain model's defaults depend on the model section; the
/// binder gives them.</summary>
public sealed record LearnSpec : IValidatableOptions
{
    /// <summary>The learn recipe names.</summary>
    public static readonly string[] Recipes = ["none", "tiny-world", "tofu"];

    /// <summary>none (model.path is the target), tiny-world (base + target + retain from scratch), tofu (fine-tune
    /// model.path on full and on the retain split).</summary>
    public string Recipe { get; init; } = "tiny-world";
    /// <summary>Trainer settings for the base model (tiny-world).</summary>
    public TrainerSettings Base { get; init; } = TrainerDefaults.LearnBase;
    /// <summary>Trainer settings for the target and retain models.</summary>
    public TrainerSettings Target { get; init; } = TrainerDefaults.LearnTarget;
    /// <summary>Whether to train the retain model.</summary>
    public bool RetainModel { get; init; } = true;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!Recipes.Contains(Recipe, StringComparer.Ordinal)) yield return "recipe: " + NameSuggestions.Unknown("value", Recipe, Recipes);
    }
}

/// <summary>The <c>unlearn</c> section.</summary>
/// <param name="Adapter">LoRA adapters trained instead of the weights (<c>unlearn.adapter</c>), or null.</param>
public sealed record UnlearnSpec(PluginUse Method, TrainerSettings Trainer, int RetainBatchSize, Unlearn.Models.LoraSettings? Adapter = null);

/// <summary>A use of a metric: the metric, the splits it is computed on (null = the evaluate section's splits) and the
/// name its results go by (<c>as:</c>), null for the metric's own name.</summary>
public sealed record MetricUse(PluginUse Plugin, IReadOnlyList<string>? Splits, string? As = null)
{
    /// <summary>The name of this use's results: <c>as:</c>, else the metric's name as written. Results, cache keys,
    /// report rows and the metric lookups of other plugins go by it.</summary>
    public string Name => As ?? Plugin.Name;
}

/// <summary>The <c>evaluate</c> section.</summary>
/// <param name="RetainLogs">An OpenUnlearning TOFU_EVAL.json of the retain model that forget-quality and privleak read
/// instead of evaluating a retain model (<c>evaluate.retain_logs</c>), or null.</param>
public sealed record EvaluateSpec(IReadOnlyList<string> Models, IReadOnlyList<string> Splits, IReadOnlyList<MetricUse> Metrics, int BatchSize, int? MaxItems, int MaxNewTokens,
    string? RetainLogs = null);

/// <summary>The <c>report</c> section.</summary>
/// <param name="Charts">Write PNG charts.</param>
/// <param name="SaveModels">Model roles (calibrated, unlearned) saved as Hugging Face folders under <c>models/</c> of the run folder.</param>
/// <param name="Taus">Extra calibration targets.</param>
/// <param name="TofuEval">Also write OpenUnlearning's TOFU_EVAL.json per evaluated model (<c>report.tofu_eval</c>).</param>
/// <param name="Deterministic">Also write <c>report.snapshot.md</c>, the report without times, paths and machine facts,
/// values rounded (<c>report.deterministic</c>).</param>
public sealed record ReportSpec(bool Charts, IReadOnlyList<string> SaveModels, IReadOnlyList<double> Taus, bool TofuEval = false, bool Deterministic = false);

/// <summary>A whole, validated experiment.</summary>
public sealed record PipelineSpec
{
    /// <summary>Experiment name (run folders go under runs/NAME).</summary>
    public required string Name { get; init; }
    /// <summary>The pipeline file.</summary>
    public required string SourceFile { get; init; }
    /// <summary>The seed every random choice derives from.</summary>
    public required int Seed { get; init; }
    /// <summary>Free text.</summary>
    public string? Description { get; init; }
    /// <summary>Plugin folders the pipeline lists (absolute), each allowed by the user.</summary>
    public required IReadOnlyList<string> PluginFolders { get; init; }
    /// <summary>Model.</summary>
    public required ModelSpec Model { get; init; }
    /// <summary>Data.</summary>
    public required DataSpec Data { get; init; }
    /// <summary>Learn stage.</summary>
    public required LearnSpec Learn { get; init; }
    /// <summary>Unlearn stage, or null to evaluate only.</summary>
    public UnlearnSpec? Unlearn { get; init; }
    /// <summary>Controllers.</summary>
    public required IReadOnlyList<PluginUse> Controls { get; init; }
    /// <summary>Calibrator, or null.</summary>
    public PluginUse? Calibrate { get; init; }
    /// <summary>Evaluation.</summary>
    public required EvaluateSpec Evaluate { get; init; }
    /// <summary>Attacks every evaluated model is evaluated under as well (the <c>attacks</c> section).</summary>
    public IReadOnlyList<AttackUse> Attacks { get; init; } = [];
    /// <summary>Report.</summary>
    public required ReportSpec Report { get; init; }
    /// <summary>Where and with which resources sweep points run on a cluster (the <c>executor</c> section).</summary>
    public Running.Executors.ExecutorSettings Executor { get; init; } = Running.Executors.ExecutorSettings.None;
    /// <summary>The resolved tree (includes merged, overrides applied).</summary>
    public required ConfigMap Resolved { get; init; }
}

/// <summary>Model roles a run can evaluate.</summary>
public static class ModelRoles
{
    /// <summary>θ_orig: the target model before unlearning.</summary>
    public const string Original = "original";
    /// <summary>θ_unl: the raw unlearned model.</summary>
    public const string Unlearned = "unlearned";
    /// <summary>θ(α*): the calibrated model.</summary>
    public const string Calibrated = "calibrated";
    /// <summary>The retain model (never saw the forget set).</summary>
    public const string Retain = "retain";
    /// <summary>All roles in report order.</summary>
    public static readonly string[] All = [Original, Unlearned, Calibrated, Retain];
}
