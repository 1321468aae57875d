using System.Diagnostics;
using System.Globalization;
using Unlearn.Host.Configuration;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Running.Executors;

/// <summary>Runs the unfinished points of a sweep as separate processes of the tool on this machine, at most
/// <c>--jobs</c> at once, each running one point (<c>run --resume SWEEPDIR --point NAME</c>) into its sub-folder of the
/// same sweep folder. Points that need the same data or learn stage meet in the stage cache, where the first builds it
/// under its lock and the others wait and reuse it. Returns how many points failed; the caller writes the comparison.</summary>
public static class LocalExecutor
{
    /// <summary>Lines of a point process's standard error kept to say why it failed.</summary>
    private const int TailLines = 20;

    private sealed class Child(SweepRun run, Process process)
    {
        private readonly Queue<string> _tail = new();
        public SweepRun Run { get; } = run;
        public Process Process { get; } = process;
        public Task Exited { get; } = process.WaitForExitAsync();
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
        public Task Output { get; set; } = Task.CompletedTask;
        public Task Errors { get; set; } = Task.CompletedTask;

        public void Keep(string line)
        {
            lock (_tail)
            {
                _tail.Enqueue(line);
                if (_tail.Count > TailLines) _tail.Dequeue();
            }
        }

        public string? LastLine()
        {
            lock (_tail) return _tail.LastOrDefault(l => l.Trim().Length > 0);
        }
    }

    /// <summary>Runs the points; throws <see cref="OperationCanceledException"/> after stopping every point process
    /// (SIGTERM: each keeps its finished stages) when <paramref name="token"/> is cancelled.</summary>
    public static int Run(SweepPlan plan, RunFolder folder, int jobs, RunLog log, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(log);
        var pending = new Queue<SweepRun>();
        foreach (var (run, _) in plan.Points)
        {
            if (File.Exists(Path.Combine(folder.File(run.FolderName), RunFolder.CommitMarker))) log.Info($"{run.Label}: already finished, skipped");
            else pending.Enqueue(run);
        }
        if (pending.Count == 0) return 0;
        jobs = Math.Clamp(jobs, 1, pending.Count);
        // Each process would otherwise start a torch thread per core: share the cores out unless the user chose.
        var threads = string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_NUM_THREADS")) ? Math.Max(1, Environment.ProcessorCount / jobs) : (int?)null;
        log.Info($"local executor: {pending.Count} point{(pending.Count == 1 ? "" : "s")}, {jobs} at a time, each a process of the tool" +
                 (threads is { } t ? $" with {t} torch thread{(t == 1 ? "" : "s")} (OMP_NUM_THREADS)" : ""));
        var running = new List<Child>();
        var failures = 0;
        try
        {
            while (pending.Count > 0 || running.Count > 0)
            {
                while (running.Count < jobs && pending.Count > 0 && !token.IsCancellationRequested)
                    running.Add(Start(pending.Dequeue(), folder, threads, log));
                if (token.IsCancellationRequested) break;
                Task.WaitAny([.. running.Select(c => c.Exited)], TimeSpan.FromMilliseconds(500));
                foreach (var child in running.Where(c => c.Exited.IsCompleted).ToList())
                {
                    running.Remove(child);
                    failures += Report(child, folder, log);
                }
            }
        }
        finally
        {
            if (running.Count > 0)
            {
                foreach (var child in running) Terminate(child.Process);
                foreach (var child in running)
                {
                    child.Process.WaitForExit();
                    Report(child, folder, log);
                }
            }
            foreach (var child in running) child.Process.Dispose();
        }
        token.ThrowIfCancellationRequested();
        return failures;
    }

    private static Child Start(SweepRun run, RunFolder folder, int? threads, RunLog log)
    {
        var start = ToolCommand.StartInfo(["run", "--resume", folder.Path, "--point", run.FolderName, "--quiet"]);
        if (threads is { } t) start.Environment["OMP_NUM_THREADS"] = t.ToString(CultureInfo.InvariantCulture);
        var process = Process.Start(start) ?? throw new InvalidOperationException("the tool could not start itself for sweep point " + run.Label);
        var child = new Child(run, process);
        child.Output = Task.Run(() => process.StandardOutput.ReadToEnd());
        child.Errors = Task.Run(() =>
        {
            string? line;
            while ((line = process.StandardError.ReadLine()) != null) child.Keep(line);
        });
        log.Info($"sweep run {run.Label}: started (process {process.Id}; log {Path.Combine(folder.File(run.FolderName), "run.log")})");
        return child;
    }

    /// <summary>Logs how a point process ended; returns 1 when the point did not finish or its run failed.</summary>
    private static int Report(Child child, RunFolder folder, RunLog log)
    {
        child.Output.Wait();
        child.Errors.Wait();
        var code = child.Process.ExitCode;
        var seconds = child.Clock.Elapsed.TotalSeconds.ToString("0", CultureInfo.InvariantCulture);
        if (code == 0)
        {
            log.Info($"sweep run {child.Run.Label}: finished ({seconds} s)");
            return 0;
        }
        var why = child.LastLine() ?? LastLogLine(Path.Combine(folder.File(child.Run.FolderName), "run.log")) ?? "no output";
        log.Error(code == 130
            ? $"sweep run {child.Run.Label}: interrupted after {seconds} s (finished stages are kept)"
            : $"sweep run {child.Run.Label}: failed (exit {code}, {seconds} s): {why}");
        return 1;
    }

    /// <summary>The last non-empty line of a log file, or null.</summary>
    public static string? LastLogLine(string file)
    {
        if (!File.Exists(file)) return null;
        try { return File.ReadLines(file).LastOrDefault(l => l.Trim().Length > 0); }
        catch (IOException) { return null; }
    }

    /// <summary>Sends SIGTERM, which a point process answers like a scheduler's: it stops after the current step.</summary>
    private static void Terminate(Process process)
    {
        if (process.HasExited) return;
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            process.Kill(); // no kill command: end it at once; its finished stages are in the cache all the same
        }
    }
}
