using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Unlearn.Host.Running;

/// <summary>Content-addressed stage outputs: a stage's folder is named by a hash of everything it depends on,
/// built in a <c>.partial</c> folder (which keeps resumable checkpoints across interruptions) and renamed into place
/// only when complete, so a finished stage is reused by every later run and a crash never leaves a half stage.</summary>
public sealed class StageCache(string root)
{
    /// <summary>The cache folder.</summary>
    public string Root { get; } = root;

    /// <summary>A short stable hash of the given parts (JSON-serialised).</summary>
    public static string Key(params object?[] parts)
    {
        var json = JsonSerializer.Serialize(parts);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..20];
    }

    /// <summary>The folder of a finished stage, or null.</summary>
    public string? Find(string stage, string key)
    {
        var dir = Path.Combine(Root, stage, key);
        return Directory.Exists(dir) ? dir : null;
    }

    /// <summary>Returns the finished folder, building it with <paramref name="build"/> first when missing.
    /// <paramref name="build"/> receives the staging folder (which may hold a previous attempt's checkpoints).</summary>
    public (string Folder, bool Reused) GetOrBuild(string stage, string key, Action<string> build)
    {
        var final = Path.Combine(Root, stage, key);
        if (Directory.Exists(final)) return (final, true);
        var staging = final + ".partial";
        Directory.CreateDirectory(staging);
        build(staging);
        Directory.Move(staging, final);
        return (final, false);
    }
}
