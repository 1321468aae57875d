using System.Diagnostics;
using Unlearn.Host.Cli;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Running.Executors;

/// <summary>Submits the unfinished points of a sweep as one Slurm job array (<c>sbatch</c>), one task per point, each
/// running the tool on its point inside the same sweep folder, and a comparison job that runs after the array ended
/// (<c>--dependency=afterany</c>). The scripts stay in the sweep folder's <c>slurm/</c> folder (<see cref="SlurmScripts"/>).</summary>
public static class SlurmExecutor
{
    /// <summary>The pipeline's executor section with the command line's --slurm-option values over it; checks that
    /// sbatch is there when the scripts are to be submitted. Bad input (exit 2), before any folder is made.</summary>
    public static ExecutorSettings Settings(SweepPlan plan, SweepExecution execution)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(execution);
        var settings = plan.Points[0].Plan.Spec.Executor.WithOptions(execution.SlurmOptions ?? []);
        if (!execution.SlurmScriptOnly && FindOnPath("sbatch") == null)
            throw new InputException("--executor slurm: sbatch is not on PATH, so the sweep cannot be submitted from here. Run on a Slurm login node, start the local test cluster (scripts/slurm/local-cluster.sh start), or add --slurm-script-only to write the batch scripts without submitting them.");
        return settings;
    }

    /// <summary>Writes the scripts and (unless --slurm-script-only) submits them. Prints the sweep folder.</summary>
    public static int Submit(SweepPlan plan, RunFolder folder, SweepExecution execution, ExecutorSettings settings, RunLog log)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(execution);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        var points = plan.Points.Select(p => p.Run).ToList();
        var indices = new List<int>();
        for (var i = 0; i < points.Count; i++)
        {
            var sub = folder.File(points[i].FolderName);
            if (File.Exists(Path.Combine(sub, RunFolder.CommitMarker))) log.Info($"{points[i].Label}: already finished, not submitted");
            else if (PointLock.IsHeld(sub)) log.Info($"{points[i].Label}: a process is running it now (it holds its {RunFolder.PointLock}); not submitted");
            else indices.Add(i);
        }
        if (indices.Count == 0)
        {
            log.Info("slurm: no point is left to submit");
            return -1; // the caller finishes the sweep here
        }
        var tool = settings.Tool ?? string.Join(' ', ToolCommand.Current().Select(ToolCommand.ShellQuote));
        var job = new SlurmJob(folder.Path, plan.Points[0].Plan.Spec.Name, points.Select(p => p.FolderName).ToList(), indices, execution.Jobs, settings,
            tool, Path.GetFullPath(HostPaths.CacheRoot));
        Directory.CreateDirectory(folder.File(SlurmScripts.Folder));
        WriteScript(SlurmScripts.ScriptPath(job, SlurmScripts.ArrayFile), SlurmScripts.Array(job));
        WriteScript(SlurmScripts.ScriptPath(job, SlurmScripts.FinishFile), SlurmScripts.Finish(job));
        var submit = SlurmScripts.ScriptPath(job, SlurmScripts.SubmitFile);
        WriteScript(submit, SlurmScripts.Submit(job));
        log.Info($"slurm: scripts for {indices.Count} point{(indices.Count == 1 ? "" : "s")} (array {SlurmScripts.ArraySpec(indices, execution.Jobs)}) in {folder.File(SlurmScripts.Folder)}");
        if (execution.SlurmScriptOnly)
        {
            log.Error($"slurm: not submitted (--slurm-script-only). Submit with: bash {submit}");
            Console.Out.WriteLine(folder.Path);
            return ExitCodes.Success;
        }
        var start = new ProcessStartInfo("bash", [submit]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            log.Error($"error: sbatch refused the sweep (exit {process.ExitCode}): {stderr.Result.Trim()} {stdout.Result.Trim()}".TrimEnd());
            log.Error($"the scripts are in {folder.File(SlurmScripts.Folder)}; fix the executor settings and run 'dotnet unlearn run --resume {folder.Path} --executor slurm', or edit and run {submit}");
            Console.Out.WriteLine(folder.Path);
            return ExitCodes.RunFailure;
        }
        log.Error($"slurm: submitted: {stdout.Result.Trim()}. Follow it with: dotnet unlearn status {folder.Path}");
        Console.Out.WriteLine(folder.Path);
        return ExitCodes.Success;
    }

    private static void WriteScript(string path, string text)
    {
        // Scripts are rewritten for each submission (they list the points still to run); the write is atomic.
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        File.WriteAllText(temp, text);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, (UnixFileMode)0b111_101_101);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The full path of a program on PATH, or null.</summary>
    public static string? FindOnPath(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
