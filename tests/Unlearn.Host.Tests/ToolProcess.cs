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
        using var process = Process.Start(StartInfo(cache, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("dotnet-unlearn " + string.Join(' ', args) + " did not finish in 10 minutes");
        }
        return new ToolResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs the tool and sends it SIGTERM (what a scheduler or <c>kill</c> sends) as soon as a line of its
    /// standard error contains <paramref name="trigger"/>; returns what it printed and its exit code.</summary>
    public static ToolResult RunAndTerminate(string cache, string trigger, params string[] args)
    {
        var start = StartInfo(cache, args);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = new System.Text.StringBuilder();
        var signalled = false;
        string? line;
        while ((line = process.StandardError.ReadLine()) != null)
        {
            stderr.AppendLine(line);
            if (signalled || !line.Contains(trigger, StringComparison.Ordinal)) continue;
            signalled = true;
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("dotnet-unlearn " + string.Join(' ', args) + " did not stop in 10 minutes");
        }
        Assert.True(signalled, $"the tool never printed '{trigger}'\n{stderr}");
        return new ToolResult(process.ExitCode, stdout.Result, stderr.ToString());
    }

    private static ProcessStartInfo StartInfo(string cache, string[] args)
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
        return start;
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        var current = Environment.ProcessPath;
        return current != null && Path.GetFileNameWithoutExtension(current) == "dotnet" ? current : "dotnet";
    }
}
