using System.Globalization;
using System.Text;
using Unlearn.Host.Configuration;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Checking;

/// <summary><c>check --update</c>: writes the runs' current values as the file's snapshot values. Every snapshot value
/// is rewritten in place (bars, tolerances, comments and layout are kept), and every aggregate of a run that no entry
/// names gets a snapshot entry <c>{ value: V, tol: T }</c> with the file's <c>tol</c>: under <c>expect:</c> for a single
/// run, under <c>runs.&lt;sub-folder&gt;:</c> for a sweep run.</summary>
public static class ExpectationUpdate
{
    /// <summary>What the update changed.</summary>
    /// <param name="Text">The new file text.</param>
    /// <param name="Rewritten">Snapshot values rewritten.</param>
    /// <param name="Added">Snapshot entries added.</param>
    public sealed record Outcome(string Text, int Rewritten, int Added);

    private sealed record Replacement(int Line, int Column, string Text);

    /// <summary>The updated text of <paramref name="file"/> for the runs (a bad combination throws
    /// <see cref="PipelineException"/>: a shared snapshot value the sweep's runs disagree on, a flow-style section).</summary>
    public static Outcome Apply(ExpectationFile file, IReadOnlyList<RunSummary> runs, bool sweep)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(runs);
        var newline = file.Text.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var lines = file.Text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        var replacements = new List<Replacement>();

        // Snapshot values in place.
        foreach (var entry in file.Common?.Entries ?? [])
            foreach (var s in entry.Conditions.OfType<Snapshot>())
            {
                var values = runs.Where(r => !sweep || SectionEntry(file, r, entry.Key) == null)
                    .Select(r => (Run: r, Value: r.Value(entry.Key.Model, entry.Key.Split, entry.Key.Metric))).ToList();
                if (values.Count == 0 || values.Any(v => v.Value is null or double.NaN)) continue;
                if (values.Select(v => v.Value).Distinct().Count() > 1)
                    throw new PipelineException(s.ValueAt, $"expect.{entry.Key}", "the sweep's runs differ here ("
                        + string.Join(", ", values.Select(v => $"{Path.GetFileName(v.Run.Folder)}: {Format(v.Value!.Value)}"))
                        + "), so --update cannot write one snapshot for all of them: move this entry under 'runs: <sub-folder>:' for each run.");
                replacements.Add(new Replacement(s.ValueAt.Line, s.ValueAt.Column, Format(values[0].Value!.Value)));
            }
        foreach (var run in sweep ? runs : [])
            foreach (var entry in ExpectationCheck.SectionOf(file, run)?.Entries ?? [])
                foreach (var s in entry.Conditions.OfType<Snapshot>())
                    if (run.Value(entry.Key.Model, entry.Key.Split, entry.Key.Metric) is { } v && double.IsFinite(v))
                        replacements.Add(new Replacement(s.ValueAt.Line, s.ValueAt.Column, Format(v)));
        // Right to left within a line, so a replacement does not move the columns of the others.
        foreach (var r in replacements.OrderBy(r => r.Line).ThenByDescending(r => r.Column)) Replace(lines, r, file.Path);

        // Entries for what no expectation names, inserted bottom-up so earlier line numbers stay valid.
        var insertions = new List<(int After, List<string> Lines)>();
        var newSections = new List<string>();
        var added = 0;
        foreach (var run in runs)
        {
            var own = sweep ? ExpectationCheck.SectionOf(file, run) : null;
            var covered = ExpectationCheck.For(file, own).Select(e => e.Key).ToHashSet();
            var fresh = run.Metrics.Where(m => double.IsFinite(m.Value) && !covered.Contains(new MetricKey(m.Model, m.Split, m.Metric)))
                .Select(m => $"{Key($"{m.Model}.{m.Split}.{m.Metric}")}: {{ value: {Format(m.Value)}, tol: {Format(file.Tolerance)} }}").ToList();
            if (fresh.Count == 0) continue;
            added += fresh.Count;
            if (!sweep) insertions.Add(InsertInto(lines, "expect", file.Root["expect"], file.Root.LocationOf("expect"), fresh, 0));
            else if (own != null && file.Root["runs"] is ConfigMap runsMap)
                insertions.Add(InsertInto(lines, $"runs.{own.Name}", runsMap[own.Name], runsMap.LocationOf(own.Name), fresh, runsMap.Location.Column - 1));
            else
            {
                newSections.Add(Key(Path.GetFileName(run.Folder)) + ":");
                newSections.AddRange(fresh.Select(e => "  " + e));
            }
        }
        // Sections for sweep runs the file does not name yet, all under one runs: key.
        if (newSections.Count > 0) insertions.Add(InsertInto(lines, "runs", file.Root["runs"], file.Root.LocationOf("runs"), newSections, 0));
        // Blocks at the same line go in the order they were made: inserting bottom-up, the later one first.
        foreach (var (after, block) in insertions.Select((i, order) => (i, order)).OrderByDescending(x => x.i.After).ThenByDescending(x => x.order).Select(x => x.i))
            lines.InsertRange(after, block);
        var text = new StringBuilder();
        foreach (var l in lines) text.Append(l).Append(newline);
        return new Outcome(text.ToString(), replacements.Count, added);
    }

    /// <summary>The run's own entry for a key, or null.</summary>
    private static ExpectationEntry? SectionEntry(ExpectationFile file, RunSummary run, MetricKey key) =>
        ExpectationCheck.SectionOf(file, run)?.Entries.FirstOrDefault(e => e.Key == key);

    /// <summary>A value as --update writes it: the shortest text that reads back as the same double.</summary>
    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Key(string key) => key.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '+' or '=' or ',')
        ? key : "\"" + key.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>Replaces the scalar written at a position (plain or quoted) with <paramref name="r"/>'s text.</summary>
    private static void Replace(List<string> lines, Replacement r, string path)
    {
        var line = lines[r.Line - 1];
        var start = r.Column - 1;
        int end;
        if (line[start] is '"' or '\'')
        {
            end = line.IndexOf(line[start], start + 1);
            if (end < 0) throw new PipelineException(new SourceLocation(path, r.Line, r.Column), "", "--update rewrites one-line values only; write the snapshot value on one line.");
            end++;
        }
        else
        {
            end = start;
            while (end < line.Length && line[end] is not (',' or '}' or ']' or '#')) end++;
            while (end > start && char.IsWhiteSpace(line[end - 1])) end--;
        }
        lines[r.Line - 1] = line[..start] + r.Text + line[end..];
    }

    /// <summary>Where entries go into a block section: after its last line, at the indentation of its keys; after
    /// the key line of an empty section; at the end of the file (with the key) when it is missing.</summary>
    private static (int, List<string>) InsertInto(List<string> lines, string keyPath, ConfigNode? section, SourceLocation keyAt, List<string> entries, int keyIndent)
    {
        var key = keyPath[(keyPath.LastIndexOf('.') + 1)..];
        switch (section)
        {
            case null:
                return (lines.Count, [new string(' ', keyIndent) + Key(key) + ":", .. entries.Select(e => new string(' ', keyIndent + 2) + e)]);
            case ConfigScalar { Value: null }:
                return (keyAt.Line, entries.Select(e => new string(' ', keyIndent + 2) + e).ToList());
            case ConfigMap map when map.Entries.Count > 0 && lines[map.Location.Line - 1][map.Location.Column - 1] != '{':
                var indent = map.Location.Column - 1;
                var last = map.Location.Line - 1;
                for (var i = last + 1; i < lines.Count; i++)
                {
                    var trimmed = lines[i].TrimStart();
                    if (trimmed.Length == 0 || trimmed.StartsWith('#')) continue;
                    if (lines[i].Length - trimmed.Length < indent) break;
                    last = i;
                }
                return (last + 1, entries.Select(e => new string(' ', indent) + e).ToList());
            default:
                throw new PipelineException(section.Location, keyPath, $"--update adds entries to block sections only: write '{key}:' with its entries on indented lines below it (not {{ ... }} on one line).");
        }
    }
}
