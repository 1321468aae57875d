namespace Unlearn.Data;

/// <summary>A folder of TOFU-schema split files, addressed by split name: <c>forget05_perturbed</c> resolves to
/// <c>forget05_perturbed.json</c> or, failing that, <c>forget05_perturbed.jsonl</c>.</summary>
public sealed class TofuFolder
{
    private static readonly string[] Extensions = [".json", ".jsonl"];

    /// <summary>Opens a folder.</summary>
    /// <exception cref="DataFileException">The folder does not exist.</exception>
    public TofuFolder(string directory)
    {
        Directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(Directory))
            throw new DataFileException(Directory, null, "data folder not found",
                "Point data.path at a folder of TOFU split files (full.json, forget10.json, ...)");
    }

    /// <summary>The folder's full path.</summary>
    public string Directory { get; }

    /// <summary>Split names present (file names without .json/.jsonl), sorted.</summary>
    public IReadOnlyList<string> AvailableSplits =>
        System.IO.Directory.EnumerateFiles(Directory)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>True when the split has a file here.</summary>
    public bool Contains(string splitName) => TryResolve(splitName) is not null;

    /// <summary>The file of a split (a name with or without its extension).</summary>
    /// <exception cref="DataFileException">No such file; the message lists the splits that exist.</exception>
    public string ResolvePath(string splitName) =>
        TryResolve(splitName) ?? throw new DataFileException(Directory, null,
            $"no file for split \"{splitName}\" (looked for {string.Join(", ", Candidates(splitName).Select(Path.GetFileName))})",
            AvailableSplits.Count == 0
                ? "The folder holds no .json or .jsonl files"
                : "Available splits: " + string.Join(", ", AvailableSplits));

    /// <summary>Reads a split by name.</summary>
    /// <param name="splitName">File name with or without extension, e.g. "forget05_perturbed".</param>
    /// <param name="logicalName">The pipeline's name for it; defaults to <paramref name="splitName"/>.</param>
    public DataSplit Read(string splitName, string? logicalName = null) =>
        TofuReader.ReadSplit(ResolvePath(splitName), logicalName ?? splitName);

    private string? TryResolve(string splitName) => Candidates(splitName).FirstOrDefault(File.Exists);

    private IEnumerable<string> Candidates(string splitName)
    {
        if (Extensions.Contains(Path.GetExtension(splitName), StringComparer.OrdinalIgnoreCase))
            yield return Path.Combine(Directory, splitName);
        else
            foreach (var ext in Extensions) yield return Path.Combine(Directory, splitName + ext);
    }
}
