using System.Text.RegularExpressions;
using Unlearn.Host.Configuration;

namespace Unlearn.Host.Running.Executors;

/// <summary>The <c>executor:</c> section of a pipeline, merged with <c>--slurm-option KEY=VALUE</c>: where and with which
/// resources the points of a sweep run on a Slurm cluster. Every value is checked when it is read, so a bad one is bad
/// input (exit 2) before any job is written or submitted.</summary>
/// <param name="Partition">sbatch --partition.</param>
/// <param name="Account">sbatch --account.</param>
/// <param name="Time">sbatch --time of one point (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS).</param>
/// <param name="CpusPerTask">sbatch --cpus-per-task of one point (also its torch threads).</param>
/// <param name="Mem">sbatch --mem of one point, e.g. 8G.</param>
/// <param name="Gres">sbatch --gres of one point, e.g. gpu:1 (GPUs need the CUDA build of the tool, docs/cluster.md).</param>
/// <param name="Sbatch">Extra sbatch option lines, each written as <c>#SBATCH LINE</c> in both jobs (e.g. --qos=long).</param>
/// <param name="Setup">Shell lines run before the tool on the compute node (e.g. module load cuda).</param>
/// <param name="Tool">The command that starts the tool on a compute node (default: this tool's own path, which a shared
/// filesystem makes the same there).</param>
public sealed record ExecutorSettings(
    string? Partition = null, string? Account = null, string? Time = null, int? CpusPerTask = null, string? Mem = null, string? Gres = null,
    IReadOnlyList<string>? Sbatch = null, IReadOnlyList<string>? Setup = null, string? Tool = null)
{
    /// <summary>The keys of the section (and of --slurm-option).</summary>
    public static readonly string[] Keys = ["partition", "account", "time", "cpus_per_task", "mem", "gres", "sbatch", "setup", "tool"];

    /// <summary>No settings: the cluster's defaults.</summary>
    public static ExecutorSettings None { get; } = new();

    /// <summary>Extra sbatch lines (never null).</summary>
    public IReadOnlyList<string> SbatchLines => Sbatch ?? [];

    /// <summary>Setup lines (never null).</summary>
    public IReadOnlyList<string> SetupLines => Setup ?? [];

    private static readonly Regex TimePattern = new(@"^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly Regex MemPattern = new(@"^\d+[KMGT]?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
    private static readonly Regex NamePattern = new(@"^[A-Za-z0-9_.,+-]+$", RegexOptions.CultureInvariant);
    private static readonly Regex GresPattern = new(@"^[A-Za-z0-9_.,:/+-]+$", RegexOptions.CultureInvariant);

    /// <summary>Binds the pipeline section (null or absent: no settings).</summary>
    public static ExecutorSettings Bind(SectionReader s)
    {
        if (!s.Present) return None;
        var settings = None;
        foreach (var key in new[] { "partition", "account", "time", "mem", "gres", "tool" })
            if (s.String(key) is { } value) settings = settings.With(key, value, (_, message) => new PipelineException(s.LocationOf(key), s.Path + "." + key, message));
        if (s.OptionalInt("cpus_per_task", min: 1) is { } cpus) settings = settings with { CpusPerTask = cpus };
        foreach (var key in new[] { "sbatch", "setup" })
            foreach (var line in s.StringList(key) ?? [])
                settings = settings.With(key, line, (_, message) => new PipelineException(s.LocationOf(key), s.Path + "." + key, message));
        s.RejectUnknownKeys();
        return settings;
    }

    /// <summary>Applies <c>--slurm-option KEY=VALUE</c> values over these settings (sbatch and setup add a line; the
    /// others replace the pipeline's value). A malformed or unknown option is bad input.</summary>
    public ExecutorSettings WithOptions(IEnumerable<string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = this;
        foreach (var option in options)
        {
            var eq = option.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                throw new InputException($"--slurm-option '{option}': expected KEY=VALUE with a key of {string.Join(", ", Keys)}, e.g. --slurm-option partition=gpu");
            var key = option[..eq].Trim().Replace('-', '_');
            if (!Keys.Contains(key, StringComparer.Ordinal))
                throw new InputException($"--slurm-option '{option}': {NameSuggestions.Unknown("key", option[..eq].Trim(), Keys)} Other sbatch options go in as --slurm-option sbatch=--qos=long.");
            settings = settings.With(key, option[(eq + 1)..].Trim(), (k, message) => new InputException($"--slurm-option {k}: {message}"));
        }
        return settings;
    }

    private ExecutorSettings With(string key, string value, Func<string, string, Exception> error)
    {
        if (value.Length == 0) throw error(key, "the value is empty.");
        if (value.Any(char.IsControl)) throw error(key, "the value holds a line break or control character; give one value per option.");
        switch (key)
        {
            case "partition" or "account":
                if (!NamePattern.IsMatch(value)) throw error(key, $"'{value}' is not a Slurm {key} name (letters, digits, '_', '-', '.', ',').");
                return key == "partition" ? this with { Partition = value } : this with { Account = value };
            case "time":
                if (!TimePattern.IsMatch(value)) throw error(key, $"'{value}' is not a Slurm time limit: write minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, e.g. 2:00:00.");
                return this with { Time = value };
            case "cpus_per_task":
                if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var cpus) || cpus < 1)
                    throw error(key, $"'{value}' is not a positive whole number of CPUs.");
                return this with { CpusPerTask = cpus };
            case "mem":
                if (!MemPattern.IsMatch(value)) throw error(key, $"'{value}' is not a Slurm memory size: a whole number with an optional unit K, M, G or T, e.g. 16G.");
                return this with { Mem = value };
            case "gres":
                if (!GresPattern.IsMatch(value)) throw error(key, $"'{value}' is not a Slurm gres list, e.g. gpu:1 or gpu:a100:2.");
                return this with { Gres = value };
            case "sbatch":
                if (!value.StartsWith('-')) throw error(key, $"'{value}' is not an sbatch option: write it as on the sbatch command line, e.g. --qos=long.");
                if (SlurmScripts.ReservedOptions.FirstOrDefault(r => value.StartsWith("--" + r, StringComparison.Ordinal)) is { } reserved)
                    throw error(key, $"--{reserved} is set by the tool itself (one array task per sweep point, logs in the sweep folder); remove it.");
                return this with { Sbatch = [.. SbatchLines, value] };
            case "setup":
                return this with { Setup = [.. SetupLines, value] };
            default: // tool
                return this with { Tool = value };
        }
    }
}
