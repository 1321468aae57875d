using System.Globalization;

namespace Unlearn.Host.Configuration;

/// <summary>Turns a resolved pipeline tree into a <see cref="PipelineSpec"/>, checking every section.
/// Plugin names and options are checked later against the plugin registry (<see cref="Running.RunPlanner"/>).</summary>
public static class PipelineBinder
{
    /// <summary>Top-level sections in file order.</summary>
    public static readonly string[] Sections = ["name", "description", "seed", "plugins", "model", "data", "learn", "unlearn", "controls", "calibrate", "evaluate", "attacks", "report", "executor", "sweep"];

    /// <summary>The forget split families TOFU defines.</summary>
    public static readonly string[] ForgetSplits = ["forget01", "forget05", "forget10"];

    /// <summary>Default metric list of the evaluate section.</summary>
    public static readonly string[] DefaultMetrics = ["es", "es-paraphrased"];

    /// <summary>Binds a tree. <paramref name="allowedPluginFolders"/> are the folders the user allowed with --plugins or
    /// UNLEARN_PLUGIN_PATH; a pipeline may only list folders inside them.</summary>
    public static PipelineSpec Bind(ConfigMap root, string sourceFile, IReadOnlyList<string> allowedPluginFolders)
    {
        MakePathsAbsolute(root, sourceFile);
        var top = Section<PipelineSections>(root, "", root.Location);
        var name = top.Name ?? Path.GetFileNameWithoutExtension(sourceFile);
        if (name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains(' '))
            throw new PipelineException(root.LocationOf("name"), "name", $"'{name}' cannot name a run folder: use letters, digits, '-', '_' or '.'.");

        var pluginFolders = new List<string>();
        foreach (var folder in top.Plugins ?? [])
        {
            var full = Path.GetFullPath(folder);
            var allowed = allowedPluginFolders.Any(a => IsInside(full, Path.GetFullPath(a)));
            if (!allowed)
                throw new PipelineException(root.LocationOf("plugins"), "plugins",
                    $"the pipeline lists the plugin folder '{folder}' ({full}), which you have not allowed. A pipeline never loads code from a folder on its own: pass --plugins {full} or add it to UNLEARN_PLUGIN_PATH.");
            pluginFolders.Add(full);
        }

        var model = top.Model;
        var data = BindData(top.Data, root["data"] as ConfigMap);
        var learn = BindLearn(top.Learn, root.LocationOf("learn"), model, data);
        var unlearn = top.Unlearn is { } u
            ? new UnlearnSpec(new PluginUse(u.Method!, u.Options, "unlearn.options", ((ConfigMap)root["unlearn"]!).LocationOf("method")), u.Trainer, u.RetainBatchSize, u.Adapter?.ToSettings())
            : null;
        var controls = BindPluginList(top.Controls, "controls");
        var calibrate = BindCalibrate(top.Calibrate, root.LocationOf("calibrate"));
        var evaluate = BindEvaluate(top.Evaluate, root["evaluate"] as ConfigMap ?? new ConfigMap(root.LocationOf("evaluate")), data, learn, model, unlearn != null, calibrate != null);
        var attacks = AttacksBinder.Bind(top.Attacks);
        var report = BindReport(top.Report, unlearn != null, calibrate != null);
        return new PipelineSpec
        {
            Name = name, SourceFile = Path.GetFullPath(sourceFile), Seed = top.Seed, Description = top.Description,
            PluginFolders = pluginFolders, Model = model, Data = data, Learn = learn, Unlearn = unlearn,
            Controls = controls, Calibrate = calibrate, Evaluate = evaluate, Attacks = attacks, Report = report, Executor = top.Executor, Resolved = root,
        };
    }

    /// <summary>Binds one of the tool's own sections (or a plugin entry written as a mapping) with the options binder;
    /// unknown keys are refused naming the nearest valid key.</summary>
    internal static T Section<T>(ConfigMap? map, string keyPath, SourceLocation location, T? defaults = null) where T : class =>
        OptionsBinder.Bind(map, keyPath, map?.Location ?? location, defaults, keyNoun: "key");

    /// <summary>Keys whose values are paths.</summary>
    public static readonly string[] PathKeys = ["model.path", "model.retain_path", "data.folder", "evaluate.retain_logs", "plugins"];

    /// <summary>True for a plugin option that names a file or folder: by convention its name is <c>file</c>, <c>folder</c>
    /// or <c>path</c> or ends in <c>_file</c>, <c>_folder</c> or <c>_path</c> (a C# property File, TemplatesFile, ...).
    /// Such values are resolved like <see cref="PathKeys"/>.</summary>
    public static bool IsPathOption(string key) =>
        OptionsBinder.ToSnakeCase(key) is var k && (k is "file" or "folder" or "path" || k.EndsWith("_file", StringComparison.Ordinal)
            || k.EndsWith("_folder", StringComparison.Ordinal) || k.EndsWith("_path", StringComparison.Ordinal));

    /// <summary>Rewrites the path values of a tree (<see cref="PathKeys"/>, plugin options that <see cref="IsPathOption"/>
    /// names, and the sweep axes of both) as absolute paths, so the resolved pipeline a
    /// run folder keeps means the same files when <c>--resume</c> reads it from the run folder. A relative path is
    /// resolved against the current folder when it came from <c>--set</c> (as any command-line path is), against the
    /// folder of the file that holds it when it came from a pipeline file (an included file names paths relative to
    /// itself), and against <paramref name="sourceFile"/>'s folder otherwise.</summary>
    public static void MakePathsAbsolute(ConfigMap root, string sourceFile)
    {
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(sourceFile))!;
        ConfigNode Absolute(ConfigNode node) => node switch
        {
            ConfigScalar { Value: { } path } s => new ConfigScalar(Path.GetFullPath(Path.Combine(RelativeTo(s.Location.File, baseDir), path)), s.Location, s.Quoted),
            ConfigList list => Replace(list, Absolute),
            _ => node,
        };
        static ConfigList Replace(ConfigList list, Func<ConfigNode, ConfigNode> change)
        {
            for (var i = 0; i < list.Items.Count; i++) list.Items[i] = change(list.Items[i]);
            return list;
        }
        foreach (var key in PathKeys)
        {
            var dot = key.LastIndexOf('.');
            var (parent, name) = dot < 0 ? (root, key) : (PipelineDocument.GetPath(root, key[..dot]) as ConfigMap, key[(dot + 1)..]);
            if (parent?[name] is { } node) parent.Set(name, Absolute(node), parent.LocationOf(name));
            if (root["sweep"] is ConfigMap sweep && sweep[key] is { } axis)
                sweep.Set(key, axis is ConfigList values ? Replace(values, Absolute) : Absolute(axis), sweep.LocationOf(key));
        }
        // Plugin options: every "options" mapping of the tree (unlearn, controls, calibrate, metrics, attacks and chains).
        void Visit(ConfigNode? node)
        {
            if (node is ConfigList list) foreach (var item in list.Items) Visit(item);
            if (node is not ConfigMap map) return;
            foreach (var (key, value) in map.Entries.ToList())
            {
                if (key == "options" && value is ConfigMap options)
                    foreach (var (option, optionValue) in options.Entries.ToList().Where(e => IsPathOption(e.Key)))
                        options.Set(option, Absolute(optionValue), options.LocationOf(option));
                else Visit(value);
            }
        }
        Visit(root);
        if (root["sweep"] is ConfigMap axes)
            foreach (var (key, axis) in axes.Entries.ToList().Where(e => e.Key.Contains(".options.", StringComparison.Ordinal) && IsPathOption(e.Key[(e.Key.LastIndexOf('.') + 1)..])))
                axes.Set(key, axis is ConfigList values ? Replace(values, Absolute) : Absolute(axis), axes.LocationOf(key));
    }

    private static string RelativeTo(string file, string baseDir) =>
        file.StartsWith(SourceLocation.CommandLinePrefix, StringComparison.Ordinal) ? Directory.GetCurrentDirectory()
        : File.Exists(file) ? Path.GetDirectoryName(Path.GetFullPath(file))! : baseDir;

    private static bool IsInside(string path, string folder)
    {
        var f = folder.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        return path.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar is var p && p.StartsWith(f, StringComparison.Ordinal);
    }

    private static DataSpec BindData(DataSection section, ConfigMap? written)
    {
        var world = section.World;
        if (section.Folder == null) world ??= new WorldSpec();
        else if (world != null)
            throw new PipelineException(written!.LocationOf("world"), "data.world", "use either data.folder (your TOFU files) or data.world (the built-in world), not both.");
        var forget = section.Forget;
        var nn = forget[^2..];
        var retainPercent = (100 - int.Parse(nn, CultureInfo.InvariantCulture)).ToString("00", CultureInfo.InvariantCulture);
        var splits = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["full"] = "full",
            ["train_forget"] = forget,
            ["train_retain"] = "retain" + retainPercent,
            ["forget"] = forget + "_perturbed",
            ["retain"] = "retain_perturbed",
            ["holdout"] = "holdout" + nn,
            ["real_authors"] = "real_authors_perturbed",
            ["world_facts"] = "world_facts_perturbed",
        };
        if (world != null) splits["general"] = "general";
        foreach (var (key, file) in section.Splits ?? new Dictionary<string, string>()) splits[key] = file;
        return new DataSpec(section.Folder, world, forget, splits);
    }

    private static LearnSpec BindLearn(ConfigMap? map, SourceLocation location, ModelSpec model, DataSpec data)
    {
        // The defaults that depend on the model section: a model folder is the target as it is, and a retain model
        // folder needs no retain model trained.
        var learn = Section(map, "learn", location, new LearnSpec { Recipe = model.Path == null ? "tiny-world" : "none", RetainModel = model.RetainPath == null });
        var at = map?.LocationOf("recipe") ?? location;
        if (learn.Recipe == "none" && model.Path == null)
            throw new PipelineException(at, "learn.recipe", "recipe 'none' uses model.path as the target model, but model.path is not set. Set model.path or use recipe tiny-world.");
        if (learn.Recipe == "tofu" && model.Path == null)
            throw new PipelineException(at, "learn.recipe", "recipe 'tofu' fine-tunes model.path; set model.path to a Hugging Face model folder.");
        if (learn.Recipe == "tiny-world" && data.World == null && !data.Splits.ContainsKey("general"))
            throw new PipelineException(at, "learn.recipe", "recipe 'tiny-world' trains a base model on the 'general' split: use the built-in world (data.world) or map data.splits.general to a file.");
        return learn;
    }

    /// <summary>Reads "name" or {name:, options:} entries.</summary>
    internal static PluginUse ReadPluginEntry(ConfigNode node, string path)
    {
        if (node is not ConfigMap map) return ReadName(node, path);
        var entry = Section<PluginEntry>(map, path, map.Location);
        return new PluginUse(entry.Name!, entry.Options, path + ".options", map.LocationOf("name"));
    }

    private static PluginUse ReadName(ConfigNode node, string path) => node is ConfigScalar { Value: { } name }
        ? new PluginUse(name, null, path + ".options", node.Location)
        : throw new PipelineException(node.Location, path, $"expected a plugin name or a mapping with name: and options:, found {node.KindName}.");

    // An entry of evaluate.metrics: "name" or {name:, options:, splits:, as:}.
    private static MetricUse ReadMetric(ConfigNode node, string path, DataSpec data)
    {
        if (node is not ConfigMap map) return new MetricUse(ReadName(node, path), null);
        var entry = Section<MetricEntry>(map, path, map.Location);
        foreach (var split in entry.Splits ?? [])
            if (!data.Splits.ContainsKey(split))
                throw new PipelineException(map.LocationOf("splits"), path + ".splits", NameSuggestions.Unknown("split", split, data.Splits.Keys.ToList()));
        return new MetricUse(new PluginUse(entry.Name!, entry.Options, path + ".options", map.LocationOf("name")), entry.Splits, entry.As);
    }

    // Every use of evaluate.metrics has a name of its own: its results, cache entries and lookups go by it.
    private static void CheckUseNames(IReadOnlyList<MetricUse> metrics)
    {
        for (var i = 0; i < metrics.Count; i++)
        {
            var use = metrics[i];
            var earlier = metrics.Take(i).ToList().FindIndex(m => string.Equals(m.Name, use.Name, StringComparison.OrdinalIgnoreCase));
            if (earlier < 0) continue;
            var (first, second) = ($"evaluate.metrics.{earlier}", $"evaluate.metrics.{i}");
            throw new PipelineException(use.Plugin.Location, second,
                use.As == null && metrics[earlier].As == null
                    ? $"{first} and {second} both use the metric '{use.Plugin.Name}', so their results would go by one name. Give each use a name of its own with 'as:' (e.g. {{name: {use.Plugin.Name}, as: {use.Plugin.Name}-2, options: ...}}), or remove the repeated entry."
                    : $"{first} and {second} both name their results '{use.Name}'. Give one of them another name with 'as:'.");
        }
    }

    private static IReadOnlyList<PluginUse> BindPluginList(ConfigNode? node, string path) => node switch
    {
        null => [],
        ConfigList list => list.Items.Select((item, i) => ReadPluginEntry(item, $"{path}.{i}")).ToList(),
        _ => [ReadPluginEntry(node, path)],
    };

    // calibrate: a calibrator's name, {method:, options:}, or none/false.
    private static PluginUse? BindCalibrate(ConfigNode? node, SourceLocation location)
    {
        const string path = "calibrate";
        if (node is null or ConfigScalar { Value: null or "none" or "false" }) return null;
        if (node is not ConfigMap map) return ReadPluginEntry(node, path);
        var entry = Section<CalibrateEntry>(map, path, location);
        return new PluginUse(entry.Method!, entry.Options, path + ".options", map.LocationOf("method"));
    }

    private static EvaluateSpec BindEvaluate(EvaluateSection section, ConfigMap written, DataSpec data, LearnSpec learn, ModelSpec model, bool hasUnlearn, bool hasCalibrate)
    {
        var defaultModels = new List<string> { ModelRoles.Original };
        if (hasUnlearn) defaultModels.Add(ModelRoles.Unlearned);
        if (hasUnlearn && hasCalibrate) defaultModels.Add(ModelRoles.Calibrated);
        if (learn.RetainModel && learn.Recipe != "none" || model.RetainPath != null) defaultModels.Add(ModelRoles.Retain);
        var models = section.Models ?? defaultModels;
        var at = written.LocationOf("models");
        foreach (var m in models)
        {
            if (!ModelRoles.All.Contains(m))
                throw new PipelineException(at, "evaluate.models", NameSuggestions.Unknown("model role", m, ModelRoles.All));
            if (m is ModelRoles.Unlearned or ModelRoles.Calibrated && !hasUnlearn)
                throw new PipelineException(at, "evaluate.models", $"'{m}' needs an unlearn section.");
            if (m == ModelRoles.Calibrated && !hasCalibrate)
                throw new PipelineException(at, "evaluate.models", "'calibrated' needs a calibrate section.");
            if (m == ModelRoles.Retain && !defaultModels.Contains(ModelRoles.Retain))
                throw new PipelineException(at, "evaluate.models", "'retain' needs a retain model: set model.retain_path, or use a learn recipe that trains one.");
        }
        foreach (var split in section.Splits)
            if (!data.Splits.ContainsKey(split))
                throw new PipelineException(written.LocationOf("splits"), "evaluate.splits", NameSuggestions.Unknown("split", split, data.Splits.Keys.ToList()));
        var metrics = new List<MetricUse>();
        if (section.Metrics == null) metrics.AddRange(DefaultMetrics.Select(m => new MetricUse(new PluginUse(m, null, "evaluate.metrics", written.Location), null)));
        else
        {
            var items = section.Metrics is ConfigList list ? list.Items : [section.Metrics];
            metrics.AddRange(items.Select((item, i) => ReadMetric(item, $"evaluate.metrics.{i}", data)));
            CheckUseNames(metrics);
        }
        if (section.RetainLogs != null) CheckRetainLogs(section.RetainLogs, metrics, written.LocationOf("retain_logs"));
        return new EvaluateSpec(models, section.Splits, metrics, section.BatchSize, section.MaxItems, section.MaxNewTokens, section.RetainLogs);
    }

    /// <summary>Reads the retain logs before any work and checks they hold what forget-quality and privleak read.</summary>
    private static void CheckRetainLogs(string path, IReadOnlyList<MetricUse> metrics, SourceLocation at)
    {
        Evaluation.RetainLogs logs;
        try { logs = Evaluation.RetainLogs.Load(path); }
        catch (InvalidDataException ex) { throw new PipelineException(at, "evaluate.retain_logs", ex.Message); }
        var names = metrics.Select(m => m.Plugin.Name).ToHashSet(StringComparer.Ordinal);
        if (names.Contains("forget-quality") && !logs.Has("truth-ratio", "forget"))
            throw new PipelineException(at, "evaluate.retain_logs",
                $"{path} has no \"forget_truth_ratio\" entry, which forget-quality reads for the retain model; give the {Evaluation.OpenUnlearningNames.FileName} of an evaluation that computed it");
        string[] membership = ["mia-min-k", "mia-loss", "mia-zlib", "mia-min-k-pp"];
        if (names.Contains("privleak") && !membership.Any(m => logs.Has(m, "forget")))
            throw new PipelineException(at, "evaluate.retain_logs",
                $"{path} has no mia_* entry (mia_min_k, mia_loss, mia_zlib, mia_min_k_plus_plus), which privleak reads for the retain model");
    }

    /// <summary>Roles <c>report.save_model</c> may name.</summary>
    public static readonly string[] SavableModels = [ModelRoles.Calibrated, ModelRoles.Unlearned];

    // save_model: false, true (the final model: calibrated, else unlearned) or a list of roles.
    private static IReadOnlyList<string> BindSaveModels(ConfigNode? node, bool hasUnlearn, bool hasCalibrate)
    {
        const string path = "report.save_model";
        const string hint = "save_model is true (the calibrated model, or the unlearned one without calibration), false, or a list of roles: [calibrated, unlearned].";
        List<string> roles;
        if (node is null or ConfigScalar { Value: null }) return [];
        if (node is ConfigScalar { Value: "true" or "True" or "false" or "False" })
        {
            if (!(bool)OptionsBinder.ConvertNode(node, typeof(bool), path)!) return [];
            roles = [hasCalibrate ? ModelRoles.Calibrated : ModelRoles.Unlearned];
        }
        else roles = node is ConfigMap ? throw new PipelineException(node.Location, path, hint) : (List<string>)OptionsBinder.ConvertNode(node, typeof(List<string>), path)!;
        foreach (var role in roles)
        {
            if (!SavableModels.Contains(role))
                throw new PipelineException(node.Location, path, NameSuggestions.Unknown("model role", role, SavableModels) + " " + hint);
            if (!hasUnlearn || role == ModelRoles.Calibrated && !hasCalibrate)
                throw new PipelineException(node.Location, path,
                    $"the run has no {role} model to save ({(hasUnlearn ? "no calibrate section" : "no unlearn section")}).");
        }
        return roles.Distinct().ToList();
    }

    private static ReportSpec BindReport(ReportSection section, bool hasUnlearn, bool hasCalibrate) =>
        new(section.Charts, BindSaveModels(section.SaveModel, hasUnlearn, hasCalibrate), section.Taus, section.TofuEval, section.Deterministic);
}
