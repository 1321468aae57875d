using System.Globalization;

namespace Unlearn.Host.Reporting;

/// <summary>A run's output folder: <c>runs/&lt;pipeline-name&gt;/&lt;timestamp&gt;</c>. Created exclusively; every file is
/// written through a temporary file and a rename, and an existing file is never replaced.</summary>
public sealed class RunFolder
{
    private RunFolder(string path) { Path = path; }

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
                return new RunFolder(candidate);
            }
            catch (IOException) when (Directory.Exists(candidate)) { }
        }
    }

    /// <summary>Opens an existing run folder (for --resume).</summary>
    public static RunFolder Open(string path)
    {
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"run folder '{path}' does not exist.");
        return new RunFolder(System.IO.Path.GetFullPath(path));
    }

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

    /// <summary>Writes a new file atomically with a stream callback.</summary>
    public void Write(string relative, Action<Stream> write)
    {
        var target = File(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        if (System.IO.File.Exists(target)) throw new IOException($"{target} already exists; run folders are never overwritten.");
        var temp = target + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        using (var stream = System.IO.File.Create(temp)) write(stream);
        System.IO.File.Move(temp, target, overwrite: false);
    }
}
