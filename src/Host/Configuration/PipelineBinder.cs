using System.Globalization;
using Unlearn.Text;
using Unlearn.Training;

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
        var top = new SectionReader(root, "", root.Location);
        var name = top.String("name") ?? Path.GetFileNameWithoutExtension(sourceFile);
        if (name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains(' '))
            throw new PipelineException(top.LocationOf("name"), "name", $"'{name}' cannot name a run folder: use letters, digits, '-', '_' or '.'.");
        var seed = top.Int("seed", 0, min: 0);
        var description = top.String("description");
        MakePathsAbsolute(root, sourceFile);

        var pluginFolders = new List<string>();
        foreach (var folder in top.StringList("plugins") ?? [])
        {
            var full = Path.GetFullPath(folder);
            var allowed = allowedPluginFolders.Any(a => IsInside(full, Path.GetFullPath(a)));
            if (!allowed)
                throw new PipelineException(top.LocationOf("plugins"), "plugins",
                    $"the pipeline lists the plugin folder '{folder}' ({full}), which you have not allowed. A pipeline never loads code from a folder on its own: pass --plugins {full} or add it to UNLEARN_PLUGIN_PATH.");
            pluginFolders.Add(full);
        }

        var model = BindModel(top.Section("model"));
        var data = BindData(top.Section("data"));
        var learn = BindLearn(top.Section("learn"), model, data);
        var unlearn = BindUnlearn(top.Section("unlearn"));
        var controls = BindPluginList(top.Node("controls"), "controls");
        var calibrate = BindOptionalPlugin(top.Node("calibrate"), "calibrate", top.LocationOf("calibrate"));
        var evaluate = BindEvaluate(top.Section("evaluate"), data, learn, model, unlearn != null, calibrate != null);
        var attacks = AttacksBinder.Bind(top.Node("attacks"));
        var report = BindReport(top.Section("report"), unlearn != null, calibrate != null);
        var executor = Running.Executors.ExecutorSettings.Bind(top.Section("executor"));
        top.Node("sweep"); // expanded before binding (see SweepExpander)
        top.RejectUnknownKeys();
        return new PipelineSpec
        {
            Name = name, SourceFile = Path.GetFullPath(sourceFile), Seed = seed, Description = description,
            PluginFolders = pluginFolders, Model = model, Data = data, Learn = learn, Unlearn = unlearn,
            Controls = controls, Calibrate = calibrate, Evaluate = evaluate, Attacks = attacks, Report = report, Executor = executor, Resolved = root,
        };
    }

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

    private static ModelSpec BindModel(SectionReader s)
    {
        var spec = new ModelSpec(
            s.String("path"),
            s.String("architecture", "tiny")!,
            s.String("retain_path"),
            s.String("template", PromptTemplates.Auto)!,
            s.Int("max_length", 128, min: 8),
            s.String("system_prompt"));
        var isChat = spec.Template is PromptTemplates.Auto or PromptTemplates.Chat;
        if (!isChat && (!spec.Template.Contains("{question}", StringComparison.Ordinal) || !spec.Template.Contains("{answer}", StringComparison.Ordinal)))
            throw new PipelineException(s.LocationOf("template"), s.Path + ".template",
                $"the template must be '{PromptTemplates.Auto}', '{PromptTemplates.Chat}' or a text containing {{question}} and {{answer}}.");
        if (!isChat && !spec.Template.EndsWith("{answer}", StringComparison.Ordinal))
            throw new PipelineException(s.LocationOf("template"), s.Path + ".template", "the template must end with {answer} (the answer is what the model continues).");
        if (spec.Template == PromptTemplates.Chat && spec.Path == null)
            throw new PipelineException(s.LocationOf("template"), s.Path + ".template",
                "template 'chat' uses the chat template of the model folder, but there is no model.path (built-in models have none). Set model.path or remove the template key.");
        if (spec.SystemPrompt != null && !isChat)
            throw new PipelineException(s.LocationOf("system_prompt"), s.Path + ".system_prompt",
                "system_prompt is used only with a chat template; set template to 'chat' (or 'auto') or remove system_prompt.");
        s.RejectUnknownKeys();
        return spec;
    }

    private static DataSpec BindData(SectionReader s)
    {
        var folder = s.String("folder");
        var worldSection = s.Section("world");
        WorldSpec? world = null;
        if (folder == null)
        {
            world = new WorldSpec(worldSection.Int("authors", 10, min: 2), worldSection.Int("seed", 0, min: 0));
            worldSection.RejectUnknownKeys();
        }
        else if (worldSection.Present)
            throw new PipelineException(worldSection.Location, "data.world", "use either data.folder (your TOFU files) or data.world (the built-in world), not both.");
        var forget = s.Choice("forget", "forget10", ForgetSplits);
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
        var overrides = s.Section("splits");
        if (overrides.Map != null)
        {
            foreach (var (key, node) in overrides.Map.Entries)
            {
                if (node is not ConfigScalar { Value: { } file })
                    throw new PipelineException(node.Location, $"data.splits.{key}", "expected a file name (without .json).");
                splits[key] = file;
            }
        }
        s.RejectUnknownKeys();
        return new DataSpec(s.String("folder"), world, forget, splits);
    }

    private static LearnSpec BindLearn(SectionReader s, ModelSpec model, DataSpec data)
    {
        var defaultRecipe = model.Path == null ? "tiny-world" : "none";
        var recipe = s.Choice("recipe", defaultRecipe, "none", "tiny-world", "tofu");
        if (recipe == "none" && model.Path == null)
            throw new PipelineException(s.LocationOf("recipe"), "learn.recipe", "recipe 'none' uses model.path as the target model, but model.path is not set. Set model.path or use recipe tiny-world.");
        if (recipe == "tofu" && model.Path == null)
            throw new PipelineException(s.LocationOf("recipe"), "learn.recipe", "recipe 'tofu' fine-tunes model.path; set model.path to a Hugging Face model folder.");
        if (recipe == "tiny-world" && data.World == null && !data.Splits.ContainsKey("general"))
            throw new PipelineException(s.LocationOf("recipe"), "learn.recipe", "recipe 'tiny-world' trains a base model on the 'general' split: use the built-in world (data.world) or map data.splits.general to a file.");
        var baseSettings = BindTrainer(s.Section("base"), TrainerDefaults.LearnBase);
        var targetSettings = BindTrainer(s.Section("target"), TrainerDefaults.LearnTarget);
        var trainRetain = s.Bool("retain_model", model.RetainPath == null);
        s.RejectUnknownKeys();
        return new LearnSpec(recipe, baseSettings, targetSettings, trainRetain);
    }

    /// <summary>Binds trainer settings on top of defaults.</summary>
    public static TrainerSettings BindTrainer(SectionReader s, TrainerSettings defaults)
    {
        if (s.Map == null) return defaults;
        var merged = new ConfigMap(s.Map.Location);
        foreach (var p in typeof(TrainerSettings).GetProperties().Where(p => p.CanWrite))
        {
            var value = p.GetValue(defaults);
            var key = OptionsBinder.ToSnakeCase(p.Name);
            merged.Set(key, new ConfigScalar(value == null ? null : OptionsBinder.FormatValue(value), SourceLocation.Default));
        }
        PipelineDocument.MergeInto(merged, s.Map);
        foreach (var key in s.Map.Entries.Keys) s.Node(key);
        return (TrainerSettings)OptionsBinder.Bind(typeof(TrainerSettings), OnlyWritten(merged, s.Map), s.Path, s.Location);
    }

    // Keep defaults' values but report unknown keys at the user's position.
    private static ConfigMap OnlyWritten(ConfigMap merged, ConfigMap written)
    {
        foreach (var key in written.Entries.Keys) merged.KeyLocations[key] = written.LocationOf(key);
        return merged;
    }

    private static UnlearnSpec? BindUnlearn(SectionReader s)
    {
        if (!s.Present) return null;
        var method = s.RequiredString("method", "Name an unlearning objective, e.g. 'method: ga' (see 'dotnet unlearn plugins').");
        var optionsNode = s.Node("options");
        if (optionsNode is not (null or ConfigMap))
            throw new PipelineException(optionsNode.Location, s.Path + ".options", $"expected a mapping of options, found {optionsNode.KindName}.");
        var trainer = BindTrainer(s.Section("trainer"), TrainerDefaults.Unlearn);
        var retainBatch = s.Int("retain_batch_size", 0, min: 0);
        s.RejectUnknownKeys();
        return new UnlearnSpec(new PluginUse(method, optionsNode as ConfigMap, s.Path + ".options", s.LocationOf("method")), trainer, retainBatch);
    }

    /// <summary>Reads "name" or {name:, options:} entries.</summary>
    internal static PluginUse ReadPluginEntry(ConfigNode node, string path)
    {
        switch (node)
        {
            case ConfigScalar { Value: { } name }:
                return new PluginUse(name, null, path + ".options", node.Location);
            case ConfigMap map:
                var s = new SectionReader(map, path, map.Location);
                var n = s.RequiredString("name", "Each entry needs 'name:' (a plugin name).");
                var options = s.Node("options");
                if (options is not (null or ConfigMap))
                    throw new PipelineException(options.Location, path + ".options", $"expected a mapping of options, found {options.KindName}.");
                s.Node("splits");
                s.RejectUnknownKeys();
                return new PluginUse(n, options as ConfigMap, path + ".options", s.LocationOf("name"));
            default:
                throw new PipelineException(node.Location, path, $"expected a plugin name or a mapping with name: and options:, found {node.KindName}.");
        }
    }

    private static IReadOnlyList<PluginUse> BindPluginList(ConfigNode? node, string path) => node switch
    {
        null => [],
        ConfigList list => list.Items.Select((item, i) => ReadPluginEntry(item, $"{path}.{i}")).ToList(),
        _ => [ReadPluginEntry(node, path)],
    };

    private static PluginUse? BindOptionalPlugin(ConfigNode? node, string path, SourceLocation location)
    {
        if (node == null) return null;
        if (node is ConfigScalar { Value: "none" or "false" }) return null;
        if (node is ConfigMap map && map["method"] is ConfigScalar { Value: { } method })
        {
            var s = new SectionReader(map, path, map.Location);
            s.Node("method");
            var options = s.Node("options");
            if (options is not (null or ConfigMap))
                throw new PipelineException(options.Location, path + ".options", $"expected a mapping of options, found {options.KindName}.");
            s.RejectUnknownKeys();
            return new PluginUse(method, options as ConfigMap, path + ".options", map.LocationOf("method"));
        }
        if (node is ConfigMap) throw new PipelineException(location, path, "missing 'method:' (e.g. 'method: model-mixing').");
        return ReadPluginEntry(node, path);
    }

    private static EvaluateSpec BindEvaluate(SectionReader s, DataSpec data, LearnSpec learn, ModelSpec model, bool hasUnlearn, bool hasCalibrate)
    {
        var defaultModels = new List<string> { ModelRoles.Original };
        if (hasUnlearn) defaultModels.Add(ModelRoles.Unlearned);
        if (hasUnlearn && hasCalibrate) defaultModels.Add(ModelRoles.Calibrated);
        if (learn.TrainRetainModel && learn.Recipe != "none" || model.RetainPath != null) defaultModels.Add(ModelRoles.Retain);
        var models = s.StringList("models") ?? defaultModels;
        foreach (var m in models)
        {
            if (!ModelRoles.All.Contains(m))
                throw new PipelineException(s.LocationOf("models"), "evaluate.models", NameSuggestions.Unknown("model role", m, ModelRoles.All));
            if (m is ModelRoles.Unlearned or ModelRoles.Calibrated && !hasUnlearn)
                throw new PipelineException(s.LocationOf("models"), "evaluate.models", $"'{m}' needs an unlearn section.");
            if (m == ModelRoles.Calibrated && !hasCalibrate)
                throw new PipelineException(s.LocationOf("models"), "evaluate.models", "'calibrated' needs a calibrate section.");
            if (m == ModelRoles.Retain && !defaultModels.Contains(ModelRoles.Retain))
                throw new PipelineException(s.LocationOf("models"), "evaluate.models", "'retain' needs a retain model: set model.retain_path, or use a learn recipe that trains one.");
        }
        var evalSplits = new[] { "forget", "retain", "holdout", "real_authors", "world_facts" }.Where(data.Splits.ContainsKey).ToList();
        var splits = s.StringList("splits") ?? ["forget", "retain"];
        foreach (var split in splits)
            if (!data.Splits.ContainsKey(split))
                throw new PipelineException(s.LocationOf("splits"), "evaluate.splits", NameSuggestions.Unknown("split", split, data.Splits.Keys.ToList()));
        var metricsNode = s.Node("metrics");
        var metrics = new List<MetricUse>();
        if (metricsNode == null) metrics.AddRange(DefaultMetrics.Select(m => new MetricUse(new PluginUse(m, null, "evaluate.metrics", s.Location), null)));
        else
        {
            var items = metricsNode is ConfigList list ? list.Items : [metricsNode];
            for (var i = 0; i < items.Count; i++)
            {
                var path = $"evaluate.metrics.{i}";
                var use = ReadPluginEntry(items[i], path);
                IReadOnlyList<string>? metricSplits = null;
                if (items[i] is ConfigMap m)
                {
                    metricSplits = new SectionReader(m, path, m.Location).StringList("splits");
                    foreach (var split in metricSplits ?? [])
                        if (!data.Splits.ContainsKey(split))
                            throw new PipelineException(m.LocationOf("splits"), path + ".splits", NameSuggestions.Unknown("split", split, data.Splits.Keys.ToList()));
                }
                metrics.Add(new MetricUse(use, metricSplits));
            }
        }
        _ = evalSplits;
        var retainLogs = s.String("retain_logs");
        if (retainLogs != null) CheckRetainLogs(retainLogs, metrics, s.LocationOf("retain_logs"));
        var spec = new EvaluateSpec(models, splits, metrics, s.Int("batch_size", 32, min: 1), s.OptionalInt("max_items", min: 1), s.Int("max_new_tokens", 48, min: 1),
            retainLogs);
        s.RejectUnknownKeys();
        return spec;
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
    private static IReadOnlyList<string> BindSaveModels(SectionReader s, bool hasUnlearn, bool hasCalibrate)
    {
        var node = s.Node("save_model");
        const string hint = "save_model is true (the calibrated model, or the unlearned one without calibration), false, or a list of roles: [calibrated, unlearned].";
        List<string> roles;
        if (node is null or ConfigScalar { Value: null }) return [];
        if (node is ConfigScalar { Value: "true" or "True" or "false" or "False" })
        {
            if (!s.Bool("save_model", false)) return [];
            roles = [hasCalibrate ? ModelRoles.Calibrated : ModelRoles.Unlearned];
        }
        else roles = s.StringList("save_model")?.ToList() ?? throw new PipelineException(node.Location, "report.save_model", hint);
        foreach (var role in roles)
        {
            if (!SavableModels.Contains(role))
                throw new PipelineException(node.Location, "report.save_model", NameSuggestions.Unknown("model role", role, SavableModels) + " " + hint);
            if (!hasUnlearn || role == ModelRoles.Calibrated && !hasCalibrate)
                throw new PipelineException(node.Location, "report.save_model",
                    $"the run has no {role} model to save ({(hasUnlearn ? "no calibrate section" : "no unlearn section")}).");
        }
        return roles.Distinct().ToList();
    }

    private static ReportSpec BindReport(SectionReader s, bool hasUnlearn, bool hasCalibrate)
    {
        var taus = new List<double>();
        var node = s.Node("taus");
        if (node != null)
        {
            foreach (var item in node is ConfigList l ? l.Items : [node])
            {
                if (item is not ConfigScalar sc || !sc.TryGetDouble(out var t) || t <= 0 || t > 1)
                    throw new PipelineException(item.Location, "report.taus", "expected numbers in (0, 1].");
                taus.Add(t);
            }
        }
        var spec = new ReportSpec(s.Bool("charts", true), BindSaveModels(s, hasUnlearn, hasCalibrate), taus, s.Bool("tofu_eval", false), s.Bool("deterministic", false));
        s.RejectUnknownKeys();
        return spec;
    }
}
