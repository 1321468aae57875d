using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>A temporary folder for pipeline files, deleted with the test.</summary>
public sealed class TempFiles : IDisposable
{
    /// <summary>The folder.</summary>
    public string Dir { get; } = TestPaths.NewTempDir("unlearn-host-test");

    /// <summary>Writes a file (folders created) and returns its full path.</summary>
    public string Write(string name, string text)
    {
        var path = Path.Combine(Dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text.ReplaceLineEndings("\n"));
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); }
        catch (IOException) { /* a loaded plugin may still hold a file; the OS temp cleaner gets it */ }
        catch (UnauthorizedAccessException) { }
    }
}
