using Unlearn.Host.Configuration;
using Unlearn.Plugins;

namespace Unlearn.Host.Plugins;

/// <summary>A loaded plugin assembly.</summary>
/// <param name="Path">Full path of the DLL.</param>
/// <param name="Name">Assembly name.</param>
/// <param name="Version">Assembly (informational) version.</param>
/// <param name="Sha256">SHA-256 of the DLL file, lower-case hex.</param>
/// <param name="SdkVersion">The SDK version the plugin was built against.</param>
/// <param name="Origin">Where it was found: "built-in", "--plugins", "UNLEARN_PLUGIN_PATH", "pipeline" or "host".</param>
public sealed record PluginAssembly(string Path, string Name, string Version, string Sha256, Version SdkVersion, string Origin);

/// <summary>One registered plugin.</summary>
public sealed record PluginDescriptor(
    PluginKind Kind, string Name, IReadOnlyList<string> Aliases, string Description, Type OptionsType,
    Func<object, object> Factory, PluginAssembly Assembly)
{
    /// <summary>The name and aliases.</summary>
    public IEnumerable<string> AllNames => Aliases.Prepend(Name);
}

/// <summary>A plugin assembly or registration that could not be used, and why.</summary>
/// <param name="Path">The file concerned.</param>
/// <param name="Message">What is wrong and how to fix it.</param>
public sealed record PluginProblem(string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>A plugin failed: names the file, says what happened.</summary>
public sealed class PluginException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>All plugins known to this process, resolved by short name.</summary>
public sealed class PluginRegistry
{
    private readonly List<PluginDescriptor> _plugins = [];
    private readonly List<PluginProblem> _problems = [];
    private readonly List<PluginProblem> _warnings = [];
    private readonly Dictionary<(PluginKind, string), string> _conflicts = [];

    /// <summary>Every usable plugin.</summary>
    public IReadOnlyList<PluginDescriptor> Plugins => _plugins;

    /// <summary>Assemblies and registrations that were skipped.</summary>
    public IReadOnlyList<PluginProblem> Problems => _problems;

    /// <summary>Records a problem.</summary>
    public void AddProblem(PluginProblem problem) => _problems.Add(problem);

    /// <summary>Assemblies that loaded but may misbehave (built against an SDK below the last possibly-breaking
    /// version): listing and every run show them.</summary>
    public IReadOnlyList<PluginProblem> Warnings => _warnings;

    /// <summary>Records a warning about a loaded assembly.</summary>
    public void AddWarning(PluginProblem warning) => _warnings.Add(warning);

    /// <summary>A catalog that registers into this registry on behalf of one assembly.</summary>
    public IPluginCatalog CatalogFor(PluginAssembly assembly) => new Catalog(this, assembly);

    /// <summary>Adds a plugin; a name (or alias) already taken by another assembly makes both unusable under that name.</summary>
    public void Add(PluginDescriptor descriptor)
    {
        foreach (var name in descriptor.AllNames)
        {
            var clash = _plugins.FirstOrDefault(p => p.Kind == descriptor.Kind && p.AllNames.Contains(name, StringComparer.OrdinalIgnoreCase));
            if (clash != null)
            {
                var message = $"two plugins claim the {KindWord(descriptor.Kind)} name '{name}': {clash.Assembly.Path} and {descriptor.Assembly.Path}. Remove one of the assemblies from the plugin folders, or rename one plugin.";
                _conflicts[(descriptor.Kind, name.ToLowerInvariant())] = message;
                _problems.Add(new PluginProblem(descriptor.Assembly.Path, message));
                return;
            }
        }
        _plugins.Add(descriptor);
    }

    /// <summary>Finds a plugin by name or alias; otherwise throws a <see cref="PipelineException"/> listing the valid
    /// names, the nearest one, and any plugin assemblies that failed to load.</summary>
    public PluginDescriptor Resolve(PluginKind kind, string name, SourceLocation location, string keyPath)
    {
        if (_conflicts.TryGetValue((kind, name.ToLowerInvariant()), out var conflict))
            throw new PipelineException(location, keyPath, conflict);
        if (Find(kind, name) is { } match) return match;
        var valid = _plugins.Where(p => p.Kind == kind).Select(p => p.Name).ToList();
        var message = NameSuggestions.Unknown(KindWord(kind), name, valid);
        if (_problems.Count > 0)
            message += " Some plugin assemblies could not be loaded: " + string.Join(" | ", _problems.Select(p => p.ToString()));
        throw new PipelineException(location, keyPath, message);
    }

    /// <summary>The plugin of a kind with that name or alias, or null.</summary>
    public PluginDescriptor? Find(PluginKind kind, string name) =>
        _plugins.FirstOrDefault(p => p.Kind == kind && p.AllNames.Contains(name, StringComparer.OrdinalIgnoreCase));

    /// <summary>Binds options and creates the plugin object; a throwing factory or constructor becomes a
    /// <see cref="PluginException"/> naming the assembly file.</summary>
    public T Create<T>(PluginDescriptor descriptor, ConfigMap? options, string keyPath, SourceLocation location) where T : class
    {
        var bound = OptionsBinder.Bind(descriptor.OptionsType, options, keyPath, location);
        return CreateWithOptions<T>(descriptor, bound);
    }

    /// <summary>Creates the plugin object from already-bound options.</summary>
    public static T CreateWithOptions<T>(PluginDescriptor descriptor, object options) where T : class
    {
        object created;
        try { created = descriptor.Factory(options); }
        catch (Exception e)
        {
            var inner = e is System.Reflection.TargetInvocationException { InnerException: { } i } ? i : e;
            throw new PluginException($"{descriptor.Assembly.Path}: the {KindWord(descriptor.Kind)} '{descriptor.Name}' threw while being created: {inner.GetType().Name}: {inner.Message}", inner);
        }
        return created as T ?? throw new PluginException($"{descriptor.Assembly.Path}: the {KindWord(descriptor.Kind)} '{descriptor.Name}' created a {created?.GetType().FullName ?? "null"}, not an {typeof(T).Name}.");
    }

    /// <summary>"objective", "controller", "calibrator", "metric", "attack".</summary>
    public static string KindWord(PluginKind kind) => kind.ToString().ToLowerInvariant();

    private sealed class Catalog(PluginRegistry registry, PluginAssembly assembly) : IPluginCatalog
    {
        public void AddObjective<TOptions>(PluginInfo info, Func<TOptions, IObjective> create) where TOptions : class, new() =>
            Add(PluginKind.Objective, info, typeof(TOptions), o => create((TOptions)o));

        public void AddController<TOptions>(PluginInfo info, Func<TOptions, IController> create) where TOptions : class, new() =>
            Add(PluginKind.Controller, info, typeof(TOptions), o => create((TOptions)o));

        public void AddCalibrator<TOptions>(PluginInfo info, Func<TOptions, ICalibrator> create) where TOptions : class, new() =>
            Add(PluginKind.Calibrator, info, typeof(TOptions), o => create((TOptions)o));

        public void AddMetric<TOptions>(PluginInfo info, Func<TOptions, IMetric> create) where TOptions : class, new() =>
            Add(PluginKind.Metric, info, typeof(TOptions), o => create((TOptions)o));

        public void AddAttack<TOptions>(PluginInfo info, Func<TOptions, IAttack> create) where TOptions : class, new() =>
            Add(PluginKind.Attack, info, typeof(TOptions), o => create((TOptions)o));

        private void Add(PluginKind kind, PluginInfo info, Type optionsType, Func<object, object> factory)
        {
            if (string.IsNullOrWhiteSpace(info.Name) || info.Name.Any(char.IsWhiteSpace))
            {
                registry.AddProblem(new PluginProblem(assembly.Path, $"a {KindWord(kind)} was registered with the invalid name '{info.Name}' (names are non-empty and have no spaces)."));
                return;
            }
            registry.Add(new PluginDescriptor(kind, info.Name, info.Aliases, info.Description, optionsType, factory, assembly));
        }
    }
}
