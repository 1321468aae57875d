using System.Globalization;
using System.Text;

namespace Unlearn.Host.Running.Executors;

/// <summary>What a Slurm submission of a sweep needs to know.</summary>
/// <param name="SweepFolder">The sweep folder (absolute; on a filesystem every node shares).</param>
/// <param name="Name">The pipeline's name (job names).</param>
/// <param name="Points">Every point's folder name in grid order: array task i runs point i.</param>
/// <param name="Indices">The points to run (the unfinished ones).</param>
/// <param name="Throttle">At most this many array tasks at once (sbatch --array=...%N), 0 for no limit.</param>
/// <param name="Settings">Partition, resources, extra sbatch and setup lines.</param>
/// <param name="Tool">The shell words that start the tool on a compute node.</param>
/// <param name="Cache">UNLEARN_CACHE of every task (shared by the nodes, so shared stages are built once).</param>
public sealed record SlurmJob(string SweepFolder, string Name, IReadOnlyList<string> Points, IReadOnlyList<int> Indices, int Throttle,
    ExecutorSettings Settings, string Tool, string Cache);

/// <summary>The batch scripts of a Slurm submission, kept in the sweep folder's <c>slurm/</c> folder so a user can read
/// and resubmit them: <c>array.sbatch</c> (one array task per point, each running the tool on its point),
/// <c>finish.sbatch</c> (the comparison, after every task ended) and <c>submit.sh</c>, which submits both with the
/// dependency and records the job ids in <c>jobs.txt</c>.</summary>
public static class SlurmScripts
{
    /// <summary>The folder of the scripts and task logs inside the sweep folder.</summary>
    public const string Folder = "slurm";
    /// <summary>The array job's script.</summary>
    public const string ArrayFile = "array.sbatch";
    /// <summary>The comparison job's script.</summary>
    public const string FinishFile = "finish.sbatch";
    /// <summary>The script that submits both.</summary>
    public const string SubmitFile = "submit.sh";
    /// <summary>One line per submission: array job id, comparison job id, UTC time.</summary>
    public const string JobsFile = "jobs.txt";

    /// <summary>sbatch options the scripts set themselves.</summary>
    public static readonly string[] ReservedOptions = ["array", "output", "error", "job-name", "dependency", "parsable"];

    /// <summary>The --array value: the indices as ranges ("0-3,6"), with the throttle ("%2").</summary>
    public static string ArraySpec(IReadOnlyList<int> indices, int throttle)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0) throw new ArgumentException("no array index", nameof(indices));
        var sorted = indices.Distinct().Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(j == i ? Num(sorted[i]) : $"{Num(sorted[i])}-{Num(sorted[j])}");
            i = j + 1;
        }
        return string.Join(',', parts) + (throttle > 0 ? "%" + Num(throttle) : "");
    }

    /// <summary>The array job: task <c>$SLURM_ARRAY_TASK_ID</c> runs that point of the sweep.</summary>
    public static string Array(SlurmJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var s = job.Settings;
        var text = new StringBuilder();
        text.Append("#!/bin/bash\n")
            .Append("# One array task per point of the sweep in ").Append(job.SweepFolder).Append(":\n")
            .Append("# task i runs the tool on point i into its sub-folder. Written by 'dotnet unlearn run --executor slurm';\n")
            .Append("# submit it again, with the comparison job after it, with: bash ").Append(ScriptPath(job, SubmitFile)).Append('\n')
            .Append("#SBATCH --job-name=").Append(JobName(job.Name)).Append('\n')
            .Append("#SBATCH --array=").Append(ArraySpec(job.Indices, job.Throttle)).Append('\n')
            .Append("#SBATCH --output=").Append(ScriptPath(job, "%A_%a.out")).Append('\n');
        Option(text, "partition", s.Partition);
        Option(text, "account", s.Account);
        Option(text, "time", s.Time);
        Option(text, "cpus-per-task", s.CpusPerTask?.ToString(CultureInfo.InvariantCulture));
        Option(text, "mem", s.Mem);
        Option(text, "gres", s.Gres);
        foreach (var line in s.SbatchLines) text.Append("#SBATCH ").Append(line).Append('\n');
        text.Append("\nset -euo pipefail\n")
            .Append("sweep=").Append(ToolCommand.ShellQuote(job.SweepFolder)).Append('\n')
            .Append("points=(").Append(string.Join(' ', job.Points.Select(ToolCommand.ShellQuote))).Append(")\n");
        Environment(text, job);
        text.Append("# torch uses the CPUs Slurm gave the task\n")
            .Append("export OMP_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-${OMP_NUM_THREADS:-1}}\"\n")
            .Append("exec ").Append(job.Tool).Append(" run --resume \"$sweep\" --point \"${points[$SLURM_ARRAY_TASK_ID]}\"\n");
        return text.ToString();
    }

    /// <summary>The comparison job: after every array task ended (afterany), the sweep's comparison and, when every point
    /// finished, its commit marker.</summary>
    public static string Finish(SlurmJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var s = job.Settings;
        var text = new StringBuilder();
        text.Append("#!/bin/bash\n")
            .Append("# The comparison of the sweep in ").Append(job.SweepFolder).Append(", after its array job ended\n")
            .Append("# (submitted by ").Append(ScriptPath(job, SubmitFile)).Append(" with --dependency=afterany on the array job).\n")
            .Append("#SBATCH --job-name=").Append(JobName(job.Name)).Append("-compare\n")
            .Append("#SBATCH --output=").Append(ScriptPath(job, "compare-%j.out")).Append('\n');
        Option(text, "partition", s.Partition);
        Option(text, "account", s.Account);
        text.Append("#SBATCH --cpus-per-task=1\n");
        foreach (var line in s.SbatchLines) text.Append("#SBATCH ").Append(line).Append('\n');
        text.Append("\nset -euo pipefail\n")
            .Append("sweep=").Append(ToolCommand.ShellQuote(job.SweepFolder)).Append('\n');
        Environment(text, job);
        text.Append("exec ").Append(job.Tool).Append(" run --resume \"$sweep\" --finish\n");
        return text.ToString();
    }

    /// <summary>Submits the array job, then the comparison job depending on it; appends both ids to jobs.txt.</summary>
    public static string Submit(SlurmJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return "#!/bin/bash\n"
            + "# Submits the sweep's array job and, after it ended, its comparison job; records the job ids in " + JobsFile + ".\n"
            + "# Points that finished are skipped by the tool, so running this again only runs what is left.\n"
            + "set -euo pipefail\n"
            + "here=" + ToolCommand.ShellQuote(Path.Combine(job.SweepFolder, Folder)) + "\n"
            + "array=\"$(sbatch --parsable \"$here/" + ArrayFile + "\")\"\n"
            + "array=\"${array%%;*}\"\n"
            + "finish=\"$(sbatch --parsable --dependency=\"afterany:$array\" \"$here/" + FinishFile + "\")\"\n"
            + "finish=\"${finish%%;*}\"\n"
            + "echo \"$array $finish $(date -u +%Y-%m-%dT%H:%M:%SZ)\" >> \"$here/" + JobsFile + "\"\n"
            + "echo \"array job $array, comparison job $finish\"\n";
    }

    /// <summary>The path of a file in the sweep folder's slurm/ folder.</summary>
    public static string ScriptPath(SlurmJob job, string file)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Path.Combine(job.SweepFolder, Folder, file);
    }

    private static void Environment(StringBuilder text, SlurmJob job)
    {
        text.Append("# every node uses the same stage cache (on the shared filesystem): shared stages are built once\n")
            .Append("export UNLEARN_CACHE=").Append(ToolCommand.ShellQuote(job.Cache)).Append('\n');
        foreach (var line in job.Settings.SetupLines) text.Append(line).Append('\n');
    }

    private static void Option(StringBuilder text, string name, string? value)
    {
        if (value != null) text.Append("#SBATCH --").Append(name).Append('=').Append(value).Append('\n');
    }

    private static string JobName(string name) => "unlearn-" + name;

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
