using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Unlearn.Host.Running;

/// <summary>Content-addressed stage outputs: a stage's folder is named by a hash of everything it depends on,
/// built in a <c>.partial</c> folder (which keeps resumable checkpoints across interruptions) and renamed into place
/// only when complete, so a finished stage is reused by every later run and a crash never leaves a half stage.
/// A stage is built under an exclusive lock on <c>&lt;key&gt;.lock</c> beside it, held by one process at a time (on a
/// shared network filesystem too): a second run needing the same stage waits, says so, and then uses the finished
/// folder. The lock goes with the process that held it, so the <c>.partial</c> folder of a killed process is taken over
/// by the next run, which resumes its checkpoints.</summary>
/// <param name="root">The cache folder.</param>
/// <param name="notify">Told when a run waits for another process's stage.</param>
/// <param name="cancellation">Ends a wait (Ctrl-C, SIGTERM).</param>
public sealed class StageCache(string root, Action<string>? notify = null, CancellationToken cancellation = default)
{
    /// <summary>How often a waiting run tries the lock again.</summary>
    public static readonly TimeSpan LockRetry = TimeSpan.FromMilliseconds(500);

    /// <summary>The cache folder.</summary>
    public string Root { get; } = root;

    /// <summary>A short stable hash of the given parts (JSON-serialised).</summary>
    public static string Key(params object?[] parts)
    {
        var json = JsonSerializer.Serialize(parts);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..20];
    }

    /// <summary>Returns the finished folder, building it with <paramref name="build"/> first when missing.
    /// <paramref name="build"/> receives the staging folder (which may hold a previous attempt's checkpoints).</summary>
    public (string Folder, bool Reused) GetOrBuild(string stage, string key, Action<string> build)
    {
        var final = Path.Combine(Root, stage, key);
        if (Directory.Exists(final)) return (final, true);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        using var held = Lock(final + ".lock", $"{stage}/{key}");
        // Another process may have finished the stage while this one waited.
        if (Directory.Exists(final)) return (final, true);
        var staging = final + ".partial";
        Directory.CreateDirectory(staging);
        build(staging);
        Directory.Move(staging, final);
        return (final, false);
    }

    private FileStream Lock(string path, string stage)
    {
        var waiting = false;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            try
            {
                // FileShare.None takes an exclusive advisory lock (flock on Unix, which Linux maps to a POSIX lock on NFS).
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                if (!waiting) notify?.Invoke($"cache: waiting for stage {stage}, which another run is building (lock {path})");
                waiting = true;
                cancellation.WaitHandle.WaitOne(LockRetry);
            }
        }
    }
}
