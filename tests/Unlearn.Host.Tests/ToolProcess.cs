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
    public static ToolResult Run(string cache, params string[] args) => RunWithEnvironment(cache, new Dictionary<string, string>(), args);

    /// <summary>Runs the tool with arguments and extra environment variables (e.g. OMP_NUM_THREADS).</summary>
    public static ToolResult RunWithEnvironment(string cache, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = StartInfo(cache, args);
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start)!;
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

    /// <summary>Starts the tool without waiting for it; see <see cref="RunningTool"/>.</summary>
    public static RunningTool Start(string cache, params string[] args) => new(Process.Start(StartInfo(cache, args))!, args);

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

/// <summary>A started tool process: read its standard error up to a line, then signal it or wait for its end.</summary>
public sealed class RunningTool : IDisposable
{
    private readonly Process _process;
    private readonly string[] _args;
    private readonly Task<string> _stdout;
    private readonly System.Text.StringBuilder _stderr = new();

    internal RunningTool(Process process, string[] args)
    {
        _process = process;
        _args = args;
        _stdout = process.StandardOutput.ReadToEndAsync();
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Reads standard error until a line contains <paramref name="trigger"/>; fails when the tool ends first.</summary>
    public void WaitForLine(string trigger)
    {
        string? line;
        while ((line = _process.StandardError.ReadLine()) != null)
        {
            _stderr.AppendLine(line);
            if (line.Contains(trigger, StringComparison.Ordinal)) return;
        }
        Assert.Fail($"the tool ended without printing '{trigger}'\n{_stderr}");
    }

    /// <summary>Kills the process at once (SIGKILL: no handler runs, as when a node dies or memory runs out).</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Waits for the end and returns what the tool printed.</summary>
    public ToolResult Finish()
    {
        var rest = _process.StandardError.ReadToEndAsync();
        if (!_process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail("dotnet-unlearn " + string.Join(' ', _args) + " did not finish in 10 minutes");
        }
        return new ToolResult(_process.ExitCode, _stdout.Result, _stderr + rest.Result);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
