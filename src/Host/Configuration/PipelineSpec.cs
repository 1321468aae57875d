using Unlearn.Training;

namespace Unlearn.Host.Configuration;

/// <summary>A plugin named in a pipeline, with its options mapping and where it was written.</summary>
public sealed record PluginUse(string Name, ConfigMap? Options, string KeyPath, SourceLocation Location);

/// <summary>The <c>model</c> section.</summary>
/// <param name="Path">A Hugging Face model folder (config.json, model.safetensors, tokenizer files), or null for a built-in architecture.</param>
/// <param name="Architecture">Built-in architecture for models trained from scratch ("tiny", "small").</param>
/// <param name="RetainPath">An existing retain model folder (trained without the forget set), if the user has one.</param>
/// <param name="Template">"auto" (the model folder's chat template if it has one, else the default text template),
/// "chat" (the folder's chat template, required), or a text template with {question} and {answer}.</param>
/// <param name="MaxLength">Longest tokenised sequence.</param>
/// <param name="SystemPrompt">A system message put before the question when a chat template is used.</param>
public sealed record ModelSpec(string? Path, string Architecture, string? RetainPath, string Template, int MaxLength, string? SystemPrompt = null);

/// <summary>The <c>data</c> section: where the TOFU-schema files are and which split plays which role.</summary>
/// <param name="Folder">A folder of TOFU files, or null for the built-in world.</param>
/// <param name="World">Settings of the built-in world (when <paramref name="Folder"/> is null).</param>
/// <param name="Forget">The forget split family: forget01, forget05 or forget10.</param>
/// <param name="Splits">Logical split name -> file name without extension.</param>
public sealed record DataSpec(string? Folder, WorldSpec? World, string Forget, IReadOnlyDictionary<string, string> Splits);

/// <summary>Built-in synthetic world settings.</summary>
public sealed record WorldSpec(int Authors, int Seed);

/// <summary>The <c>learn</c> section.</summary>
/// <param name="Recipe">none (model.path is the target), tiny-world (base + target + retain from scratch), tofu (fine-tune model.path on full and on the retain split).</param>
/// <param name="Base">Trainer settings for the base model (tiny-world).</param>
/// <param name="Target">Trainer settings for the target and retain models.</param>
/// <param name="TrainRetainModel">Whether to train the retain model.</param>
public sealed record LearnSpec(string Recipe, TrainerSettings Base, TrainerSettings Target, bool TrainRetainModel);

/// <summary>The <c>unlearn</c> section.</summary>
public sealed record UnlearnSpec(PluginUse Method, TrainerSettings Trainer, int RetainBatchSize);

/// <summary>A metric to compute and on which splits (null = the evaluate section's splits).</summary>
public sealed record MetricUse(PluginUse Plugin, IReadOnlyList<string>? Splits);

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
