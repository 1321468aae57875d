using Unlearn.Data;
using Unlearn.Host.Cli;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Running;

/// <summary>The plans of a pipeline: one per sweep point (one for a plain run), from one plugin registry.</summary>
/// <param name="Points">Each point's expansion (label, folder name) and its plan, in grid order.</param>
/// <param name="Registry">The registry every plan resolved its plugins from.</param>
public sealed record SweepPlan(IReadOnlyList<(SweepRun Run, RunPlan Plan)> Points, PluginRegistry Registry)
{
    /// <summary>True when the pipeline has a sweep section (points run in sub-folders).</summary>
    public bool IsSweep => Points.Any(p => p.Run.FolderName.Length > 0);
}

/// <summary>A run failed while running (after its plan was checked): exit code 1, whatever the underlying exception.</summary>
/// <param name="inner">What failed.</param>
public sealed class RunFailureException(Exception inner) : Exception(ErrorText.WithoutNativeFrames(inner.Message), inner);

/// <summary>Plans every point of a pipeline before any work, then runs the points one after another into one run
/// folder (a sweep folder with a sub-folder per point), keeping finished points on resume and writing the sweep's
/// comparison at the end. Executors that run points elsewhere plug in at <see cref="Run"/>.</summary>
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

    /// <summary>Runs the plans into a new run folder under <paramref name="outRoot"/>, or into <paramref name="resumeFolder"/>.
    /// Prints the run folder and returns the exit code.</summary>
    public static int Run(SweepPlan plan, ConfigMap root, string pipelineFile, string? outRoot, string? resumeFolder, bool quiet, string? resumedName = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        using var log = new RunLog(quiet: quiet);
        using var cts = new CancellationTokenSource();
        var cache = new StageCache(Path.Combine(HostPaths.CacheRoot, "stages"), log.Info, cts.Token);
        foreach (var problem in plan.Registry.Problems) log.Info($"warning: plugin skipped: {problem}");
        var name = resumedName ?? plan.Points[0].Plan.Spec.Name;
        var folder = resumeFolder != null ? RunFolder.Open(resumeFolder) : RunFolder.CreateNew(Path.GetFullPath(outRoot ?? "runs"), name, DateTime.Now);
        log.AttachFile(folder.File("run.log"));
        log.Info($"run folder: {folder.Path}");
        var sweep = plan.IsSweep;
        if (sweep && !folder.Has("pipeline.yaml"))
        {
            PipelineBinder.MakePathsAbsolute(root, pipelineFile);
            folder.Write("pipeline.yaml", PipelineDocument.ToYaml(root));
        }
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl-C ends the process
            e.Cancel = true;
            log.Info("interrupt received: stopping after the current step (finished stages are kept)...");
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (a scheduler ending the job) stops the run the same way, keeping finished stages and checkpoints.
        using var onTerminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            if (!cts.IsCancellationRequested) { log.Info("termination signal: stopping after the current step..."); cts.Cancel(); }
        });
        var failures = 0;
        try
        {
            foreach (var (run, point) in plan.Points)
            {
                var spec = point.Spec;
                var sub = run.FolderName.Length == 0 ? folder : SubFolder(folder, run.FolderName);
                if (sub.IsCommitted) { log.Info($"{(run.Label.Length > 0 ? run.Label : "run")}: already finished, skipped"); continue; }
                ResultWriter.WritePipeline(sub, spec);
                if (ResultWriter.ReadStored(sub) is { } stored)
                {
                    log.Info($"{(run.Label.Length > 0 ? run.Label + ": " : "")}results are in {ResultWriter.ResultFile}; writing the report files it is missing");
                    ResultWriter.WriteAll(sub, spec, stored.Result, stored.Started, stored.Seconds);
                    failures += Failed(stored.Result, log);
                    continue;
                }
                var started = DateTime.Now;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    if (run.Label.Length > 0) log.Info($"sweep run {run.Label}");
                    var result = log.WithProgress(() => new ExperimentRunner(cache, log).Run(point, run.Label, sub.File("models"), cts.Token));
                    ResultWriter.WriteAll(sub, spec, result, started, clock.Elapsed.TotalSeconds);
                    failures += Failed(result, log);
                }
                catch (Exception e) when (e is not (OperationCanceledException or PipelineException or DataFileException or InputException or Unlearn.Plugins.CalibrationException) && !sweep)
                {
                    // Not bad input: the plan was checked before any work, so what fails while running is a run failure
                    // (exit 1) whatever its exception type (a cache file that vanished is no fault of the pipeline).
                    throw new RunFailureException(e);
                }
                catch (Exception e) when (sweep && e is not OperationCanceledException)
                {
                    failures++;
                    log.Info($"sweep run {run.Label} failed: {ErrorText.WithoutNativeFrames(e.Message)}");
                    sub.Write("error.txt", e.ToString());
                }
            }
        }
        catch (OperationCanceledException)
        {
            log.Info($"interrupted. Resume with: dotnet unlearn run --resume {folder.Path}");
            Console.Out.WriteLine(folder.Path);
            return ExitCodes.Interrupted;
        }
        finally { Console.CancelKeyPress -= onCancel; }
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

    private static RunFolder SubFolder(RunFolder parent, string name)
    {
        var path = parent.File(name);
        Directory.CreateDirectory(path);
        return RunFolder.Open(path);
    }
}
