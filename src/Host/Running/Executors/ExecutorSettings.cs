using System.Text.RegularExpressions;
using Unlearn.Host.Configuration;
using Unlearn.Plugins;

namespace Unlearn.Host.Running.Executors;

/// <summary>The <c>executor:</c> section of a pipeline, merged with <c>--slurm-option KEY=VALUE</c>: where and with which
/// resources the points of a sweep run on a Slurm cluster. Bound by the options binder; every value is checked when it is
/// read, so a bad one is bad input (exit 2) before any job is written or submitted.</summary>
public sealed record ExecutorSettings : IValidatableOptions
{
    /// <summary>sbatch --partition.</summary>
    public string? Partition { get; init; }
    /// <summary>sbatch --account.</summary>
    public string? Account { get; init; }
    /// <summary>sbatch --time of one point.</summary>
    public string? Time { get; init; }
    /// <summary>sbatch --cpus-per-task of one point (also its torch threads).</summary>
    public int? CpusPerTask { get; init; }
    /// <summary>sbatch --mem of one point.</summary>
    public string? Mem { get; init; }
    /// <summary>sbatch --gres of one point.</summary>
    public string? Gres { get; init; }
    /// <summary>Extra sbatch option lines.</summary>
    public IReadOnlyList<string>? Sbatch { get; init; }
    /// <summary>Shell lines run before the tool on the compute node.</summary>
    public IReadOnlyList<string>? Setup { get; init; }
    /// <summary>The command that starts the tool on a compute node.</summary>
    public string? Tool { get; init; }

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

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (CpusPerTask < 1) yield return $"cpus_per_task: must be >= 1, got {CpusPerTask}";
        var values = new (string Key, string? Value)[] { ("partition", Partition), ("account", Account), ("time", Time), ("mem", Mem), ("gres", Gres), ("tool", Tool) }
            .Concat(SbatchLines.Select(l => ("sbatch", (string?)l))).Concat(SetupLines.Select(l => ("setup", (string?)l)));
        foreach (var (key, value) in values)
            if (value != null && Problem(key, value) is { } problem) yield return $"{key}: {problem}";
    }

    /// <summary>Applies <c>--slurm-option KEY=VALUE</c> values over these settings (sbatch and setup add a line; the
    /// others replace the pipeline's value). A malformed or unknown option, or a value that does not fit, is bad input.</summary>
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
            var value = option[(eq + 1)..].Trim();
            if (Problem(key, value) is { } problem) throw new InputException($"--slurm-option {key}: {problem}");
            settings = key switch
            {
                "partition" => settings with { Partition = value },
                "account" => settings with { Account = value },
                "time" => settings with { Time = value },
                "cpus_per_task" => settings with { CpusPerTask = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
                "mem" => settings with { Mem = value },
                "gres" => settings with { Gres = value },
                "sbatch" => settings with { Sbatch = [.. settings.SbatchLines, value] },
                "setup" => settings with { Setup = [.. settings.SetupLines, value] },
                _ => settings with { Tool = value },
            };
        }
        return settings;
    }

    // Why a value does not fit its key, or null.
    private static string? Problem(string key, string value)
    {
        if (value.Length == 0) return "the value is empty.";
        if (value.Any(char.IsControl)) return "the value holds a line break or control character; give one value per option.";
        return key switch
        {
            "partition" or "account" when !NamePattern.IsMatch(value) => $"'{value}' is not a Slurm {key} name (letters, digits, '_', '-', '.', ',').",
            "time" when !TimePattern.IsMatch(value) => $"'{value}' is not a Slurm time limit: write minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, e.g. 2:00:00.",
            "cpus_per_task" when !int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var cpus) || cpus < 1 =>
                $"'{value}' is not a positive whole number of CPUs.",
            "mem" when !MemPattern.IsMatch(value) => $"'{value}' is not a Slurm memory size: a whole number with an optional unit K, M, G or T, e.g. 16G.",
            "gres" when !GresPattern.IsMatch(value) => $"'{value}' is not a Slurm gres list, e.g. gpu:1 or gpu:a100:2.",
            "sbatch" when !value.StartsWith('-') => $"'{value}' is not an sbatch option: write it as on the sbatch command line, e.g. --qos=long.",
            "sbatch" when SlurmScripts.ReservedOptions.FirstOrDefault(r => value.StartsWith("--" + r, StringComparison.Ordinal)) is { } reserved =>
                $"--{reserved} is set by the tool itself (one array task per sweep point, logs in the sweep folder); remove it.",
            _ => null,
        };
    }
}
