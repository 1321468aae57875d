namespace Unlearn.Tests;

/// <summary>Locations the tests read: the repository root and the shared TOFU copy beside it.</summary>
public static class TestPaths
{
    /// <summary>The folder holding Unlearn.sln.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The TOFU benchmark as JSON lines, in ../shared/tofu next to the repository (never copied into it).</summary>
    public static string TofuDir => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "tofu"));

    /// <summary>The published Hugging Face tokenizer files (several MB each, not in the repository) that
    /// scripts/fixtures/fetch-hf-tokenizers.sh puts into <c>UNLEARN_HF_TOKENIZERS</c>, else
    /// <c>$XDG_CACHE_HOME/dotnet-unlearn/hf-tokenizers</c> or <c>~/.cache/dotnet-unlearn/hf-tokenizers</c>.</summary>
    public static string HfTokenizersDir =>
        Environment.GetEnvironmentVariable("UNLEARN_HF_TOKENIZERS") is { Length: > 0 } configured ? configured
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "dotnet-unlearn", "hf-tokenizers");

    /// <summary>A new empty temporary folder.</summary>
    public static string NewTempDir(string prefix = "unlearn-test")
    {
        var dir = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Copies every file under <paramref name="from"/> to the same place under <paramref name="to"/>.</summary>
    public static void CopyFolder(string from, string to)
    {
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Unlearn.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Unlearn.sln not found above " + AppContext.BaseDirectory);
    }
}
