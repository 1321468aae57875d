using Unlearn.Plugins.Controls.EarlyStopping;

namespace Unlearn.Controls.Tests;

public sealed class EarlyStoppingControllerTests
{
    // Original retain 0.8, τ = 0.9 → bar 0.72. Retain falls below the bar at step 25.
    private static readonly Dictionary<int, double> Retain = new() { [5] = 0.79, [10] = 0.76, [15] = 0.74, [20] = 0.73, [25] = 0.60, [30] = 0.5 };
    private static readonly Dictionary<int, double> Forget = new() { [5] = 0.70, [10] = 0.40, [15] = 0.45, [20] = 0.50, [25] = 0.10, [30] = 0.05 };

    private static ScriptedControllerContext Run(EarlyStoppingOptions options, int totalSteps = 40,
        Dictionary<int, double>? retain = null, Dictionary<int, double>? forget = null) =>
        new ScriptedControllerContext(totalSteps) { Retain = retain ?? Retain, Forget = forget ?? Forget }
            .Run(new EarlyStoppingController(options));

    [Fact]
    public void LastAboveBar_StopsBelowTheBar_AndRestoresTheLastCheckpointAboveIt()
    {
        var ctx = Run(new EarlyStoppingOptions());
        Assert.Equal(25, ctx.Stop!.Value.Step);
        Assert.Equal(EarlyStoppingController.LastAboveBarTag, ctx.Stop.Value.Restore);
        Assert.Equal(20, ctx.KeptStep);
        Assert.Contains("0.6 < 0.9 x M(original) = 0.72", ctx.Stop.Value.Reason);
        Assert.Contains("step 20", ctx.Stop.Value.Reason);
        Assert.Equal([5, 10, 15, 20, 25], ctx.EvaluationLog.Select(e => e.Step));
        Assert.All(ctx.EvaluationLog, e => Assert.Equal(("es", "retain", (int?)32), (e.Metric, e.Split, e.MaxItems)));
        Assert.Equal([0.79, 0.76, 0.74, 0.73, 0.60], ctx.Recorded("early_stopping.retain"));
        Assert.Equal(0.72, ctx.Recorded("early_stopping.bar").Single(), 12);
        Assert.Equal([25.0], ctx.Recorded("early_stopping.stop_step"));
    }

    [Fact]
    public void Best_WithForgetMetric_RestoresLowestForgetAboveTheBar()
    {
        var ctx = Run(new EarlyStoppingOptions { Keep = CheckpointSelection.Best, ForgetMetric = "es" });
        Assert.Equal(25, ctx.Stop!.Value.Step);
        Assert.Equal(EarlyStoppingController.BestTag, ctx.Stop.Value.Restore);
        Assert.Equal(10, ctx.KeptStep); // forget 0.40 is the lowest among steps 5..20 (step 25's 0.10 is below the bar)
        Assert.Equal([5, 10], ctx.Saves.Select(s => s.Step));
        Assert.Equal([0.70, 0.40, 0.45, 0.50, 0.10], ctx.Recorded("early_stopping.forget"));
    }

    [Fact]
    public void Best_WithoutForgetMetric_RestoresHighestRetain()
    {
        var ctx = Run(new EarlyStoppingOptions { Keep = CheckpointSelection.Best });
        Assert.Equal(25, ctx.Stop!.Value.Step);
        Assert.Equal(5, ctx.KeptStep);
    }

    [Fact]
    public void Last_StopsWithoutRestoring()
    {
        var ctx = Run(new EarlyStoppingOptions { Keep = CheckpointSelection.Last });
        Assert.Equal(25, ctx.Stop!.Value.Step);
        Assert.Null(ctx.Stop.Value.Restore);
        Assert.Empty(ctx.Saves);
        Assert.Contains("keep: last", ctx.Stop.Value.Reason);
    }

    [Fact]
    public void ForgetGoal_StopsKeepingTheCurrentWeights()
    {
        var ctx = Run(new EarlyStoppingOptions { ForgetMetric = "es", ForgetGoal = 0.42 });
        Assert.Equal(10, ctx.Stop!.Value.Step);
        Assert.Null(ctx.Stop.Value.Restore);
        Assert.Equal(10, ctx.KeptStep);
        Assert.Contains("forget goal reached", ctx.Stop.Value.Reason);
        Assert.All(ctx.EvaluationLog.Where(e => e.Split == "forget"), e => Assert.Equal("es", e.Metric));
    }

    [Fact]
    public void ForgetGoalReachedBelowTheRetainBar_RestoresInstead()
    {
        // At step 25 forget 0.10 meets a goal of 0.2, but retain 0.60 is below the bar: the bar wins.
        var ctx = Run(new EarlyStoppingOptions { ForgetMetric = "es", ForgetGoal = 0.2 });
        Assert.Equal(25, ctx.Stop!.Value.Step);
        Assert.Equal(20, ctx.KeptStep);
    }

    [Fact]
    public void NoCheckpointAboveTheBar_RestoresNothing_AndSaysSo()
    {
        var ctx = Run(new EarlyStoppingOptions(), retain: new() { [5] = 0.5 });
        Assert.Equal(5, ctx.Stop!.Value.Step);
        Assert.Null(ctx.Stop.Value.Restore);
        Assert.Contains("nothing is restored", ctx.Stop.Value.Reason);
    }

    [Fact]
    public void LastStep_IsEvaluated_AndBestIsRestoredAtTheEnd()
    {
        // 12 steps, every 5: evaluations at 5, 10 and the last step 12; all above the bar, forget lowest at step 5.
        var retain = new Dictionary<int, double> { [5] = 0.78, [10] = 0.77, [12] = 0.76 };
        var forget = new Dictionary<int, double> { [5] = 0.3, [10] = 0.5, [12] = 0.6 };
        var ctx = Run(new EarlyStoppingOptions { Keep = CheckpointSelection.Best, ForgetMetric = "es" }, 12, retain, forget);
        Assert.Equal([5, 10, 12], ctx.EvaluationLog.Where(e => e.Split == "retain").Select(e => e.Step));
        Assert.Equal(12, ctx.Stop!.Value.Step);
        Assert.Equal(5, ctx.KeptStep);
        Assert.Contains("training finished", ctx.Stop.Value.Reason);
    }

    [Fact]
    public void RunThatStaysAboveTheBar_IsNotStopped()
    {
        var retain = new Dictionary<int, double> { [5] = 0.78, [10] = 0.77, [12] = 0.76 };
        var ctx = Run(new EarlyStoppingOptions(), 12, retain);
        Assert.Null(ctx.Stop);
        Assert.Equal(12, ctx.Checkpoints[EarlyStoppingController.LastAboveBarTag]);
    }

    [Fact]
    public void Options_Validate()
    {
        Assert.Empty(new EarlyStoppingOptions().Validate());
        var problems = new EarlyStoppingOptions { Every = 0, Tau = 0, ProbeSize = -3, ForgetGoal = 0.1 }.Validate().ToList();
        Assert.Contains("every must be >= 1, got 0", problems);
        Assert.Contains("tau must be in (0, 1], got 0", problems);
        Assert.Contains(problems, p => p.StartsWith("probe_size"));
        Assert.Contains("forget_goal needs forget_metric to be set", problems);
        Assert.Throws<ArgumentException>(() => new EarlyStoppingController(new EarlyStoppingOptions { Every = -1 }));
    }
}
