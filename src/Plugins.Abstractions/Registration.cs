namespace Unlearn.Plugins;

/// <summary>The kinds of plugin the host knows.</summary>
public enum PluginKind
{
    /// <summary>An unlearning method: a loss the host minimises.</summary>
    Objective,
    /// <summary>Observes the training loop and may stop or adjust it.</summary>
    Controller,
    /// <summary>Turns θ_orig and θ_unl into the final model (e.g. model mixing).</summary>
    Calibrator,
    /// <summary>Evaluates a model on a data split, per item and in aggregate.</summary>
    Metric,
    /// <summary>Changes a model or its prompts without changing what it knows, to test a metric's robustness (SDK 1.3).</summary>
    Attack,
}

/// <summary>Marks an assembly as a dotnet-unlearn plugin and names its one registration type.</summary>
/// <example><c>[assembly: UnlearnPlugin(typeof(MyPlugins))]</c></example>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class UnlearnPluginAttribute(Type moduleType) : Attribute
{
    /// <summary>A type implementing <see cref="IPluginModule"/> with a public parameterless constructor.</summary>
    public Type ModuleType { get; } = moduleType;
}

/// <summary>The one registration type of a plugin assembly.</summary>
public interface IPluginModule
{
    /// <summary>Adds this assembly's plugins to the catalog.</summary>
    void Register(IPluginCatalog catalog);
}

/// <summary>Name, description and option type of one plugin.</summary>
/// <param name="Name">Short name used in pipeline files: lower case, words joined by '-' (e.g. "npo", "model-mixing").</param>
/// <param name="Description">One sentence for listings and docs.</param>
public sealed record PluginInfo(string Name, string Description)
{
    /// <summary>Other names the plugin answers to (e.g. "graddiff" for "gd").</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
}

/// <summary>Where a plugin module registers what it provides. Each factory receives the validated,
/// immutable options object built from defaults, the pipeline file and <c>--set</c> overrides.</summary>
public interface IPluginCatalog
{
    /// <summary>Registers an unlearning objective.</summary>
    void AddObjective<TOptions>(PluginInfo info, Func<TOptions, IObjective> create) where TOptions : class, new();

    /// <summary>Registers a training-loop controller.</summary>
    void AddController<TOptions>(PluginInfo info, Func<TOptions, IController> create) where TOptions : class, new();

    /// <summary>Registers a calibrator.</summary>
    void AddCalibrator<TOptions>(PluginInfo info, Func<TOptions, ICalibrator> create) where TOptions : class, new();

    /// <summary>Registers a metric.</summary>
    void AddMetric<TOptions>(PluginInfo info, Func<TOptions, IMetric> create) where TOptions : class, new();

    /// <summary>Registers an attack (SDK 1.3).</summary>
    void AddAttack<TOptions>(PluginInfo info, Func<TOptions, IAttack> create) where TOptions : class, new();
}

/// <summary>The version of this SDK. Plugins built against another major version are refused; plugins
/// built against a newer minor version than the host's are refused (they may use members the host lacks).</summary>
public static class SdkVersion
{
    /// <summary>The SDK's assembly version.</summary>
    public static Version Current => typeof(SdkVersion).Assembly.GetName().Version ?? new Version(1, 0);

    /// <summary>The oldest SDK version whose plugins still run on this host (the last breaking change).</summary>
    public static Version LastBreaking { get; } = new(1, 0);

    /// <summary>The oldest SDK version whose plugins run on this host without a warning (the last possibly-breaking
    /// change). 1.5: a calibrator's <c>CalibrationContext.Original</c>, <c>Unlearned</c> and <c>Mix(α)</c> are one
    /// model set to α = 0, 1 or α, so a calibrator that keeps two of them at once compares a model with itself.</summary>
    public static Version LastPossiblyBreaking { get; } = new(1, 5);
}
