using System.Diagnostics;
using System.Text.Json;
using Unlearn.Host.Cli;

namespace Unlearn.Host.Tests;

/// <summary>A test that needs a Slurm cluster that takes jobs (<c>scripts/slurm/local-cluster.sh start</c>; .ci/run
/// starts it): skipped, with the reason, where <c>sinfo</c> does not answer or reports no usable node.</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when there is no cluster here.</summary>
    public SlurmFactAttribute()
    {
        if (Unavailable() is { } reason) Skip = reason;
    }

    private static string? Unavailable()
    {
        try
        {
            using var sinfo = Process.Start(new ProcessStartInfo("sinfo", ["-h", "-o", "%T"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            var output = sinfo.StandardOutput.ReadToEndAsync();
            var errors = sinfo.StandardError.ReadToEndAsync();
            if (!sinfo.WaitForExit(TimeSpan.FromSeconds(20))) { sinfo.Kill(); return "no Slurm cluster: sinfo did not answer in 20 s (start one with scripts/slurm/local-cluster.sh start)"; }
            if (sinfo.ExitCode != 0) return $"no Slurm cluster: sinfo failed ({errors.Result.Trim()}); start one with scripts/slurm/local-cluster.sh start";
            var states = output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return states.Any(s => s.StartsWith("idle", StringComparison.Ordinal) || s.StartsWith("mix", StringComparison.Ordinal) || s.StartsWith("alloc", StringComparison.Ordinal))
                ? null : $"the Slurm cluster has no node that takes jobs (sinfo: {string.Join(", ", states)})";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "no Slurm cluster: sinfo is not installed (start one with scripts/slurm/local-cluster.sh start)";
        }
    }
}

/// <summary>A sweep submitted to a real Slurm cluster (the local single-node one in CI) with <c>--executor slurm</c>.</summary>
public sealed class SlurmEndToEndTests : IDisposable
{
    private readonly TempFiles _files = new();
    private string? _sweep;

    public void Dispose()
    {
        // Whatever happened, no job of this test stays in the queue.
        if (_sweep != null && File.Exists(Path.Combine(_sweep, "slurm", "jobs.txt")))
            foreach (var line in File.ReadAllLines(Path.Combine(_sweep, "slurm", "jobs.txt")))
                using (var cancel = Process.Start("scancel", line.Split(' ').Take(2))) cancel.WaitForExit();
        _files.Dispose();
    }

    [SlurmFact]
    public void FourPointSweepFinishesOnSlurmWithTheLearnStagesBuiltOnce()
    {
        var pipeline = _files.Write("sweep.yaml",
            $"include: {HostTestPaths.Pipeline("tiny.yaml")}\ncalibrate:\n  options:\n    max_evaluations: 2\nsweep:\n  unlearn.trainer.lr: [3e-4, 1e-4, 5e-5, 2e-4]\n");
        var cache = Path.Combine(_files.Dir, "cache");
        var submitted = ToolProcess.RunWithEnvironment(cache, new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" },
            "run", pipeline, "--out", Path.Combine(_files.Dir, "runs"), "--executor", "slurm", "--jobs", "2", "--slurm-option", "time=15:00");
        Assert.True(submitted.ExitCode == ExitCodes.Success, submitted.ToString());
        _sweep = submitted.LastLine;
        Assert.Contains("slurm: submitted: array job ", submitted.StdErr);

        // The comparison job commits the sweep folder once every array task ended; wait for it, bounded.
        var clock = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(_sweep, "complete.json")) && clock.Elapsed < TimeSpan.FromMinutes(12)) Thread.Sleep(2000);
        var logs = string.Join("\n", Directory.EnumerateFiles(Path.Combine(_sweep, "slurm"), "*.out").Select(f => $"--- {f}\n{File.ReadAllText(f)}"));
        Assert.True(File.Exists(Path.Combine(_sweep, "complete.json")), $"the sweep did not finish on Slurm in {clock.Elapsed}\n{logs}");

        var points = new[] { "lr-3e-4", "lr-1e-4", "lr-5e-5", "lr-2e-4" };
        foreach (var point in points)
            Assert.True(File.Exists(Path.Combine(_sweep, point, "complete.json")), $"{point} did not finish\n{logs}");
        // One array task built each shared learn stage; the others used it from the cache they share.
        foreach (var stage in new[] { "learn/base", "learn/target", "learn/retain" })
            Assert.Equal(1, points.Count(p => !Cached(Path.Combine(_sweep, p), stage)));
        var comparison = File.ReadAllText(Path.Combine(_sweep, "comparison.md"));
        Assert.StartsWith("# Comparison\n\n4 runs.", comparison.ReplaceLineEndings("\n"));
        foreach (var point in points) Assert.Contains($"| ga | unlearn.trainer.lr={point[3..]} | tiny-e2e/{point} |", comparison);
        Assert.True(File.Exists(Path.Combine(_sweep, "slurm", "array.sbatch")), "the batch script stays in the sweep folder");

        // The same sweep with --executor local --jobs 2 (a cold cache of its own) gives identical summaries.
        var local = ToolProcess.RunWithEnvironment(Path.Combine(_files.Dir, "cache-local"), new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" },
            "run", pipeline, "--out", Path.Combine(_files.Dir, "local"), "--executor", "local", "--jobs", "2");
        Assert.True(local.ExitCode == ExitCodes.Success, local.ToString());
        foreach (var point in points)
            Assert.Equal(Metrics(Path.Combine(_sweep, point)), Metrics(Path.Combine(local.LastLine, point)));
    }

    private static string Metrics(string point)
    {
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(point, "summary.json")));
        return summary.RootElement.GetProperty("metrics").GetRawText();
    }

    [SlurmFact]
    public void AKilledArrayTaskIsResubmittedAloneByResumeAndTheSweepFinishes()
    {
        var pipeline = _files.Write("sweep.yaml",
            $"include: {HostTestPaths.Pipeline("tiny.yaml")}\ncalibrate:\n  options:\n    max_evaluations: 2\nsweep:\n  unlearn.trainer.lr: [3e-4, 1e-4]\n");
        var cache = Path.Combine(_files.Dir, "cache");
        var oneThread = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = "1" };
        var submitted = ToolProcess.RunWithEnvironment(cache, oneThread, "run", pipeline, "--out", Path.Combine(_files.Dir, "runs"), "--executor", "slurm", "--jobs", "1");
        Assert.True(submitted.ExitCode == ExitCodes.Success, submitted.ToString());
        _sweep = submitted.LastLine;
        var (array, finish) = Jobs(_sweep);

        // Kill the first task (scancel sends SIGTERM) once it is training; the array goes on, then the comparison job.
        var log = Path.Combine(_sweep, "lr-3e-4", "run.log");
        Wait(() => File.Exists(log) && File.ReadAllText(log).Contains("learn/base: tiny model", StringComparison.Ordinal), "the first task never started training");
        using (var cancel = Process.Start("scancel", [$"{array}_0"])) cancel.WaitForExit();
        Wait(() => !Queued(array, finish), "the jobs did not leave the queue");
        Assert.False(File.Exists(Path.Combine(_sweep, "lr-3e-4", "complete.json")), "the killed point should not have finished");
        Assert.True(File.Exists(Path.Combine(_sweep, "lr-1e-4", "complete.json")), "the other point should have finished");
        Assert.False(File.Exists(Path.Combine(_sweep, "complete.json")));
        var status = new StringWriter();
        StatusCommand.Run(_sweep, json: false, status);
        Assert.Contains("2 points: 1 finished, 1 failed", status.ToString());

        // --resume with the executor submits only the killed point; the sweep finishes with both in its comparison.
        var resumed = ToolProcess.RunWithEnvironment(cache, oneThread, "run", "--resume", _sweep, "--executor", "slurm");
        Assert.True(resumed.ExitCode == ExitCodes.Success, resumed.ToString());
        Assert.Contains("#SBATCH --array=0\n", File.ReadAllText(Path.Combine(_sweep, "slurm", "array.sbatch")));
        Wait(() => File.Exists(Path.Combine(_sweep, "complete.json")), "the resumed sweep did not finish");
        Assert.True(File.Exists(Path.Combine(_sweep, "lr-3e-4", "complete.json")));
        Assert.StartsWith("# Comparison\n\n2 runs.", File.ReadAllText(Path.Combine(_sweep, "comparison.md")).ReplaceLineEndings("\n"));
    }

    private static (string Array, string Finish) Jobs(string sweep)
    {
        var words = File.ReadAllLines(Path.Combine(sweep, "slurm", "jobs.txt"))[^1].Split(' ');
        return (words[0], words[1]);
    }

    private static bool Queued(params string[] jobs)
    {
        using var squeue = Process.Start(new ProcessStartInfo("squeue", ["-h", "-o", "%i"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var ids = squeue.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        squeue.WaitForExit();
        return ids.Any(id => jobs.Any(j => id == j || id.StartsWith(j + "_", StringComparison.Ordinal)));
    }

    private void Wait(Func<bool> done, string failure)
    {
        var clock = Stopwatch.StartNew();
        while (!done())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(10))
            {
                var logs = string.Join("\n", Directory.EnumerateFiles(Path.Combine(_sweep!, "slurm"), "*.out").Select(f => $"--- {f}\n{File.ReadAllText(f)}"));
                Assert.Fail($"{failure} in {clock.Elapsed}\n{logs}");
            }
            Thread.Sleep(1000);
        }
    }

    private static bool Cached(string point, string stage)
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(point, "manifest.json")));
        return manifest.RootElement.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("stage").GetString() == stage).GetProperty("cached").GetBoolean();
    }
}
