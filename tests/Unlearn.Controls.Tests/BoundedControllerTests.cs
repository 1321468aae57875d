using Unlearn.Plugins.Controls.Bounded;

namespace Unlearn.Controls.Tests;

public sealed class BoundedControllerTests
{
    [Fact]
    public void DivergenceGuard_OnNaNLoss_StopsAndRestoresLastGood()
    {
        var ctx = new ScriptedControllerContext(20) { LossAt = s => s == 7 ? double.NaN : -s }
            .Run(new DivergenceGuardController(new DivergenceGuardOptions { Every = 5 }));
        Assert.Equal(7, ctx.Stop!.Value.Step);
        Assert.Equal(DivergenceGuardController.CheckpointTag, ctx.Stop.Value.Restore);
        Assert.Equal(5, ctx.KeptStep);
        Assert.Equal([0, 5], ctx.Saves.Select(s => s.Step));
        Assert.Contains("the loss is NaN", ctx.Stop.Value.Reason);
        Assert.Contains("after step 5", ctx.Stop.Value.Reason);
    }

    [Fact]
    public void DivergenceGuard_BeforeAnyPeriodicSave_RestoresTheStartingWeights()
    {
        var ctx = new ScriptedControllerContext(20) { GradientNormAt = s => s == 3 ? double.PositiveInfinity : 2.0 }
            .Run(new DivergenceGuardController(new DivergenceGuardOptions()));
        Assert.Equal(3, ctx.Stop!.Value.Step);
        Assert.Equal(0, ctx.KeptStep);
        Assert.Contains("gradient norm is Inf", ctx.Stop.Value.Reason);
    }

    [Fact]
    public void DivergenceGuard_LossBeyondBound_Stops()
    {
        var ctx = new ScriptedControllerContext(30) { LossAt = s => -4.0 * s }
            .Run(new DivergenceGuardController(new DivergenceGuardOptions { Every = 4, MaxAbsLoss = 50 }));
        Assert.Equal(13, ctx.Stop!.Value.Step); // |−52| > 50 first at step 13
        Assert.Equal(12, ctx.KeptStep);
        Assert.Contains("exceeds max_abs_loss 50", ctx.Stop.Value.Reason);
    }

    [Fact]
    public void DivergenceGuard_HealthyRun_NeverStops()
    {
        var ctx = new ScriptedControllerContext(10) { LossAt = s => -s }
            .Run(new DivergenceGuardController(new DivergenceGuardOptions { Every = 5, MaxAbsLoss = 100 }));
        Assert.Null(ctx.Stop);
        Assert.Equal([0, 5, 10], ctx.Saves.Select(s => s.Step));
    }

    [Fact]
    public void LearningRateBackoff_HalvesTheScaleBelowTheThreshold_DownToTheFloor()
    {
        // Original 0.8, fraction 0.95 → threshold 0.76.
        var retain = new Dictionary<int, double> { [2] = 0.80, [4] = 0.75, [6] = 0.70, [8] = 0.77, [10] = 0.5, [12] = 0.5 };
        var ctx = new ScriptedControllerContext(12) { Retain = retain }
            .Run(new LearningRateBackoffController(new LearningRateBackoffOptions { Every = 2, MinScale = 0.2 }));
        Assert.Equal(0.76, ctx.Recorded("lr_backoff.threshold").Single(), 12);
        Assert.Equal([1.0, 0.5, 0.25, 0.25, 0.2, 0.2], ctx.Recorded("lr_backoff.scale"));
        Assert.Equal(0.2, ctx.LearningRateScale);
        Assert.Equal([0.80, 0.75, 0.70, 0.77, 0.5, 0.5], ctx.Recorded("lr_backoff.retain"));
        Assert.Null(ctx.Stop);
    }

    [Fact]
    public void GradientCeiling_SetsTheCeiling_AndRecordsNorms()
    {
        double[] norms = [0.5, 3.0, 2.0, 4.0];
        var ctx = new ScriptedControllerContext(4) { GradientNormAt = s => norms[s - 1] }
            .Run(new GradientCeilingController(new GradientCeilingOptions { MaxNorm = 2.5 }));
        Assert.Equal(2.5, ctx.GradientNormCeiling);
        Assert.Equal(norms, ctx.Recorded("gradient_ceiling.norm"));
        Assert.Equal([0.5], ctx.Recorded("gradient_ceiling.clipped_fraction"));
    }

    [Fact]
    public void Options_Validate()
    {
        Assert.Contains("max_norm must be a finite number > 0, got 0", new GradientCeilingOptions { MaxNorm = 0 }.Validate());
        Assert.Contains(new DivergenceGuardOptions { MaxAbsLoss = -1 }.Validate(), p => p.StartsWith("max_abs_loss"));
        Assert.Contains("every must be >= 1, got 0", new DivergenceGuardOptions { Every = 0 }.Validate());
        var lr = new LearningRateBackoffOptions { Factor = 1, Fraction = 0, MinScale = 2 }.Validate().ToList();
        Assert.Contains("factor must be in (0, 1), got 1", lr);
        Assert.Contains("fraction must be in (0, 1], got 0", lr);
        Assert.Contains("min_scale must be in (0, 1], got 2", lr);
        Assert.Empty(new LearningRateBackoffOptions().Validate());
        Assert.Empty(new DivergenceGuardOptions().Validate());
        Assert.Empty(new GradientCeilingOptions().Validate());
    }
}
