using Unlearn.Plugins;
using Unlearn.Plugins.Controls.Calibration;

namespace Unlearn.Controls.Tests;

public sealed class ModelMixingCalibratorTests
{
    private static CalibrationResult Calibrate(ScriptedCalibrationContext context, ModelMixingOptions? options = null) =>
        new ModelMixingCalibrator(options ?? new ModelMixingOptions()).Calibrate(context);

    [Fact]
    public void LinearMetric_VisitsTheHandComputedBisectionPath()
    {
        // M(α) = 1 − α, τ = 0.9: target 0.9, feasible for α ≤ 0.1. Bisection by hand:
        // 0.5 (0.5 no) 0.25 (no) 0.125 (0.875 no) 0.0625 (yes) 0.09375 (0.90625 yes) 0.109375 (no)
        // 0.1015625 (no) 0.09765625 (yes) 0.099609375 (yes) 0.1005859375 (no) -> width 2^-10 < 1e-3.
        var context = new ScriptedCalibrationContext(a => 1 - a, a => 0.5 - 0.5 * a);
        var result = Calibrate(context);

        double[] expected = [1, 0, 0.5, 0.25, 0.125, 0.0625, 0.09375, 0.109375, 0.1015625, 0.09765625, 0.099609375, 0.1005859375];
        Assert.Equal(expected, result.Curve.Select(p => p.Alpha));
        Assert.Equal(0.099609375, result.Alpha);
        Assert.Equal(1.0, result.OriginalValue);
        Assert.Equal(0.9, result.Target, 12);
        Assert.Equal(12, result.Evaluations);
        Assert.All(result.Curve, p => Assert.Equal(1 - p.Alpha, p.Retain, 12));
        Assert.All(result.Curve, p => Assert.Equal(0.5 - 0.5 * p.Alpha, p.Forget!.Value, 12));
        Assert.DoesNotContain(result.Curve, p => p.NonMonotone);
        Assert.Contains("0.099609", result.Note);
        // α = 1 is the unlearned model itself; every other α goes through the host's mixing model.
        Assert.Equal(expected.Skip(1), context.Mixes);
    }

    [Fact]
    public void QuadraticMetric_FindsLargestFeasibleAlphaWithinTolerance()
    {
        // M(α) = 0.8·(1 − α²), τ = 0.9: M ≥ 0.72 ⇔ α ≤ √0.1 = 0.316227766…
        var context = new ScriptedCalibrationContext(a => 0.8 * (1 - a * a), a => 0.3 * (1 - a));
        var result = Calibrate(context);
        var exact = Math.Sqrt(0.1);
        Assert.InRange(result.Alpha, exact - 1e-3, exact);
        Assert.Equal(0.72, result.Target, 12);
        Assert.True(result.Curve.Single(p => p.Alpha == result.Alpha).Retain >= result.Target);
        var above = result.Curve.Where(p => p.Alpha > result.Alpha).Min(p => p.Alpha);
        Assert.True(above - result.Alpha < 1e-3, "bracket must be narrower than the tolerance");
        Assert.InRange(result.Evaluations, 1, 12);
    }

    [Fact]
    public void UnlearnedModelMeetingTheBar_IsKeptWithAlphaOne()
    {
        var context = new ScriptedCalibrationContext(a => 1 - 0.05 * a, a => 0.2);
        var result = Calibrate(context);
        Assert.Equal(1.0, result.Alpha);
        Assert.Single(result.Curve);
        Assert.Equal(1, result.Evaluations);
        Assert.Equal(0.95, result.Curve[0].Retain, 12);
        Assert.Equal(0.2, result.Curve[0].Forget);
        Assert.Contains("already meets the bar", result.Note);
        Assert.Empty(context.Mixes);
        Assert.Equal(new CalibrationBar("es", "retain", "forget", 0.9), result.Bar);
    }

    [Fact]
    public void NonMonotoneDip_IsFlagged()
    {
        // M(α) = 1 − α except a dip at 0.0625 (0.5, below α = 0.125's 0.875): that point is flagged, no other.
        var context = new ScriptedCalibrationContext(a => a == 0.0625 ? 0.5 : 1 - a, a => 0.1);
        var result = Calibrate(context);
        Assert.Equal([0.0625], result.Curve.Where(p => p.NonMonotone).Select(p => p.Alpha));
        Assert.Contains("non-monotone", result.Note);
        Assert.InRange(result.Alpha, 0.0625 - 1e-3, 0.0625);
        Assert.Contains(context.Reports, r => r.Contains("non-monotone"));
    }

    [Fact]
    public void BumpAboveTheOriginal_IsFlagged()
    {
        // A larger α scoring higher than α = 0 beyond epsilon contradicts the ordering.
        var context = new ScriptedCalibrationContext(a => a == 0.5 ? 1.2 : 1 - a, a => 0.1);
        var result = Calibrate(context);
        var flagged = result.Curve.Where(p => p.NonMonotone).Select(p => p.Alpha).ToList();
        Assert.Equal([0.5], flagged);
    }

    [Fact]
    public void OriginalMissingItsOwnBar_ThrowsWithAClearMessage()
    {
        // θ_orig scores 1.0 when evaluated as the original but 0.5 at α = 0: a non-deterministic metric.
        var context = new ScriptedCalibrationContext(a => 0.5 - 0.5 * a, a => 0.1, originalValue: 1.0);
        var e = Assert.Throws<CalibrationException>(() => Calibrate(context));
        Assert.Contains("not met by the original itself", e.Message);
        Assert.Contains("non-deterministic", e.Message);
        Assert.Contains("es", e.Message);
    }

    [Fact]
    public void NaNOriginal_Throws()
    {
        var context = new ScriptedCalibrationContext(a => double.NaN, a => 0.1);
        var e = Assert.Throws<CalibrationException>(() => Calibrate(context));
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void EvaluationBudget_IsNeverExceeded()
    {
        // M(α) = 1 − 0.15α, τ = 0.9: feasible for α ≤ 2/3. Budget 5: 1 (no), 0 (yes), 0.5 (yes), 0.75 (no), 0.625 (yes).
        var options = new ModelMixingOptions { MaxEvaluations = 5 };
        var context = new ScriptedCalibrationContext(a => 1 - 0.15 * a, a => 0.1);
        var result = Calibrate(context, options);
        Assert.Equal([1, 0, 0.5, 0.75, 0.625], result.Curve.Select(p => p.Alpha));
        Assert.Equal(0.625, result.Alpha);
        Assert.Equal(5, result.Evaluations);
        Assert.Equal(5, context.Evaluations.Count(e => e.Split == "retain" && !e.IsOriginal));
        Assert.Contains("budget", result.Note);
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(0.7)]
    [InlineData(0.999)]
    [InlineData(0.0004)]
    public void DefaultBudget_HoldsForAnyCrossingPoint(double crossing)
    {
        // Retain falls linearly from 1 to 0.9 at the crossing α, then keeps falling.
        var context = new ScriptedCalibrationContext(a => 1 - 0.1 * a / crossing - 1e-9, a => 0.1);
        var result = Calibrate(context);
        Assert.True(result.Evaluations <= 12);
        Assert.Equal(result.Curve.Count, result.Evaluations);
        Assert.InRange(result.Alpha, Math.Max(0, crossing - 1e-3), crossing);
    }

    [Fact]
    public void TinyCrossing_ReturnsTheOriginalModel()
    {
        var context = new ScriptedCalibrationContext(a => a < 1e-4 ? 1 : 0.5, a => 0.1);
        var result = Calibrate(context);
        Assert.Equal(0.0, result.Alpha);
        Assert.Contains("original model", result.Note);
    }

    [Fact]
    public void EmptyForgetSplit_SkipsForgetEvaluations_AndProbeSizeIsPassedOn()
    {
        var options = new ModelMixingOptions { ForgetSplit = "", ProbeSize = 16, Metric = "em" };
        var context = new ScriptedCalibrationContext(a => 1 - a);
        var result = Calibrate(context, options);
        Assert.All(result.Curve, p => Assert.Null(p.Forget));
        Assert.All(context.Evaluations, e => Assert.Equal(("em", "retain", (int?)16), (e.Metric, e.Split, e.MaxItems)));
        Assert.Single(context.Evaluations, e => e.IsOriginal);
        // The result says what was measured: no forget split recorded.
        Assert.Equal(new CalibrationBar("em", "retain", null, 0.9), result.Bar);
    }

    [Fact]
    public void Cancellation_IsHonoured()
    {
        var context = new ScriptedCalibrationContext(a => 1 - a, a => 0.1);
        context.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Calibrate(context));
    }

    [Fact]
    public void Options_ValidateAndNameTheOption()
    {
        Assert.Empty(new ModelMixingOptions().Validate());
        var problems = new ModelMixingOptions { Tau = 1.5, Tolerance = 0, MaxEvaluations = 1, ProbeSize = 0, Metric = "" }.Validate().ToList();
        Assert.Contains(problems, p => p.StartsWith("tau must be in (0, 1], got 1.5"));
        Assert.Contains(problems, p => p.StartsWith("tolerance"));
        Assert.Contains(problems, p => p.StartsWith("max_evaluations must be >= 2, got 1"));
        Assert.Contains(problems, p => p.StartsWith("probe_size"));
        Assert.Contains(problems, p => p.StartsWith("metric"));
        Assert.Contains(new ModelMixingOptions { Tau = 0 }.Validate(), p => p.StartsWith("tau"));
        Assert.Throws<ArgumentException>(() => new ModelMixingCalibrator(new ModelMixingOptions { Tau = -1 }));
    }
}
