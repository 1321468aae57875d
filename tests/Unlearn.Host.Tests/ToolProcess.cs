using System.Diagnostics;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>What a run of the built tool printed and returned.</summary>
public sealed record ToolResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>The last non-empty line of standard output (the run folder for <c>run</c>).</summary>
    public string LastLine => StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";

    /// <inheritdoc />
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>Runs the built <c>dotnet-unlearn</c> from the host's output folder (where its bundled plugins are), in
/// the repository root, with a private cache and no plugin path from the environment.</summary>
public static class ToolProcess
{
    /// <summary>Runs the tool with arguments; <paramref name="cache"/> becomes UNLEARN_CACHE.</summary>
    public static ToolResult Run(string cache, params string[] args)
    {
        var dll = Path.Combine(HostTestPaths.HostOutput, "dotnet-unlearn.dll");
        Assert.True(File.Exists(dll), $"the host is not built: {dll}");
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = TestPaths.RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["UNLEARN_CACHE"] = cache;
        start.Environment.Remove("UNLEARN_PLUGIN_PATH");
        start.Environment["UNLEARN_DEBUG"] = "1";
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("dotnet-unlearn " + string.Join(' ', args) + " did not finish in 4 minutes");
        }
        return new ToolResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        var current = Environment.ProcessPath;
        return current != null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
