using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Host.Running.Executors;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>Sweep executors: points as separate processes on this machine (--executor local), the Slurm job array's
/// scripts (--executor slurm), their settings and errors, and <c>status</c>.</summary>
public sealed class ExecutorTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    // Every tool process gets one torch thread: several of them share this machine's cores.
    private static readonly Dictionary<string, string> OneThread = new() { ["OMP_NUM_THREADS"] = "1" };

    private string Sweep(string extra = "") => _files.Write("sweep.yaml",
        $"include: {HostTestPaths.Pipeline("tiny.yaml")}\ncalibrate:\n  options:\n    max_evaluations: 2\n{extra}sweep:\n  unlearn.trainer.lr: [3e-4, 1e-4]\n");

    private static string Folder(ToolResult result)
    {
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        return result.LastLine;
    }

    private static JsonElement Json(string file)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        return doc.RootElement.Clone();
    }

    private static bool Cached(string point, string stage) =>
        Json(Path.Combine(point, "manifest.json")).GetProperty("stages").EnumerateArray()
            .Single(s => s.GetProperty("stage").GetString() == stage).GetProperty("cached").GetBoolean();

    [Fact]
    public void LocalExecutorGivesTheSummariesOfTheSequentialRunAndBuildsSharedStagesOnce()
    {
        var pipeline = Sweep();
        // Each run has a cold cache of its own, so the parallel run computes every value itself.
        var sequential = Folder(ToolProcess.RunWithEnvironment(Path.Combine(_files.Dir, "cache-sequential"), OneThread,
            "run", pipeline, "--out", Path.Combine(_files.Dir, "sequential"), "--quiet"));
        var parallelRun = ToolProcess.RunWithEnvironment(Path.Combine(_files.Dir, "cache-local"), OneThread,
            "run", pipeline, "--out", Path.Combine(_files.Dir, "local"), "--executor", "local", "--jobs", "2");
        var parallel = Folder(parallelRun);

        foreach (var point in new[] { "lr-3e-4", "lr-1e-4" })
        {
            Assert.Contains($"sweep run unlearn.trainer.lr={point[3..]}: finished", parallelRun.StdErr);
            Assert.True(File.Exists(Path.Combine(parallel, point, "complete.json")), $"{point} did not finish\n{parallelRun}");
            Assert.True(File.Exists(Path.Combine(parallel, point, "run.log")), "each point process logs into its own folder");
            Assert.Equal(Json(Path.Combine(sequential, point, "summary.json")).GetProperty("metrics").GetRawText(),
                Json(Path.Combine(parallel, point, "summary.json")).GetProperty("metrics").GetRawText());
        }
        // The two points ran at once and met in the cache: the shared learn stages were built by one of them.
        foreach (var stage in new[] { "learn/base", "learn/target", "learn/retain" })
            Assert.Equal([false, true], new[] { "lr-3e-4", "lr-1e-4" }.Select(p => Cached(Path.Combine(parallel, p), stage)).Order());
        Assert.Single(Directory.EnumerateDirectories(Path.Combine(_files.Dir, "cache-local", "stages", "world")));

        // The parent wrote the comparison and committed the sweep folder, as the sequential run does.
        Assert.Contains("| ga |", File.ReadAllText(Path.Combine(parallel, "comparison.md")));
        Assert.True(File.Exists(Path.Combine(parallel, "complete.json")));
        Assert.DoesNotContain("running.lock", File.ReadAllText(Path.Combine(parallel, "lr-1e-4", "complete.json")));

        var status = new StringWriter();
        Assert.Equal(ExitCodes.Success, StatusCommand.Run(parallel, json: false, status));
        Assert.Contains("2 points: 2 finished; the sweep is finished", status.ToString());
    }

    [Fact]
    public void SlurmScriptOnlyWritesTheArrayAndComparisonJobsIntoTheSweepFolder()
    {
        var pipeline = Sweep("executor:\n  partition: cpu\n  mem: 4G\n  gres: gpu:1\n  sbatch: [--qos=short]\n  setup: [module load dotnet]\n");
        var result = ToolProcess.Run(Path.Combine(_files.Dir, "cache"), "run", pipeline, "--out", Path.Combine(_files.Dir, "runs"),
            "--executor", "slurm", "--slurm-script-only", "--jobs", "1", "--slurm-option", "partition=long", "--slurm-option", "time=1:30:00",
            "--slurm-option", "cpus-per-task=4");
        var sweep = Folder(result);
        Assert.Contains("not submitted (--slurm-script-only). Submit with: bash " + Path.Combine(sweep, "slurm", "submit.sh"), result.StdErr);
        var array = File.ReadAllText(Path.Combine(sweep, "slurm", "array.sbatch"));
        Assert.Contains("#SBATCH --array=0-1%1\n", array);
        Assert.Contains("#SBATCH --partition=long\n", array); // the command line over the pipeline
        Assert.Contains("#SBATCH --time=1:30:00\n#SBATCH --cpus-per-task=4\n#SBATCH --mem=4G\n#SBATCH --gres=gpu:1\n#SBATCH --qos=short\n", array);
        Assert.Contains($"#SBATCH --output={Path.Combine(sweep, "slurm")}/%A_%a.out\n", array);
        Assert.Contains("points=(lr-3e-4 lr-1e-4)\n", array);
        Assert.Contains($"export UNLEARN_CACHE={Path.Combine(_files.Dir, "cache")}\nmodule load dotnet\n", array);
        Assert.Matches(@"\nexec \S*dotnet\S* \S+dotnet-unlearn\.dll run --resume ""\$sweep"" --point ""\$\{points\[\$SLURM_ARRAY_TASK_ID\]\}""\n$", array);
        var finish = File.ReadAllText(Path.Combine(sweep, "slurm", "finish.sbatch"));
        Assert.Contains("#SBATCH --partition=long\n#SBATCH --cpus-per-task=1\n#SBATCH --qos=short\n", finish);
        Assert.DoesNotContain("gres", finish);
        Assert.EndsWith(" run --resume \"$sweep\" --finish\n", finish);
        var submit = File.ReadAllText(Path.Combine(sweep, "slurm", "submit.sh"));
        Assert.Contains("sbatch --parsable --dependency=\"afterany:$array\" \"$here/finish.sbatch\"", submit);
        // Nothing ran: the folder holds the sweep's pipeline and the scripts only.
        Assert.Contains("sweep:", File.ReadAllText(Path.Combine(sweep, "pipeline.yaml")));
        Assert.False(Directory.Exists(Path.Combine(sweep, "lr-3e-4")));
    }

    [Fact]
    public void ArraySpecFoldsIndicesIntoRangesWithTheThrottle()
    {
        Assert.Equal("0-3", SlurmScripts.ArraySpec([0, 1, 2, 3], 0));
        Assert.Equal("1,3-5,9%2", SlurmScripts.ArraySpec([9, 3, 4, 5, 1], 2));
        var job = new SlurmJob("/shared/runs/x/1", "x", ["a", "b c"], [1], 0, ExecutorSettings.None, "dotnet-unlearn", "/shared/cache");
        var array = SlurmScripts.Array(job);
        Assert.Contains("points=(a 'b c')\n", array);
        Assert.DoesNotContain("--partition", array); // the cluster's defaults when nothing is set
        Assert.Contains("\nexec dotnet-unlearn run --resume", array);
    }

    [Theory]
    [InlineData("--executor=lokal", "--executor: unknown executor 'lokal'. Did you mean 'local'? Valid: local, slurm.")]
    [InlineData("--jobs=0|--executor=local", "--jobs must be at least 1, got 0.")]
    [InlineData("--jobs=2", "--jobs sets how many sweep points run at once: give it with --executor local or --executor slurm.")]
    [InlineData("--slurm-option=partition=gpu", "--slurm-option is for --executor slurm.")]
    [InlineData("--executor=slurm|--slurm-script-only|--slurm-option=time=soon", "--slurm-option time: 'soon' is not a Slurm time limit")]
    [InlineData("--executor=slurm|--slurm-script-only|--slurm-option=mem=lots", "--slurm-option mem: 'lots' is not a Slurm memory size")]
    [InlineData("--executor=slurm|--slurm-script-only|--slurm-option=partiton=gpu", "unknown key 'partiton'. Did you mean 'partition'?")]
    [InlineData("--executor=slurm|--slurm-script-only|--slurm-option=sbatch=--array=0-9", "--array is set by the tool itself")]
    [InlineData("--executor=slurm|--slurm-script-only|--slurm-option=gpu", "--slurm-option 'gpu': expected KEY=VALUE")]
    [InlineData("--executor=slurm|--slurm-script-only|--set=executor.cpus_per_task=0", "executor.cpus_per_task: must be >= 1, got 0.")]
    [InlineData("--executor=slurm|--slurm-script-only|--set=executor.gpus=1", "unknown key 'gpus'")]
    [InlineData("--point=lr-3e-4", "--point works on a sweep folder: give it with --resume SWEEPDIR.")]
    public void ExecutorSettingsThatDoNotFitAreBadInputBeforeAnyWork(string args, string message)
    {
        var outFolder = Path.Combine(_files.Dir, "runs");
        var result = ToolProcess.Run(Path.Combine(_files.Dir, "cache"), ["run", Sweep(), "--out", outFolder, .. args.Split('|')]);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains(message, result.StdErr);
        Assert.False(Directory.Exists(outFolder), "nothing is written for bad input");
    }

    [Fact]
    public void AnExecutorNeedsASweepAndSubmittingNeedsSbatch()
    {
        var cache = Path.Combine(_files.Dir, "cache");
        var plain = ToolProcess.Run(cache, "run", HostTestPaths.Pipeline("tiny.yaml"), "--out", Path.Combine(_files.Dir, "runs"), "--executor", "local");
        Assert.True(plain.ExitCode == ExitCodes.BadInput, plain.ToString());
        Assert.Contains("--executor local runs the points of a sweep, and this pipeline has no sweep: section", plain.StdErr);
        if (SlurmExecutor.FindOnPath("sbatch") != null) return; // the rest is about a machine without Slurm
        var slurm = ToolProcess.Run(cache, "run", Sweep(), "--out", Path.Combine(_files.Dir, "runs"), "--executor", "slurm");
        Assert.True(slurm.ExitCode == ExitCodes.BadInput, slurm.ToString());
        Assert.Contains("sbatch is not on PATH", slurm.StdErr);
        Assert.Contains("--slurm-script-only", slurm.StdErr);
        Assert.False(Directory.Exists(Path.Combine(_files.Dir, "runs")));
    }

    [Fact]
    public void StatusTellsEachPointFromTheFolderAndFromSlurm()
    {
        var sweep = Path.Combine(_files.Dir, "sweep");
        Directory.CreateDirectory(sweep);
        File.WriteAllText(Path.Combine(sweep, "pipeline.yaml"), "name: s\nsweep:\n  unlearn.trainer.lr: [1, 2, 3, 4, 5, 6]\n");
        void Point(string name, params (string File, string Text)[] files)
        {
            Directory.CreateDirectory(Path.Combine(sweep, name));
            foreach (var (file, text) in files) File.WriteAllText(Path.Combine(sweep, name, file), text);
        }
        Point("lr-1", ("complete.json", "{}"), ("summary.json", "{\"failure\": null}"));
        Point("lr-2", ("run.log", "[10:00:00] learn/base: tiny model\n[10:00:05] sweep run unlearn.trainer.lr=2 failed: out of memory\n\n"), ("error.txt", "System.OutOfMemoryException"));
        Point("lr-3", ("run.log", "[10:00:00] learn/base: tiny model\n"));
        Point("lr-6", ("complete.json", "{}"), ("summary.json", "{\"failure\": \"unlearning diverged at step 3\"}"));
        Directory.CreateDirectory(Path.Combine(sweep, "slurm"));
        File.WriteAllText(Path.Combine(sweep, "slurm", "jobs.txt"), "7 8 2026-01-01T00:00:00Z\n");
        // squeue folds the pending tasks of an array; sacct has ended ones.
        var slurm = SlurmStates.Parse("7_3|RUNNING\n7_[4-5%2]|PENDING\n8|PENDING\n", "7_0|COMPLETED\n7_1|FAILED\n7_2|CANCELLED by 0\n");

        using (PointLock.TryTake(Path.Combine(sweep, "lr-3")))
        {
            Point("lr-4");
            var points = SweepStatus.Read(sweep, slurm).ToDictionary(p => p.Folder);
            Assert.Equal("finished", points["lr-1"].State);
            Assert.Equal("failed", points["lr-2"].State);
            Assert.Equal("[10:00:05] sweep run unlearn.trainer.lr=2 failed: out of memory", points["lr-2"].Detail);
            Assert.Equal("7_1 FAILED", points["lr-2"].Slurm);
            Assert.Equal("running", points["lr-3"].State); // its lock is held (by this test)
            Assert.Equal("running", points["lr-4"].State); // Slurm runs it; the tool has not locked it yet
            Assert.Equal(("queued", "7_4 PENDING"), (points["lr-5"].State, points["lr-5"].Slurm));
            Assert.Equal(("failed", "unlearning diverged at step 3"), (points["lr-6"].State, points["lr-6"].Detail));
        }
        // Without its process the half-run point failed: it stopped before it finished.
        var after = SweepStatus.Read(sweep, SlurmStates.None).ToDictionary(p => p.Folder);
        Assert.Equal(("failed", "[10:00:00] learn/base: tiny model"), (after["lr-3"].State, after["lr-3"].Detail));
        Assert.Equal("queued", after["lr-4"].State);

        File.Delete(Path.Combine(sweep, "slurm", "jobs.txt")); // the command asks the real Slurm, if any, about its jobs
        var text = new StringWriter();
        Assert.Equal(ExitCodes.Success, StatusCommand.Run(sweep, json: false, text));
        Assert.Contains("6 points: 1 finished, 2 queued, 3 failed", text.ToString());
        Assert.Contains("  failed    unlearn.trainer.lr=2  [10:00:05] sweep run unlearn.trainer.lr=2 failed: out of memory", text.ToString());
    }
}
