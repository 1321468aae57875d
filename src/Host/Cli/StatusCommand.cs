using System.Text.Json;
using Cocona;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running.Executors;

namespace Unlearn.Host.Cli;

/// <summary>The <c>status</c> command: where each point of a sweep folder stands.</summary>
public sealed class StatusCommand(CommandOutcome outcome)
{
    /// <summary>Shows the points of a sweep folder.</summary>
    [Command("status", Description = "Per point of a sweep folder: queued, running, finished or failed (from the folder, and from squeue/sacct when the sweep was submitted to Slurm), with the last log line of a failed point.")]
    public int Status(
        [Argument(Description = "Sweep folder (or run folder) that 'run' printed")] string folder,
        [Option("json", Description = "Machine-readable output")] bool json = false)
    {
        outcome.Ran = true;
        return Commands.Guard(() => Run(folder, json, Console.Out));
    }

    /// <summary>The command body; writes to <paramref name="output"/>, returns the exit code.</summary>
    public static int Run(string folder, bool json, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var path = Path.GetFullPath(folder);
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"{folder} does not exist. Pass the folder that 'run' printed.");
        var submissions = SweepStatus.Submissions(path);
        var slurm = SlurmStates.Query(submissions.SelectMany(s => new[] { s.Array, s.Finish }).ToList());
        var points = SweepStatus.Read(path, slurm);
        var committed = File.Exists(Path.Combine(path, RunFolder.CommitMarker));
        var compare = submissions.Count > 0 && slurm.Of(submissions[^1].Finish) is { } state ? $"{submissions[^1].Finish} {state}" : null;
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                folder = path,
                finished = committed,
                comparison_job = compare,
                points = points.Select(p => new { label = p.Label, folder = p.Folder, state = p.State, detail = p.Detail, slurm = p.Slurm }),
            }, new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Success;
        }
        var counts = string.Join(", ", new[] { "finished", "running", "queued", "failed" }
            .Select(s => (s, n: points.Count(p => p.State == s))).Where(c => c.n > 0).Select(c => $"{c.n} {c.s}"));
        output.WriteLine($"{path}: {points.Count} point{(points.Count == 1 ? "" : "s")}: {counts}{(committed ? "; the sweep is finished (complete.json)" : "")}");
        if (compare != null) output.WriteLine($"  comparison job {compare}");
        var width = points.Max(p => p.Label.Length);
        foreach (var p in points)
            output.WriteLine($"  {p.State,-8}  {p.Label.PadRight(width)}{(p.Slurm != null ? $"  [slurm {p.Slurm}]" : "")}{(p.Detail != null ? $"  {p.Detail}" : "")}");
        return ExitCodes.Success;
    }
}
