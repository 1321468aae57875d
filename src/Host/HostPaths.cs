namespace Unlearn.Host;

/// <summary>Folders the tool uses outside run folders.</summary>
public static class HostPaths
{
    /// <summary>The cache root: <c>UNLEARN_CACHE</c>, else <c>$XDG_CACHE_HOME/dotnet-unlearn</c>, else
    /// <c>~/.cache/dotnet-unlearn</c>.</summary>
    public static string CacheRoot
    {
        get
        {
            var explicitRoot = Environment.GetEnvironmentVariable("UNLEARN_CACHE");
            if (!string.IsNullOrWhiteSpace(explicitRoot)) return Path.GetFullPath(explicitRoot);
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var baseDir = !string.IsNullOrWhiteSpace(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(baseDir, "dotnet-unlearn");
        }
    }
}
