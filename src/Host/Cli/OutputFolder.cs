using Unlearn.Host.Reporting;

namespace Unlearn.Host.Cli;

/// <summary>Where a command that reads finished runs (compare, robustness) writes its files.</summary>
public static class OutputFolder
{
    /// <summary><paramref name="outFolder"/> when given (created if missing; refused when it already holds one of
    /// <paramref name="outputs"/>, since results are never overwritten), else a new <c>&lt;kind&gt;/&lt;timestamp&gt;</c>
    /// folder under <paramref name="runsRoot"/> (default ./runs).</summary>
    public static RunFolder Open(string? outFolder, IReadOnlyList<string> outputs, string kind, DateTime now, string? runsRoot)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outFolder == null) return RunFolder.CreateNew(Path.GetFullPath(runsRoot ?? "runs"), kind, now);
        var path = Path.GetFullPath(outFolder);
        if (outputs.FirstOrDefault(f => File.Exists(Path.Combine(path, f))) is { } taken)
            throw new InvalidDataException($"'{outFolder}' already holds {taken}; {kind} results are never overwritten: choose another --out folder.");
        Directory.CreateDirectory(path);
        return RunFolder.Open(path);
    }
}
