using System.Text.Json;
using System.Text.Json.Serialization;

namespace Unlearn.Training;

/// <summary>Files written whole or not at all: into a temporary file beside the target, then renamed over it, so a
/// crash or a full disk never leaves a truncated file that a later run would read.</summary>
public static class AtomicFile
{
    /// <summary>JSON for files the tool reads back: exact numbers, and non-finite values as the strings "NaN",
    /// "Infinity" and "-Infinity" (a diverged loss is a value to record, not an error).</summary>
    public static JsonSerializerOptions Json { get; } = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Writes text to <paramref name="path"/>, replacing it.</summary>
    public static void WriteAllText(string path, string text) => Replace(path, temp => File.WriteAllText(temp, text));

    /// <summary>Copies a file to <paramref name="target"/>, replacing it.</summary>
    public static void Copy(string source, string target) => Replace(target, temp => File.Copy(source, temp));

    private static void Replace(string path, Action<string> write)
    {
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            write(temp);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
