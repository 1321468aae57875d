using Unlearn.Host.Reporting;

namespace Unlearn.Host.Running.Executors;

/// <summary>The lock a process holds on <c>running.lock</c> in a sweep point's sub-folder while it runs that point
/// (flock, like the stage cache's locks): two processes never run the same point, and <c>status</c> tells a running
/// point from one whose process died. The lock goes with the process that held it.</summary>
public static class PointLock
{
    /// <summary>Takes the lock of the point folder, or returns null when another process holds it. A few quick retries
    /// cover a <c>status</c> that looks at the lock at the same moment.</summary>
    public static FileStream? TryTake(string pointFolder)
    {
        var path = Path.Combine(pointFolder, RunFolder.PointLock);
        for (var attempt = 0; ; attempt++)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (File.Exists(path) && attempt < 5) { Thread.Sleep(200); }
            catch (IOException) when (File.Exists(path)) { return null; }
        }
    }

    /// <summary>True when a process holds the lock of the point folder now.</summary>
    public static bool IsHeld(string pointFolder)
    {
        var path = Path.Combine(pointFolder, RunFolder.PointLock);
        if (!File.Exists(path)) return false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (FileNotFoundException) { return false; }
        catch (IOException) { return true; }
    }
}
