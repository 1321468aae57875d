using System.Text;
using Cocona;
using Unlearn.Host.Checking;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running;

namespace Unlearn.Host.Cli;

/// <summary>The <c>check</c> command: a finished run or sweep against an expectation file, for CI (docs/ci.md).</summary>
public sealed class CheckCommand(CommandOutcome outcome)
{
    /// <summary>Checks a run.</summary>
    [Command("check", Description = "Check a finished run or sweep against an expectation file (YAML, docs/ci.md): exit 0 when every expectation holds, 1 with a table of the failures, 2 for a bad file or an unfinished run.")]
    public int Check(
        [Argument(Description = "Run folder (with complete.json) or sweep folder")] string run,
        [Option("expect", Description = "Expectation file (YAML): bars and snapshot values per role.split.metric")] string expect,
        [Option("update", Description = "Write the run's values as the file's snapshot values (bars and tolerances kept; entries added for values the file does not name), then check")] bool update = false,
        [Option("junit", Description = "Also write JUnit XML: one test case per expectation")] string? junit = null)
    {
        outcome.Ran = true;
        return Commands.Guard(() => Run(run, expect, update, junit));
    }

    /// <summary>The command body; prints to <paramref name="output"/> (default standard output) and returns the exit code.</summary>
    public static int Run(string run, string expect, bool update, string? junit, TextWriter? output = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(expect);
        output ??= Console.Out;
        var file = ExpectationFile.Load(expect);
        var (runs, sweep) = ReadCommitted(run);
        if (update)
        {
            var changed = ExpectationUpdate.Apply(file, runs, sweep);
            var updated = ExpectationFile.Parse(changed.Text, expect); // what is written must read back
            var temp = Path.GetFullPath(expect) + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
            File.WriteAllText(temp, changed.Text, new UTF8Encoding(false));
            File.Move(temp, Path.GetFullPath(expect), overwrite: true);
            output.WriteLine($"check: updated {expect}: {changed.Rewritten} snapshot value{(changed.Rewritten == 1 ? "" : "s")} rewritten, {changed.Added} added.");
            file = updated;
        }
        var cases = ExpectationCheck.Run(file, runs, sweep);
        if (junit != null) JUnitReport.Write(junit, expect, cases);
        var failed = cases.Where(c => !c.Passed).ToList();
        var where = sweep ? $"{runs.Count} runs of {run}" : run;
        if (failed.Count == 0)
        {
            output.WriteLine($"check: all {cases.Count} expectations of {expect} hold on {where}.");
            return ExitCodes.Success;
        }
        output.Write(FailureTable(failed, sweep));
        output.WriteLine($"check: {failed.Count} of {cases.Count} expectations of {expect} failed on {where}.");
        return ExitCodes.RunFailure;
    }

    /// <summary>The failures as a Markdown table: expectation, expected, got, difference (and the run in a sweep).</summary>
    public static string FailureTable(IReadOnlyList<CheckCase> failed, bool sweep)
    {
        ArgumentNullException.ThrowIfNull(failed);
        var sb = new StringBuilder();
        sb.Append(sweep ? "| run " : "").Append("| expectation | expected | got | difference |\n").Append(sweep ? "|---" : "").Append("|---|---|---:|---:|\n");
        foreach (var c in failed)
        {
            if (sweep) sb.Append("| ").Append(c.Run).Append(' ');
            sb.Append("| ").Append(Cell(c.Name)).Append(" | ").Append(Cell(c.Expected)).Append(" | ")
                .Append(c.Got is { } g ? ExpectationCheck.Num(g) : "missing").Append(" | ")
                .Append(c.Difference is { } d ? ExpectationCheck.Signed(d) : "").Append(" |\n");
        }
        sb.Append('\n');
        foreach (var c in failed.Where(c => c.Got == null || c.Difference == null)) sb.Append("- ").Append(c.Run).Append(": ").Append(c.Message).Append('\n');
        if (failed.Any(c => c.Got == null || c.Difference == null)) sb.Append('\n');
        return sb.ToString();
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    /// <summary>The runs of a committed run or sweep folder; an unfinished one is bad input (exit 2).</summary>
    private static (IReadOnlyList<RunSummary> Runs, bool Sweep) ReadCommitted(string path)
    {
        var folder = Path.GetFullPath(path);
        if (Directory.Exists(folder) && !File.Exists(Path.Combine(folder, RunFolder.CommitMarker)))
        {
            // A folder that is no run at all gets the reader's own explanation.
            if (!File.Exists(Path.Combine(folder, "pipeline.yaml"))) RunSummaries.Load(path, new List<string>());
            throw new InputException($"'{path}' is not a finished run: it has no {RunFolder.CommitMarker} (the run was interrupted, failed in a sweep, or is still running). "
                + $"Finish it with 'dotnet unlearn run --resume {path}' (see its run.log), then check again.");
        }
        var warnings = new List<string>();
        var runs = RunSummaries.Load(path, warnings);
        var sweep = !File.Exists(Path.Combine(folder, RunSummaries.SummaryFile));
        return (runs, sweep);
    }
}
