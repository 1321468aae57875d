using System.Text.Json;
using Cocona;
using Unlearn.Data;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running;
using Unlearn.Plugins;

namespace Unlearn.Host.Cli;

/// <summary>Records whether a command body ran (to tell Cocona's own usage errors from command results).</summary>
public sealed class CommandOutcome
{
    /// <summary>Set when a command started.</summary>
    public bool Ran { get; set; }
}

/// <summary>The dotnet-unlearn commands.</summary>
public sealed class Commands(CommandOutcome outcome)
{
    /// <summary>Runs a pipeline.</summary>
    [Command("run", Description = "Run a pipeline: learn, unlearn, calibrate, evaluate, report. Prints the run folder.")]
    public int Run(
        [Argument(Description = "Pipeline file (YAML). Omit with --resume.")] string? pipeline = null,
        [Option("set", Description = "Override a key: --set unlearn.trainer.lr=2e-5 (repeatable)")] string[]? set = null,
        [Option("out", Description = "Root folder for run folders (default: ./runs)")] string? @out = null,
        [Option("plugins", Description = "Extra plugin folder (repeatable); also allows a pipeline to name it")] string[]? plugins = null,
        [Option("resume", Description = "Resume an interrupted run folder (reuses its resolved pipeline and cached stages)")] string? resume = null,
        [Option("quiet", Description = "Only print the run folder")] bool quiet = false,
        [Option("retain-logs", Description = "OpenUnlearning TOFU_EVAL.json of the retain model: forget-quality and privleak read the retain side from it (sets evaluate.retain_logs)")] string? retainLogs = null,
        [Option("executor", Description = "Run a sweep's points as processes: local (on this machine, --jobs at once) or slurm (a job array); default: one after another in this process")] string? executor = null,
        [Option("jobs", Description = "Sweep points at once: local (default 2), slurm (array throttle; default no limit)")] int? jobs = null,
        [Option("slurm-option", Description = "Slurm setting over the pipeline's executor section: partition, account, time, cpus_per_task, mem, gres, sbatch (an extra sbatch option), setup (a shell line), tool (repeatable)")] string[]? slurmOption = null,
        [Option("slurm-script-only", Description = "Write the Slurm batch scripts into the sweep folder without submitting them")] bool slurmScriptOnly = false,
        [Option("point", Description = "With --resume SWEEPDIR: run only this sweep point (its folder name), what each executor process does")] string? point = null,
        [Option("finish"), Hidden] bool finish = false)
    {
        outcome.Ran = true;
        var sets = (set ?? []).Concat(retainLogs is null ? [] : [$"evaluate.retain_logs={Path.GetFullPath(retainLogs)}"]).ToList();
        return Guard(() =>
        {
            var execution = Execution(executor, jobs, slurmOption ?? [], slurmScriptOnly, point, finish, resume);
            return execution == null ? ExitCodes.BadInput : RunCore(pipeline, sets, @out, plugins ?? [], resume, quiet, execution);
        });
    }

    /// <summary>Checks the executor options against each other; prints the problem and returns null when they do not fit.</summary>
    private static SweepExecution? Execution(string? executor, int? jobs, IReadOnlyList<string> slurmOptions, bool scriptOnly, string? point, bool finish, string? resume)
    {
        string? problem = null;
        if (executor != null && !SweepExecution.Executors.Contains(executor, StringComparer.Ordinal))
            problem = "--executor: " + NameSuggestions.Unknown("executor", executor, SweepExecution.Executors);
        else if (jobs is < 1)
            problem = $"--jobs must be at least 1, got {jobs}.";
        else if (jobs != null && executor == null)
            problem = "--jobs sets how many sweep points run at once: give it with --executor local or --executor slurm.";
        else if ((slurmOptions.Count > 0 || scriptOnly) && executor != "slurm")
            problem = $"{(scriptOnly ? "--slurm-script-only" : "--slurm-option")} is for --executor slurm.";
        else if ((point != null || finish) && resume == null)
            problem = $"{(point != null ? "--point" : "--finish")} works on a sweep folder: give it with --resume SWEEPDIR.";
        else if ((point != null || finish) && executor != null)
            problem = $"{(point != null ? "--point" : "--finish")} runs in this process; it takes no --executor.";
        else if (point != null && finish)
            problem = "--point runs one point and --finish finishes the sweep: give one of them.";
        if (problem != null)
        {
            Console.Error.WriteLine("error: " + problem);
            return null;
        }
        return new SweepExecution(executor, jobs ?? (executor == "local" ? 2 : 0), slurmOptions, scriptOnly, point, finish);
    }

    /// <summary>Validates a pipeline.</summary>
    [Command("validate", Description = "Check a pipeline file without running it (exit 0 when valid, 2 when not).")]
    public int Validate(
        [Argument(Description = "Pipeline file (YAML)")] string pipeline,
        [Option("set", Description = "Override a key (repeatable)")] string[]? set = null,
        [Option("plugins", Description = "Extra plugin folder (repeatable)")] string[]? plugins = null)
    {
        outcome.Ran = true;
        return Guard(() =>
        {
            var plans = SweepRunner.Plan(LoadTree(pipeline, set ?? []), pipeline, plugins ?? []);
            Console.WriteLine($"{pipeline}: valid ({plans.Points.Count} run{(plans.Points.Count == 1 ? "" : "s")}).");
            return ExitCodes.Success;
        });
    }

    /// <summary>Evaluates a model folder.</summary>
    [Command("eval", Description = "Evaluate a model folder on data splits with named metrics (no unlearning); writes a run folder.")]
    public int Eval(
        [Option("model", Description = "Hugging Face model folder")] string model,
        [Option("data", Description = "Folder of TOFU-schema files")] string data,
        [Option("splits", Description = "Comma-separated split files, e.g. forget10_perturbed,retain_perturbed")] string splits,
        [Option("metrics", Description = "Comma-separated metric names, e.g. es,es-paraphrased")] string metrics = "es",
        [Option("adapter", Description = "PEFT LoRA adapter folder merged into --model before evaluating")] string? adapter = null,
        [Option("out", Description = "Root folder for run folders (default: ./runs)")] string? @out = null,
        [Option("plugins", Description = "Extra plugin folder (repeatable)")] string[]? plugins = null,
        [Option("max-items", Description = "Evaluate only the first N items of each split")] int? maxItems = null,
        [Option("max-length", Description = "Tokens per prompt and answer (default: 128, or the model's positions when fewer)")] int? maxLength = null,
        [Option("retain-logs", Description = "OpenUnlearning TOFU_EVAL.json of the retain model, for forget-quality and privleak (OpenUnlearning's retain_logs_path)")] string? retainLogs = null,
        [Option("tofu-eval", Description = "Also write OpenUnlearning's TOFU_EVAL.json (openunlearning/original/TOFU_EVAL.json in the run folder)")] bool tofuEval = false)
    {
        outcome.Ran = true;
        return Guard(() =>
        {
            var root = new ConfigMap(new SourceLocation("(eval command)", 0, 0));
            var at = root.Location;
            var splitNames = splits.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var metricNames = metrics.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            PipelineDocument.SetPath(root, "name", new ConfigScalar("eval", at), at);
            PipelineDocument.SetPath(root, "model.path", new ConfigScalar(Path.GetFullPath(model), at), at);
            if (adapter != null) PipelineDocument.SetPath(root, "model.adapter", new ConfigScalar(Path.GetFullPath(adapter), at), at);
            PipelineDocument.SetPath(root, "data.folder", new ConfigScalar(Path.GetFullPath(data), at), at);
            var splitMap = new ConfigMap(at);
            foreach (var s in splitNames) splitMap.Set(s, new ConfigScalar(s, at));
            PipelineDocument.SetPath(root, "data.splits", splitMap, at);
            PipelineDocument.SetPath(root, "learn.recipe", new ConfigScalar("none", at), at);
            PipelineDocument.SetPath(root, "evaluate.models", List(at, ModelRoles.Original), at);
            PipelineDocument.SetPath(root, "evaluate.splits", List(at, splitNames), at);
            PipelineDocument.SetPath(root, "evaluate.metrics", List(at, metricNames), at);
            if (maxItems != null) PipelineDocument.SetPath(root, "evaluate.max_items", new ConfigScalar(maxItems.ToString(), at), at);
            if (retainLogs != null) PipelineDocument.SetPath(root, "evaluate.retain_logs", new ConfigScalar(Path.GetFullPath(retainLogs), at), at);
            if (tofuEval) PipelineDocument.SetPath(root, "report.tofu_eval", new ConfigScalar("true", at), at);
            var config = Path.Combine(Path.GetFullPath(model), "config.json");
            var length = maxLength ?? DefaultEvalLength(config);
            PipelineDocument.SetPath(root, "model.max_length", new ConfigScalar(length.ToString(System.Globalization.CultureInfo.InvariantCulture), at), at);
            return Execute(root, Path.Combine(Directory.GetCurrentDirectory(), "eval.yaml"), @out, plugins ?? [], null, quiet: false);
        });
    }

    /// <summary>Lists plugins.</summary>
    [Command("plugins", Description = "List every plugin with kind, name, assembly, version, options and defaults.")]
    public int Plugins(
        [Option("json", Description = "Machine-readable output")] bool json = false,
        [Option("plugins", Description = "Extra plugin folder (repeatable)")] string[]? plugins = null)
    {
        outcome.Ran = true;
        return Guard(() =>
        {
            var registry = PluginLoader.LoadRegistry(plugins ?? [], []);
            var listed = registry.Plugins.OrderBy(p => p.Kind).ThenBy(p => p.Name, StringComparer.Ordinal).Select(p => new
            {
                kind = PluginRegistry.KindWord(p.Kind),
                name = p.Name,
                aliases = p.Aliases,
                description = p.Description,
                assembly = p.Assembly.Name,
                version = p.Assembly.Version,
                path = p.Assembly.Path,
                origin = p.Assembly.Origin,
                options = OptionsBinder.Describe(p.OptionsType).Select(o => new { key = o.Key, type = o.Type, @default = o.Default, description = o.Description }),
            }).ToList();
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { plugins = listed, problems = registry.Problems.Select(p => new { path = p.Path, message = p.Message }), warnings = registry.Warnings.Select(p => new { path = p.Path, message = p.Message }) }, new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                foreach (var group in listed.GroupBy(p => p.kind))
                {
                    Console.WriteLine($"{group.Key}s:");
                    foreach (var p in group)
                    {
                        Console.WriteLine($"  {p.name}{(p.aliases.Count > 0 ? $" ({string.Join(", ", p.aliases)})" : "")} - {p.description} [{p.assembly} {p.version}]");
                        foreach (var o in p.options) Console.WriteLine($"      {o.key} = {o.@default}  ({o.type}) {o.description}");
                    }
                }
                foreach (var problem in registry.Problems) Console.Error.WriteLine($"warning: skipped {problem}");
                foreach (var warning in registry.Warnings) Console.Error.WriteLine($"warning: {warning}");
            }
            return ExitCodes.Success;
        });
    }

    // 128 tokens, or fewer when the model has fewer positions; a config.json that cannot be read is reported by the
    // model-folder check that follows.
    private static int DefaultEvalLength(string config)
    {
        try { return File.Exists(config) ? Math.Min(128, Unlearn.Models.TransformerConfig.Load(config).MaxPositions) : 128; }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or IOException) { return 128; }
    }

    private static ConfigList List(SourceLocation at, params string[] values)
    {
        var list = new ConfigList(at);
        list.Items.AddRange(values.Select(v => new ConfigScalar(v, at)));
        return list;
    }


    private static ConfigMap LoadTree(string pipeline, IReadOnlyList<string> sets)
    {
        var root = PipelineDocument.Load(pipeline);
        foreach (var assignment in sets) PipelineDocument.ApplyOverride(root, assignment);
        return root;
    }

    private static int RunCore(string? pipeline, IReadOnlyList<string> sets, string? outRoot, IReadOnlyList<string> plugins, string? resume, bool quiet, SweepExecution execution)
    {
        if (resume != null)
        {
            if (pipeline != null || sets.Count > 0)
            {
                Console.Error.WriteLine($"error: --resume continues a run exactly as it started, from the pipeline.yaml in {resume}; it takes no pipeline file or --set values. Start a new run to change anything.");
                return ExitCodes.BadInput;
            }
            var folder = Path.GetFullPath(resume);
            var resolved = Path.Combine(folder, "pipeline.yaml");
            if (!File.Exists(resolved))
            {
                Console.Error.WriteLine($"error: {folder} is not a run folder (no pipeline.yaml). Pass the folder that 'run' printed.");
                return ExitCodes.BadInput;
            }
            // A sweep folder keeps the sweep's pipeline (with its sweep: section): resuming it resumes the whole grid.
            var root = PipelineDocument.Load(resolved);
            var original = root["name"] is ConfigScalar { Value: { } n } ? n : "run";
            return Execute(root, resolved, outRoot, plugins, folder, quiet, resumedName: original, execution);
        }
        if (pipeline == null)
        {
            Console.Error.WriteLine("error: give a pipeline file (dotnet unlearn run pipelines/quickstart.yaml) or --resume RUNDIR.");
            return ExitCodes.BadInput;
        }
        return Execute(LoadTree(pipeline, sets), pipeline, outRoot, plugins, null, quiet, execution: execution);
    }

    private static int Execute(ConfigMap root, string pipelineFile, string? outRoot, IReadOnlyList<string> plugins, string? resumeFolder, bool quiet, string? resumedName = null,
        SweepExecution? execution = null) =>
        SweepRunner.Run(SweepRunner.Plan(root, pipelineFile, plugins), root, pipelineFile, outRoot, resumeFolder, quiet, resumedName, execution);

    /// <summary>Maps exceptions to messages and exit codes: bad input → 2, run failure → 1.</summary>
    public static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (InputErrors.IsBadInput(e))
        {
            Console.Error.WriteLine("error: " + e.Message);
            return ExitCodes.BadInput;
        }
        catch (Exception e)
        {
            var cause = e is RunFailureException { InnerException: { } inner } ? inner : e;
            Console.Error.WriteLine(cause is PluginFailedException ? $"error: the run failed: {cause.Message}" : $"error: the run failed: {cause.GetType().Name}: {ErrorText.WithoutNativeFrames(cause.Message)}");
            if (Environment.GetEnvironmentVariable("UNLEARN_DEBUG") == "1") Console.Error.WriteLine(e);
            return ExitCodes.RunFailure;
        }
    }
}
