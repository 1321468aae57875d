namespace Unlearn.Tests;

/// <summary>Locations the tests read: the repository root and the shared TOFU copy beside it.</summary>
public static class TestPaths
{
    /// <summary>The folder holding Unlearn.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The TOFU benchmark as JSON lines, in ../shared/tofu next to the repository (never copied into it).</summary>
    public static string TofuDir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "tofu"));

    /// <summary>A new empty temporary folder.</summary>
    public static string NewTempDir(string prefix = "unlearn-test")
    {
        var dir = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Unlearn.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Unlearn.sln not found above " + AppContext.BaseDirectory);
    }
}
