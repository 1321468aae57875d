using TorchSharp;
using TorchSharp.Modules;
using Unlearn.Training;
using static TorchSharp.torch;

namespace Unlearn.Training.Tests;

public class TrainingLoopTests
{
    private static Parameter Scalar(float value) => new(tensor(new[] { value }), requires_grad: true);

    private static TrainerSettings Plain(double lr = 0.1, int totalSteps = 10) => new()
    {
        Lr = lr, Epochs = 1, BatchSize = 1, WarmupSteps = 0, Schedule = LearningRateSchedule.Constant,
        WeightDecay = 0, MaxGradNorm = 0, MaxSteps = totalSteps,
    };

    // Loss (w - 3)^2 -> gradient 2(w - 3).
    private static Func<int, int, StepLoss> Quadratic(Parameter w) =>
        (_, _) => new StepLoss((w - 3).pow(2).sum(), new Dictionary<string, double>(), 1);

    [Fact]
    public void AdamWFirstStepMatchesHandComputation()
    {
        var w = Scalar(1f);
        using var loop = new TrainingLoop([w], Plain(lr: 0.1, totalSteps: 1), 1, 0);
        loop.Run(Quadratic(w), null, CancellationToken.None);
        // g = -4; m = 0.1*g = -0.4; v = 0.001*16 = 0.016; m̂ = -4; v̂ = 16; update = -lr * m̂ / (sqrt(v̂) + eps) = +0.1
        Assert.Equal(1.1, w.item<float>(), 5);
    }

    [Fact]
    public void AdamWSecondStepAndDecoupledWeightDecayMatchHandComputation()
    {
        // Two steps on a matrix parameter (decay applies to dim > 1).
        var w = new Parameter(tensor(new[] { 1f }).reshape(1, 1), requires_grad: true);
        var settings = new TrainerSettings { Lr = 0.1, Epochs = 1, BatchSize = 1, WarmupSteps = 0, Schedule = LearningRateSchedule.Constant, WeightDecay = 0.5, MaxGradNorm = 0, MaxSteps = 2 };
        using var loop = new TrainingLoop([w], settings, 2, 0);
        loop.Run((_, _) => new StepLoss((w - 3).pow(2).sum(), new Dictionary<string, double>(), 1), null, CancellationToken.None);
        double p = 1, m = 0, v = 0;
        for (var t = 1; t <= 2; t++)
        {
            var g = 2 * (p - 3);
            m = 0.9 * m + 0.1 * g;
            v = 0.999 * v + 0.001 * g * g;
            p *= 1 - 0.1 * 0.5;
            p -= 0.1 * (m / (1 - Math.Pow(0.9, t))) / (Math.Sqrt(v / (1 - Math.Pow(0.999, t))) + 1e-8);
        }
        Assert.Equal(p, w.item<float>(), 5);
    }

    [Theory]
    [InlineData(LearningRateSchedule.Linear, 0, 0.25)]
    [InlineData(LearningRateSchedule.Linear, 3, 1.0)]
    [InlineData(LearningRateSchedule.Linear, 5, 0.833333)]
    [InlineData(LearningRateSchedule.Cosine, 3, 1.0)]
    [InlineData(LearningRateSchedule.Cosine, 6, 0.75)]
    [InlineData(LearningRateSchedule.Constant, 9, 1.0)]
    public void ScheduleWarmsUpThenDecays(LearningRateSchedule schedule, int step, double expected)
    {
        var s = new TrainerSettings { Lr = 1.0, Schedule = schedule };
        // total 10 steps, 4 warm-up steps: warm-up gives (step + 1) / 4; decay runs over the remaining 6.
        Assert.Equal(expected, s.LearningRateAt(step, 10, 4), 5);
    }

    [Fact]
    public void StepCountsFollowEpochsBatchAndAccumulation()
    {
        var s = new TrainerSettings { Epochs = 2.5, BatchSize = 4, GradientAccumulation = 2 };
        Assert.Equal(3, s.StepsPerEpoch(20)); // ceil(20 / 8)
        Assert.Equal(8, s.TotalSteps(20)); // ceil(3 * 2.5)
        Assert.Equal(3, s.WarmupStepCount(20)); // one epoch of warm-up by default
    }

    [Fact]
    public void ClippingScalesTheGradientToTheCeiling()
    {
        var w = Scalar(0f);
        var settings = new TrainerSettings { Lr = 0.1, Epochs = 1, BatchSize = 1, WarmupSteps = 0, Schedule = LearningRateSchedule.Constant, WeightDecay = 0, MaxGradNorm = 1.0, MaxSteps = 1 };
        using var loop = new TrainingLoop([w], settings, 1, 0);
        var result = loop.Run(Quadratic(w), null, CancellationToken.None);
        Assert.Equal(6.0, result.History[0].GradientNorm, 5); // |2(0 - 3)|, reported before clipping
    }

    [Fact]
    public void NonFiniteLossSkipsTheUpdate()
    {
        var w = Scalar(1f);
        using var loop = new TrainingLoop([w], Plain(totalSteps: 2), 2, 0);
        var result = loop.Run((step, _) => new StepLoss(step == 0 ? (w * float.NaN).sum() : (w - 3).pow(2).sum(), new Dictionary<string, double>(), 1), null, CancellationToken.None);
        Assert.True(result.History[0].Skipped);
        Assert.False(result.History[1].Skipped);
        Assert.Equal(1.1, w.item<float>(), 5); // only the second (first finite) step moved w, as a first AdamW step
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TermsAreBackPropagatedOneByOneToTheGradientOfTheirSum(bool sharedGraph)
    {
        // Separate graphs: (w-1)^2 + (w-5)^2, gradient 4w - 12 = -8 at w = 1. A shared node u = 2w: u^2 + 3u,
        // gradient 8w + 6 = 14 at w = 1 (the first term's backward must leave the shared part for the second).
        var w = Scalar(1f);
        using var loop = new TrainingLoop([w], Plain(totalSteps: 1), 1, 0);
        var result = loop.Run((_, _) =>
        {
            Tensor[] terms;
            if (sharedGraph) { var u = w * 2; terms = [u.pow(2).sum(), (u * 3).sum()]; }
            else terms = [(w - 1).pow(2).sum(), (w - 5).pow(2).sum()];
            // Loss is detached: back-propagating it instead of the terms would throw.
            return new StepLoss((terms[0] + terms[1]).detach(), new Dictionary<string, double>(), 1, terms);
        }, null, CancellationToken.None);
        Assert.Equal(sharedGraph ? 14.0 : 8.0, result.History[0].GradientNorm, 5);
        Assert.Equal(sharedGraph ? 10.0 : 16.0, result.History[0].Loss, 5);
    }

    [Fact]
    public void GradientAccumulationAveragesMicroBatches()
    {
        // Micro-batch losses (w-1)^2 and (w-5)^2 average to a gradient of 2(w - 3): same first step as Quadratic.
        var w = Scalar(1f);
        var settings = new TrainerSettings { Lr = 0.1, Epochs = 1, BatchSize = 1, GradientAccumulation = 2, WarmupSteps = 0, Schedule = LearningRateSchedule.Constant, WeightDecay = 0, MaxGradNorm = 0, MaxSteps = 1 };
        using var loop = new TrainingLoop([w], settings, 1, 0);
        var result = loop.Run((_, micro) => new StepLoss((w - (micro == 0 ? 1 : 5)).pow(2).sum(), new Dictionary<string, double>(), 1), null, CancellationToken.None);
        Assert.Equal(4.0, result.History[0].GradientNorm, 5);
        Assert.Equal(1.1, w.item<float>(), 5);
    }

    [Fact]
    public void ResumingFromACheckpointGivesTheSameWeightsAsAnUninterruptedRun()
    {
        var dir = Path.Combine(Path.GetTempPath(), "unlearn-trainer-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var settings = new TrainerSettings { Lr = 0.05, Epochs = 1, BatchSize = 1, WarmupSteps = 2, Schedule = LearningRateSchedule.Linear, WeightDecay = 0, MaxGradNorm = 0, MaxSteps = 10 };
            var straight = Scalar(1f);
            using (var loop = new TrainingLoop([straight], settings, 10, 2)) loop.Run(Quadratic(straight), null, CancellationToken.None);

            var resumed = Scalar(1f);
            using var cts = new CancellationTokenSource();
            using (var loop = new TrainingLoop([resumed], settings, 10, 2))
            {
                var observer = new StopAfter(4, cts);
                Assert.Throws<OperationCanceledException>(() => loop.Run(Quadratic(resumed), observer, cts.Token, dir));
            }
            var fresh = Scalar(1f);
            using (var loop = new TrainingLoop([fresh], settings, 10, 2))
            {
                var result = loop.Run(Quadratic(fresh), null, CancellationToken.None, dir);
                Assert.Equal(10, result.Steps);
                Assert.Equal(10, result.History.Count);
            }
            Assert.Equal(straight.item<float>(), fresh.item<float>());
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void CheckpointWithATruncatedHistoryIsStartedOverAndNonFiniteLossesAreWritten()
    {
        var dir = Path.Combine(Path.GetTempPath(), "unlearn-trainer-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            // A NaN loss at step 2 (skipped) must be recorded in the checkpoint's history, not fail the write.
            var w = Scalar(1f);
            using var cts = new CancellationTokenSource();
            Func<int, int, StepLoss> nanAtStep1 = (step, micro) => step == 1
                ? new StepLoss((w * float.NaN).sum(), new Dictionary<string, double>(), 1) : Quadratic(w)(step, micro);
            using (var loop = new TrainingLoop([w], Plain(totalSteps: 10), 10, 0))
                Assert.Throws<OperationCanceledException>(() => loop.Run(nanAtStep1, new StopAfter(4, cts), cts.Token, dir));
            var historyFile = Path.Combine(dir, "trainer-history.json");
            var history = File.ReadAllText(historyFile);
            Assert.Contains("\"NaN\"", history);
            Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp-*"));

            // Resuming reads the NaN back: the step stays skipped in the history.
            var resumedWeight = Scalar(1f);
            using (var loop = new TrainingLoop([resumedWeight], Plain(totalSteps: 10), 10, 0))
            {
                Assert.True(loop.TryResume(dir));
                Assert.Equal(4, loop.Step);
                Assert.True(loop.History[1].Skipped);
                Assert.True(double.IsNaN(loop.History[1].Loss));
            }

            // Cut short as a killed writer left it before writes were atomic: the checkpoint is not resumed (training
            // starts over) instead of failing every later run of the stage.
            File.WriteAllText(historyFile, history[..(history.Length / 2)]);
            var fresh = Scalar(1f);
            using (var loop = new TrainingLoop([fresh], Plain(totalSteps: 10), 10, 0))
            {
                Assert.False(loop.TryResume(dir));
                Assert.Equal(0, loop.Step);
                Assert.Equal(1f, fresh.item<float>());
            }
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void StopRequestRestoresTheNamedSnapshot()
    {
        var w = Scalar(1f);
        using var loop = new TrainingLoop([w], Plain(totalSteps: 10), 10, 0);
        float saved = 0;
        var observer = new Scripted((l, report) =>
        {
            if (report.Step == 2) { l.SaveSnapshot("good"); saved = w.item<float>(); }
            if (report.Step == 5) l.RequestStop("scripted", "good");
        });
        var result = loop.Run(Quadratic(w), observer, CancellationToken.None);
        Assert.Equal(5, result.Steps);
        Assert.Equal("scripted", result.StopReason);
        Assert.Equal(saved, w.item<float>());
    }

    private sealed class StopAfter(int steps, CancellationTokenSource cts) : ITrainingObserver
    {
        public void OnStep(TrainingLoop loop, StepReport report) { if (report.Step == steps) cts.Cancel(); }
    }

    private sealed class Scripted(Action<TrainingLoop, StepReport> onStep) : ITrainingObserver
    {
        public void OnStep(TrainingLoop loop, StepReport report) => onStep(loop, report);
    }

    [Fact]
    public void LateThroughputIsMeasuredInCpuTimeSoOtherProcessesDoNotReadAsASlowdown()
    {
        static StepReport Step(int i, double wall, double cpu) => new(i, 8, 1.0, 1.0, 1e-3, new Dictionary<string, double>(), 100, false, wall, cpu);
        // Wall time triples halfway (another process started) while the CPU work per step stays the same: no slowdown.
        var contended = new TrainingResult(8, null, null, Enumerable.Range(1, 8).Select(i => Step(i, i <= 4 ? 1.0 : 3.0, 0.5)).ToList(), 0);
        Assert.Equal(1.0, contended.LateThroughputRatio!.Value, 12);
        // CPU time per step doubles in the last quarter (denormal floats): ratio 0.5.
        var slowing = new TrainingResult(8, null, null, Enumerable.Range(1, 8).Select(i => Step(i, 1.0, i > 6 ? 1.0 : 0.5)).ToList(), 0);
        Assert.Equal(0.5, slowing.LateThroughputRatio!.Value, 12);
        // Without CPU times (an older history), wall time decides; fewer than 8 timed steps give no ratio.
        var wallOnly = new TrainingResult(8, null, null, Enumerable.Range(1, 8).Select(i => Step(i, i > 6 ? 2.0 : 1.0, 0)).ToList(), 0);
        Assert.Equal(0.5, wallOnly.LateThroughputRatio!.Value, 12);
        Assert.Null(new TrainingResult(7, null, null, Enumerable.Range(1, 7).Select(i => Step(i, 1, 1)).ToList(), 0).LateThroughputRatio);
    }
}
