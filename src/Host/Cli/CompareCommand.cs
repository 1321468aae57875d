using System.Globalization;
using Cocona;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Cli;

/// <summary>The <c>compare</c> command: the published comparison table from finished run and sweep folders.</summary>
public sealed class CompareCommand(CommandOutcome outcome)
{
    /// <summary>Compares finished runs.</summary>
    [Command("compare", Description = "Compare finished runs or sweeps: ES exact/perturb on retain/forget, raw and calibrated, with the best setting per method. Writes comparison.md, comparison.csv and comparison.png and prints the table.")]
    public int Compare(
        [Argument(Description = "Run folders (with summary.json) or sweep folders (their sub-folders are the runs)")] string[] runs,
        [Option("out", Description = "Folder to write into (default: a new folder runs/compare/<timestamp>)")] string? @out = null,
        [Option("taus", Description = "Calibration targets to report, comma-separated, e.g. 0.8,0.9 (default: the τ the runs were calibrated at)")] string? taus = null,
        [Option("no-charts", Description = "Do not draw comparison.png")] bool noCharts = false)
    {
        outcome.Ran = true;
        return Commands.Guard(() => Run(runs, @out, taus, !noCharts));
    }

    /// <summary>The command body: reads, builds, writes, prints the Markdown to <paramref name="output"/>; returns the exit
    /// code. Without <paramref name="outFolder"/> it writes into a new <c>compare/&lt;timestamp&gt;</c> folder under
    /// <paramref name="runsRoot"/> (default ./runs).</summary>
    public static int Run(IReadOnlyList<string> runs, string? outFolder, string? taus, bool charts, TextWriter? output = null, DateTime? now = null, string? runsRoot = null)
    {
        ArgumentNullException.ThrowIfNull(runs);
        output ??= Console.Out;
        if (runs.Count == 0)
        {
            Console.Error.WriteLine("error: give at least one run or sweep folder: dotnet unlearn compare runs/quickstart/20250101-120000 [more...]");
            return ExitCodes.BadInput;
        }
        var targets = ParseTaus(taus);
        var warnings = new List<string>();
        var summaries = RunSummaries.Load(runs, warnings);
        var table = Comparison.Build(summaries, targets);
        var folder = OutputFolder.Open(outFolder, [ComparisonReport.MarkdownFile, ComparisonReport.CsvFile, Charts.ComparisonFile], "compare", now ?? DateTime.Now, runsRoot);
        var markdown = ComparisonReport.Write(folder, table, warnings, charts);
        foreach (var w in warnings) Console.Error.WriteLine("warning: " + w);
        output.Write(markdown);
        Console.Error.WriteLine($"comparison written to {folder.Path}");
        return ExitCodes.Success;
    }

    /// <summary>Parses "0.8,0.9" into τ values in (0, 1].</summary>
    public static IReadOnlyList<double> ParseTaus(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var values = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var tau) || !(tau > 0 && tau <= 1))
                throw new InvalidDataException($"--taus: '{part}' is not a number in (0, 1]; write e.g. --taus 0.8,0.9");
            values.Add(tau);
        }
        return values;
    }
}
