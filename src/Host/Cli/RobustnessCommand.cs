using Cocona;
using Unlearn.Host.Reporting;
using Unlearn.Host.Robustness;

namespace Unlearn.Host.Cli;

/// <summary>The <c>robustness</c> command: the meta-evaluation of metrics from finished runs with attacks.</summary>
public sealed class RobustnessCommand(CommandOutcome outcome)
{
    /// <summary>Meta-evaluates metrics.</summary>
    [Command("robustness", Description = "Meta-evaluate metrics over finished runs or sweeps with attacks: per metric and attack the Pearson r and slope of metric-under-attack vs clean metric across the unlearned models (bootstrap 95 % intervals), and faithfulness (AUC of the models that know the forget data vs those that never saw it; by default original vs retain). Writes robustness.md, robustness.csv and a scatter PNG per attack.")]
    public int Robustness(
        [Argument(Description = "Run folders (with summary.json) or sweep folders (their sub-folders are the runs)")] string[] runs,
        [Option("out", Description = "Folder to write into (default: a new folder runs/robustness/<timestamp>)")] string? @out = null,
        [Option("split", Description = "Split whose metrics are compared")] string split = "forget",
        [Option("resamples", Description = "Bootstrap resamples")] int resamples = 2000,
        [Option("seed", Description = "Seed of the bootstrap")] int seed = 0,
        [Option("no-charts", Description = "Do not draw the scatter plots")] bool noCharts = false,
        [Option("knowing", Description = "Models that know the forget data, for faithfulness: a pattern over 'run/sweep-point:role' (* and ?), repeatable; default '*:original'. Add under-unlearned models, e.g. '*lr=1e-5*:unlearned'")] string[]? knowing = null,
        [Option("never-saw", Description = "Models that never saw the forget data, for faithfulness (same patterns); default '*:retain'")] string[]? neverSaw = null)
    {
        outcome.Ran = true;
        var pools = new FaithfulnessPools(knowing is { Length: > 0 } ? knowing : FaithfulnessPools.Default.Knowing,
            neverSaw is { Length: > 0 } ? neverSaw : FaithfulnessPools.Default.NeverSaw);
        return Commands.Guard(() => Run(runs, @out, split, resamples, seed, !noCharts, pools: pools));
    }

    /// <summary>The command body; returns the exit code. Without <paramref name="outFolder"/> it writes into a new
    /// <c>robustness/&lt;timestamp&gt;</c> folder under <paramref name="runsRoot"/> (default ./runs).</summary>
    public static int Run(IReadOnlyList<string> runs, string? outFolder, string split, int resamples, int seed, bool charts,
        TextWriter? output = null, DateTime? now = null, string? runsRoot = null, FaithfulnessPools? pools = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        output ??= Console.Out;
        if (runs.Count == 0)
        {
            Console.Error.WriteLine("error: give at least one run or sweep folder made with an attacks: section: dotnet unlearn robustness runs/robustness/20250101-120000");
            return ExitCodes.BadInput;
        }
        if (resamples < 100) throw new InvalidDataException($"--resamples must be at least 100, got {resamples}");
        var warnings = new List<string>();
        var summaries = RunSummaries.Load(runs, warnings);
        var table = RobustnessAnalysis.Build(summaries, split, resamples, seed, pools);
        warnings.AddRange(RobustnessAnalysis.Twins(summaries));
        var folder = OutputFolder.Open(outFolder, [RobustnessReport.MarkdownFile, RobustnessReport.CsvFile], "robustness", now ?? DateTime.Now, runsRoot);
        var markdown = RobustnessReport.Write(folder, table, warnings, charts);
        foreach (var w in warnings) Console.Error.WriteLine("warning: " + w);
        output.Write(markdown);
        Console.Error.WriteLine($"robustness written to {folder.Path}");
        return ExitCodes.Success;
    }
}
