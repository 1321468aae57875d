using System.Globalization;

namespace Unlearn.Host.Reporting;

/// <summary>A run's output folder: <c>runs/&lt;pipeline-name&gt;/&lt;timestamp&gt;</c>. Created exclusively; every file is
/// written through a temporary file and a rename, and an existing file is never replaced. A folder is finished only when
/// its commit marker (<see cref="CommitMarker"/>) is written, last of all its files.</summary>
public sealed class RunFolder
{
    /// <summary>The file written last, listing the folder's files: a folder without it is unfinished (resumable).</summary>
    public const string CommitMarker = "complete.json";

    private readonly bool _keepExisting;

    private RunFolder(string path, bool keepExisting)
    {
        Path = path;
        _keepExisting = keepExisting;
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>Creates a new folder under <paramref name="root"/>/<paramref name="name"/> named by the time (with a
    /// numeric suffix when taken).</summary>
    public static RunFolder CreateNew(string root, string name, DateTime now)
    {
        var parent = System.IO.Path.Combine(root, name);
        Directory.CreateDirectory(parent);
        var stamp = now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        for (var i = 0; ; i++)
        {
            var candidate = System.IO.Path.Combine(parent, i == 0 ? stamp : $"{stamp}-{i}");
            if (Directory.Exists(candidate) || System.IO.File.Exists(candidate)) continue;
            try
            {
                // Creating a fresh folder with a unique temp name, then renaming, makes creation exclusive.
                var temp = candidate + ".creating-" + Guid.NewGuid().ToString("N")[..8];
                Directory.CreateDirectory(temp);
                Directory.Move(temp, candidate);
                return new RunFolder(candidate, keepExisting: false);
            }
            catch (IOException) when (Directory.Exists(candidate)) { }
        }
    }

    /// <summary>Opens an existing run folder to finish it (for --resume, and sweep runs' sub-folders). Files an earlier
    /// attempt finished are kept, not written again (each was written whole, from the same results); temporary files
    /// of writes that a crash cut short are removed. For a sweep folder (<paramref name="sweep"/>) only its own files and
    /// charts are cleaned: each point's sub-folder is cleaned by the process that runs that point, under the point's
    /// lock, since other processes may be writing into other points at the same time.</summary>
    public static RunFolder Open(string path, bool sweep = false)
    {
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"run folder '{path}' does not exist.");
        var folder = new RunFolder(System.IO.Path.GetFullPath(path), keepExisting: true);
        if (!folder.IsCommitted)
        {
            var temps = sweep
                ? Directory.EnumerateFiles(folder.Path, "*" + TempInfix + "*").Concat(Directory.Exists(folder.File("charts")) ? Directory.EnumerateFiles(folder.File("charts"), "*" + TempInfix + "*") : [])
                : Directory.EnumerateFiles(folder.Path, "*" + TempInfix + "*", SearchOption.AllDirectories);
            foreach (var temp in temps.ToList()) System.IO.File.Delete(temp);
        }
        return folder;
    }

    /// <summary>The lock file a process holds while it runs a sweep point in this folder (not a result file).</summary>
    public const string PointLock = "running.lock";

    /// <summary>True when the folder is finished: its commit marker is written.</summary>
    public bool IsCommitted => Has(CommitMarker);

    /// <summary>Finishes the folder: writes the commit marker, which lists every file the folder holds.</summary>
    public void Commit(DateTime finishedUtc)
    {
        var files = Directory.EnumerateFiles(Path, "*", SearchOption.AllDirectories)
            .Select(f => System.IO.Path.GetRelativePath(Path, f).Replace('\\', '/'))
            .Where(f => f != "run.log" && f != PointLock && !f.Contains('/', StringComparison.Ordinal) || f.StartsWith("charts/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => new { name = f, bytes = new FileInfo(File(f)).Length });
        Write(CommitMarker, System.Text.Json.JsonSerializer.Serialize(new
        {
            finished_utc = finishedUtc.ToString("o", CultureInfo.InvariantCulture),
            files,
        }, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    private const string TempInfix = ".tmp-";

    /// <summary>A path inside the folder.</summary>
    public string File(string relative) => System.IO.Path.Combine(Path, relative);

    /// <summary>True when the file exists.</summary>
    public bool Has(string relative) => System.IO.File.Exists(File(relative));

    /// <summary>Writes a new file atomically; throws when it already exists (nothing is ever overwritten).</summary>
    public void Write(string relative, string content) => Write(relative, stream =>
    {
        using var writer = new StreamWriter(stream, leaveOpen: true);
        writer.Write(content);
    });

    /// <summary>Writes a new file atomically with a stream callback. In a folder opened to finish it, a file that
    /// already exists is kept as it is.</summary>
    public void Write(string relative, Action<Stream> write)
    {
        var target = File(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        if (System.IO.File.Exists(target))
        {
            if (_keepExisting) return;
            throw new IOException($"{target} already exists; run folders are never overwritten.");
        }
        var temp = target + TempInfix + Guid.NewGuid().ToString("N")[..8];
        using (var stream = System.IO.File.Create(temp)) write(stream);
        System.IO.File.Move(temp, target, overwrite: false);
    }
}
