using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Unlearn.Host.Configuration;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Running.Executors;

/// <summary>Where one point of a sweep stands.</summary>
/// <param name="Label">The point's label (its sweep values).</param>
/// <param name="Folder">Its sub-folder name ("" for a plain run).</param>
/// <param name="State">queued, running, finished or failed.</param>
/// <param name="Detail">Why it failed (the last line of its log), or null.</param>
/// <param name="Slurm">Its array task and Slurm state, e.g. "123_4 PENDING", when Slurm knows it.</param>
public sealed record PointStatus(string Label, string Folder, string State, string? Detail, string? Slurm);

/// <summary>The states Slurm reports for jobs and array tasks: <c>squeue</c> (queued and running ones) and, where
/// accounting is on, <c>sacct</c> (ended ones).</summary>
public sealed class SlurmStates
{
    private readonly Dictionary<string, string> _states = new(StringComparer.Ordinal);

    /// <summary>No Slurm (or it did not answer).</summary>
    public static SlurmStates None { get; } = new();

    /// <summary>The state of an array task ("123_4") or a job ("124"), or null.</summary>
    public string? Of(string job) => _states.GetValueOrDefault(job);

    /// <summary>Reads lines of <c>JOBID|STATE</c> as squeue (<c>-h -o %i|%T</c>) and sacct (<c>-n -X -P -o JobID,State</c>)
    /// print them; a pending array's tasks come folded as <c>123_[0-3,7%2]</c>. Earlier lines win (pass squeue first).</summary>
    public static SlurmStates Parse(params string[] outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var states = new SlurmStates();
        foreach (var output in outputs)
            foreach (var raw in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var bar = raw.IndexOf('|', StringComparison.Ordinal);
                if (bar <= 0) continue;
                var (id, state) = (raw[..bar].Trim(), raw[(bar + 1)..].Trim().Split(' ')[0]);
                foreach (var job in Expand(id)) states._states.TryAdd(job, state);
            }
        return states;
    }

    private static readonly Regex Folded = new(@"^(\d+)_\[([0-9,\-]+)(%\d+)?\]$", RegexOptions.CultureInvariant);

    private static IEnumerable<string> Expand(string id)
    {
        var m = Folded.Match(id);
        if (!m.Success) { yield return id; yield break; }
        foreach (var part in m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var from = int.Parse(dash < 0 ? part : part[..dash], CultureInfo.InvariantCulture);
            var to = dash < 0 ? from : int.Parse(part[(dash + 1)..], CultureInfo.InvariantCulture);
            for (var i = from; i <= to; i++) yield return $"{m.Groups[1].Value}_{i.ToString(CultureInfo.InvariantCulture)}";
        }
    }

    /// <summary>Asks squeue (and sacct) about the given jobs; <see cref="None"/> when there is no Slurm here.</summary>
    public static SlurmStates Query(IReadOnlyCollection<string> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        if (jobs.Count == 0 || SlurmExecutor.FindOnPath("squeue") == null) return None;
        var list = string.Join(',', jobs);
        var queue = Capture("squeue", "-h", "-j", list, "-o", "%i|%T") ?? "";
        var accounting = SlurmExecutor.FindOnPath("sacct") != null ? Capture("sacct", "-n", "-X", "-P", "-j", list, "-o", "JobID,State") ?? "" : "";
        return Parse(queue, accounting);
    }

    private static string? Capture(string program, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(30))) { process.Kill(); return null; }
            // squeue answers 'Invalid job id' (exit 1) once every listed job has left the queue; that is no state.
            return process.ExitCode == 0 ? stdout.Result : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }
}

/// <summary>Per point of a sweep folder: queued, running, finished or failed, from the folder (commit markers, the
/// point locks, error.txt and run.log) and from Slurm when the sweep was submitted there (<c>slurm/jobs.txt</c>).</summary>
public static class SweepStatus
{
    private static readonly string[] Waiting = ["PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED"];
    private static readonly string[] Active = ["RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"];

    /// <summary>The sweep's Slurm submissions, oldest first: (array job, comparison job).</summary>
    public static IReadOnlyList<(string Array, string Finish)> Submissions(string folder)
    {
        var file = Path.Combine(folder, SlurmScripts.Folder, SlurmScripts.JobsFile);
        if (!File.Exists(file)) return [];
        return File.ReadAllLines(file).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(w => w.Length >= 2).Select(w => (w[0], w[1])).ToList();
    }

    /// <summary>Reads the points of a run or sweep folder (exit-2 errors when it is not one).</summary>
    public static IReadOnlyList<PointStatus> Read(string folder, SlurmStates slurm)
    {
        ArgumentNullException.ThrowIfNull(slurm);
        var pipeline = Path.Combine(folder, "pipeline.yaml");
        if (!File.Exists(pipeline)) throw new InputException($"{folder} is not a run or sweep folder (no pipeline.yaml). Pass the folder that 'run' printed.");
        var runs = SweepExpander.Expand(PipelineDocument.Load(pipeline));
        var submissions = Submissions(folder);
        return runs.Select((run, index) => Point(folder, run, index, submissions, slurm)).ToList();
    }

    private static PointStatus Point(string folder, SweepRun run, int index, IReadOnlyList<(string Array, string Finish)> submissions, SlurmStates slurm)
    {
        var sub = run.FolderName.Length == 0 ? folder : Path.Combine(folder, run.FolderName);
        var label = run.Label.Length > 0 ? run.Label : "run";
        // The newest submission whose array Slurm still knows this task of.
        string? task = null, state = null;
        foreach (var (array, _) in submissions.Reverse())
        {
            var id = $"{array}_{index.ToString(CultureInfo.InvariantCulture)}";
            if (slurm.Of(id) is { } s) { task = id; state = s; break; }
        }
        var slurmText = task != null ? $"{task} {state}" : null;
        if (File.Exists(Path.Combine(sub, RunFolder.CommitMarker)))
        {
            var failure = Failure(Path.Combine(sub, "summary.json"));
            return new PointStatus(label, run.FolderName, failure == null ? "finished" : "failed", failure, slurmText);
        }
        if (Directory.Exists(sub) && PointLock.IsHeld(sub)) return new PointStatus(label, run.FolderName, "running", null, slurmText);
        if (state != null && Active.Contains(state, StringComparer.Ordinal)) return new PointStatus(label, run.FolderName, "running", null, slurmText);
        if (state != null && Waiting.Contains(state, StringComparer.Ordinal)) return new PointStatus(label, run.FolderName, "queued", null, slurmText);
        var log = LocalExecutor.LastLogLine(Path.Combine(sub, "run.log"));
        var slurmLog = task != null ? LocalExecutor.LastLogLine(Path.Combine(folder, SlurmScripts.Folder, task + ".out")) : null;
        // Started (its folder has its pipeline, a log or an error) and neither running nor finished: it stopped.
        if (File.Exists(Path.Combine(sub, "error.txt")) || log != null || File.Exists(Path.Combine(sub, "pipeline.yaml")) || state != null)
            return new PointStatus(label, run.FolderName, "failed", log ?? slurmLog ?? FirstLine(Path.Combine(sub, "error.txt")) ?? "stopped before it finished", slurmText);
        return new PointStatus(label, run.FolderName, "queued", null, slurmText);
    }

    private static string? Failure(string summary)
    {
        if (!File.Exists(summary)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(summary));
            return doc.RootElement.TryGetProperty("failure", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        }
        catch (JsonException) { return null; }
    }

    private static string? FirstLine(string file) => File.Exists(file) ? File.ReadLines(file).FirstOrDefault(l => l.Trim().Length > 0) : null;
}
