using Unlearn.Data;
using Unlearn.Host.Cli;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running.Executors;

namespace Unlearn.Host.Running;

/// <summary>The plans of a pipeline: one per sweep point (one for a plain run), from one plugin registry.</summary>
/// <param name="Points">Each point's expansion (label, folder name) and its plan, in grid order.</param>
/// <param name="Registry">The registry every plan resolved its plugins from.</param>
public sealed record SweepPlan(IReadOnlyList<(SweepRun Run, RunPlan Plan)> Points, PluginRegistry Registry)
{
    /// <summary>True when the pipeline has a sweep section (points run in sub-folders).</summary>
    public bool IsSweep => Points.Any(p => p.Run.FolderName.Length > 0);
}

/// <summary>How the points of a sweep are run.</summary>
/// <param name="Executor">null: one after another in this process; "local": as separate processes of the tool on this
/// machine; "slurm": as a Slurm job array.</param>
/// <param name="Jobs">How many points run at once (local), or the array's throttle (slurm; 0: no throttle).</param>
/// <param name="SlurmOptions">--slurm-option KEY=VALUE values over the pipeline's executor section.</param>
/// <param name="SlurmScriptOnly">Write the batch scripts into the sweep folder without submitting them.</param>
/// <param name="Point">Run only this point of the sweep folder (its folder name or label): what an executor starts.</param>
/// <param name="Finish">Only finish the sweep folder: the comparison of its finished points, and the commit marker when
/// every point finished (the dependent job of the Slurm executor).</param>
public sealed record SweepExecution(string? Executor = null, int Jobs = 0, IReadOnlyList<string>? SlurmOptions = null, bool SlurmScriptOnly = false,
    string? Point = null, bool Finish = false)
{
    /// <summary>The executors a sweep can name.</summary>
    public static readonly string[] Executors = ["local", "slurm"];

    /// <summary>Today's default: every point in this process, one after another.</summary>
    public static SweepExecution InProcess { get; } = new();
}

/// <summary>Plans every point of a pipeline before any work, then runs the points one after another into one run
/// folder (a sweep folder with a sub-folder per point), keeping finished points on resume and writing the sweep's
/// comparison at the end. The executors (<see cref="LocalExecutor"/>, <see cref="SlurmExecutor"/>) run each point as
/// its own process of the tool (<see cref="SweepExecution.Point"/>) into its sub-folder of the same sweep folder.</summary>
public static class SweepRunner
{
    /// <summary>Expands the sweep, binds every point and builds its plan (one plugin registry for all). Every problem is
    /// bad input (exit 2), found before any training.</summary>
    public static SweepPlan Plan(ConfigMap root, string pipelineFile, IReadOnlyList<string> plugins)
    {
        var runs = SweepExpander.Expand(root);
        var allowed = plugins.Select(Path.GetFullPath).Concat(PluginLoader.FoldersFromEnvironment().Select(Path.GetFullPath)).ToList();
        var specs = runs.Select(r => PipelineBinder.Bind(r.Tree, pipelineFile, allowed)).ToList();
        var registry = PluginLoader.LoadRegistry(plugins, specs.SelectMany(s => s.PluginFolders).Distinct(StringComparer.Ordinal).ToList());
        var planner = new RunPlanner(registry);
        try
        {
            return new SweepPlan(runs.Zip(specs, (run, spec) => (run, planner.Build(spec))).ToList(), registry);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{pipelineFile}: a file the run needs cannot be read: {e.Message}", e);
        }
    }

    /// <summary>Runs the plans into a new run folder under <paramref name="outRoot"/>, or into <paramref name="resumeFolder"/>,
    /// in this process or through an executor (<paramref name="execution"/>). Prints the run folder and returns the exit code.</summary>
    public static int Run(SweepPlan plan, ConfigMap root, string pipelineFile, string? outRoot, string? resumeFolder, bool quiet, string? resumedName = null,
        SweepExecution? execution = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        execution ??= SweepExecution.InProcess;
        using var log = new RunLog(quiet: quiet);
        using var signals = new StopSignals(log);
        var cache = new StageCache(Path.Combine(HostPaths.CacheRoot, "stages"), log.Info, signals.Token);
        foreach (var problem in plan.Registry.Problems) log.Info($"warning: plugin skipped: {problem}");
        foreach (var warning in plan.Registry.Warnings) log.Info($"warning: plugin {warning}");
        var sweep = plan.IsSweep;
        if (execution.Point != null) return RunOnePoint(plan, resumeFolder!, execution.Point, cache, log, signals.Token);
        if (execution.Executor != null && !sweep)
            throw new InputException($"--executor {execution.Executor} runs the points of a sweep, and this pipeline has no sweep: section; run it without --executor.");
        var slurm = execution.Executor == "slurm" ? SlurmExecutor.Settings(plan, execution) : null;
        var name = resumedName ?? plan.Points[0].Plan.Spec.Name;
        var folder = resumeFolder != null ? RunFolder.Open(resumeFolder, sweep) : RunFolder.CreateNew(Path.GetFullPath(outRoot ?? "runs"), name, DateTime.Now);
        log.AttachFile(folder.File("run.log"));
        if (execution.Finish) return Finish(folder, plan, log, FailedPoints(folder, plan, log));
        log.Info($"run folder: {folder.Path}");
        if (sweep && !folder.Has("pipeline.yaml"))
        {
            PipelineBinder.MakePathsAbsolute(root, pipelineFile);
            folder.Write("pipeline.yaml", PipelineDocument.ToYaml(root));
        }
        if (slurm != null && SlurmExecutor.Submit(plan, folder, execution, slurm, log) is var submitted and >= 0) return submitted;
        var failures = 0;
        try
        {
            if (slurm != null) failures = FailedPoints(folder, plan, log); // nothing was left to submit
            else if (execution.Executor == "local") failures = LocalExecutor.Run(plan, folder, execution.Jobs, log, signals.Token);
            else
                foreach (var (run, point) in plan.Points)
                    failures += RunPoint(run, point, folder, cache, log, signals.Token, sweep);
        }
        catch (OperationCanceledException)
        {
            log.Info($"interrupted. Resume with: dotnet unlearn run --resume {folder.Path}");
            Console.Out.WriteLine(folder.Path);
            return ExitCodes.Interrupted;
        }
        return Finish(folder, plan, log, failures);
    }

    /// <summary>Runs one point of a sweep folder into its sub-folder, logging into the sub-folder's run.log: what each
    /// process of an executor does. Prints the point's folder.</summary>
    private static int RunOnePoint(SweepPlan plan, string sweepFolder, string point, StageCache cache, RunLog log, CancellationToken token)
    {
        if (!plan.IsSweep) throw new InputException($"--point runs one point of a sweep folder, but {sweepFolder} holds a plain run (its pipeline has no sweep: section).");
        var match = plan.Points.FirstOrDefault(p => p.Run.FolderName == point || p.Run.Label == point);
        if (match.Plan == null)
            throw new InputException($"--point: {NameSuggestions.Unknown("sweep point", point, plan.Points.Select(p => p.Run.FolderName).ToList())}");
        var folder = RunFolder.Open(sweepFolder, sweep: true);
        var sub = folder.File(match.Run.FolderName);
        Directory.CreateDirectory(sub);
        log.AttachFile(Path.Combine(sub, "run.log"));
        try
        {
            var failed = RunPoint(match.Run, match.Plan, folder, cache, log, token, sweep: true);
            Console.Out.WriteLine(sub);
            return failed == 0 ? ExitCodes.Success : ExitCodes.RunFailure;
        }
        catch (OperationCanceledException)
        {
            log.Info($"interrupted. Resume with: dotnet unlearn run --resume {folder.Path}");
            Console.Out.WriteLine(sub);
            return ExitCodes.Interrupted;
        }
    }

    /// <summary>Runs one point (the whole run when the pipeline has no sweep) into its folder; returns 1 when it failed.
    /// It runs under the lock of its folder, so no two processes run it at once and <c>status</c> sees it running.</summary>
    private static int RunPoint(SweepRun run, RunPlan point, RunFolder folder, StageCache cache, RunLog log, CancellationToken token, bool sweep)
    {
        var name = run.Label.Length > 0 ? run.Label : "run";
        var path = run.FolderName.Length == 0 ? folder.Path : folder.File(run.FolderName);
        Directory.CreateDirectory(path);
        using var held = PointLock.TryTake(path);
        if (held == null)
        {
            log.Error($"{(run.Label.Length > 0 ? "sweep run " : "")}{name}: another process is running it now (it holds {Path.Combine(path, RunFolder.PointLock)}); not started");
            return 1;
        }
        try { return RunLocked(run, point, run.FolderName.Length == 0 ? folder : RunFolder.Open(path), cache, log, token, sweep); }
        finally
        {
            // A finished folder needs no lock any more (a process that opened it before finds the folder committed).
            if (File.Exists(Path.Combine(path, RunFolder.CommitMarker))) File.Delete(Path.Combine(path, RunFolder.PointLock));
        }
    }

    private static int RunLocked(SweepRun run, RunPlan point, RunFolder sub, StageCache cache, RunLog log, CancellationToken token, bool sweep)
    {
        var spec = point.Spec;
        var name = run.Label.Length > 0 ? run.Label : "run";
        if (sub.IsCommitted) { log.Info($"{name}: already finished, skipped"); return 0; }
        try
        {
            ResultWriter.WritePipeline(sub, spec);
            if (ResultWriter.ReadStored(sub) is { } stored)
            {
                log.Info($"{(run.Label.Length > 0 ? run.Label + ": " : "")}results are in {ResultWriter.ResultFile}; writing the report files it is missing");
                ResultWriter.WriteAll(sub, spec, stored.Result, stored.Started, stored.Seconds);
                return Failed(stored.Result, log);
            }
            if (run.Label.Length > 0) log.Info($"sweep run {run.Label}");
            return Failed(log.WithProgress(() => new ExperimentRunner(cache, log).Run(point, sub, run.Label, token)), log);
        }
        catch (Exception e) when (e is not OperationCanceledException && !InputErrors.IsNamed(e) && !sweep)
        {
            // Not bad input: the plan was checked before any work, so what fails while running is a run failure
            // (exit 1) whatever its exception type (a cache file that vanished is no fault of the pipeline).
            throw new RunFailureException(e);
        }
        catch (Exception e) when (sweep && e is not OperationCanceledException)
        {
            log.Error($"sweep run {run.Label} failed: {ErrorText.WithoutNativeFrames(e.Message)}");
            sub.Write("error.txt", e.ToString());
            return 1;
        }
    }

    /// <summary>How many points of a sweep folder did not finish, or finished with a failed run (for the finish step of
    /// an executor, which did not see the points run).</summary>
    private static int FailedPoints(RunFolder folder, SweepPlan plan, RunLog log)
    {
        var failures = 0;
        foreach (var (run, _) in plan.Points.Where(p => p.Run.FolderName.Length > 0))
        {
            var sub = folder.File(run.FolderName);
            if (!File.Exists(Path.Combine(sub, RunFolder.CommitMarker)))
            {
                failures++;
                log.Error($"sweep run {run.Label}: not finished ({(File.Exists(Path.Combine(sub, "error.txt")) ? "it failed, see its error.txt" : "see its run.log")})");
            }
            else if (ResultWriter.ReadStored(RunFolder.Open(sub)) is { Result.Failure: not null } stored) failures += Failed(stored.Result, log);
        }
        return failures;
    }

    /// <summary>The end of a run or sweep: the sweep's comparison, the sweep folder committed when no point failed, the
    /// folder printed; returns the exit code.</summary>
    private static int Finish(RunFolder folder, SweepPlan plan, RunLog log, int failures)
    {
        var sweep = plan.IsSweep;
        if (sweep && failures == 0 && !folder.IsCommitted) RemovePartialComparison(folder, log);
        if (sweep && WriteSweepComparison(folder, plan.Points[0].Plan.Spec.Report, log) is { } comparison)
            log.Info($"report: {comparison} (and report.md in each run's folder)");
        else log.Info($"report: {folder.File(sweep ? "" : "report.md")}");
        if (sweep && failures == 0 && !folder.IsCommitted) folder.Commit(DateTime.UtcNow);
        Console.Out.WriteLine(folder.Path);
        return failures == 0 ? ExitCodes.Success : ExitCodes.RunFailure;
    }

    /// <summary>1 (and the reason logged) when a run whose report was written failed, e.g. unlearning diverged.</summary>
    private static int Failed(RunResult result, RunLog log)
    {
        if (result.Failure == null) return 0;
        log.Error($"error: {(result.SweepLabel.Length > 0 ? $"sweep run {result.SweepLabel}: " : "")}{result.Failure}. The report holds what finished.");
        return 1;
    }

    /// <summary>When every point of an unfinished sweep folder has finished now, a comparison an earlier attempt wrote
    /// over fewer points (a point had failed or was killed) is no result of the sweep: it is removed, so the comparison
    /// written next covers every point. A committed sweep folder is never changed.</summary>
    private static void RemovePartialComparison(RunFolder folder, RunLog log)
    {
        if (!folder.Has(ComparisonReport.MarkdownFile)) return;
        log.Info("compare: every point has finished now: the comparison of an earlier attempt is written again over all of them");
        foreach (var file in new[] { ComparisonReport.MarkdownFile, ComparisonReport.CsvFile, Charts.ComparisonFile })
            if (folder.Has(file)) File.Delete(folder.File(file));
    }

    /// <summary>At the end of a sweep: the comparison table of its finished runs (as <c>dotnet unlearn compare</c>
    /// writes it) in the sweep folder, at the τ of <c>report.taus</c> (or the τ the runs were calibrated at). Returns the
    /// comparison file, or null when none was written (no finished run, or one already there from an earlier attempt).</summary>
    private static string? WriteSweepComparison(RunFolder folder, ReportSpec report, RunLog log)
    {
        if (folder.Has(ComparisonReport.MarkdownFile))
        {
            log.Info($"compare: {folder.File(ComparisonReport.MarkdownFile)} already exists; kept (run 'dotnet unlearn compare {folder.Path}' for a fresh one)");
            return null;
        }
        var warnings = new List<string>();
        try
        {
            var table = Comparison.Build(RunSummaries.Load(folder.Path, warnings), report.Taus);
            ComparisonReport.Write(folder, table, warnings, report.Charts);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            log.Info($"compare: no comparison written: {e.Message}");
            return null;
        }
        foreach (var w in warnings) log.Info("compare: " + w);
        return folder.File(ComparisonReport.MarkdownFile);
    }
}
