using TorchSharp;
using TorchSharp.Modules;
using Unlearn.Training;
using static TorchSharp.torch;

namespace Unlearn.Training.Tests;

public class OptimizerTests
{
    private static TrainerSettings Settings(OptimizerKind optimizer, int steps, double weightDecay = 0) => new()
    {
        Lr = 0.1, Epochs = 1, BatchSize = 1, WarmupSteps = 0, Schedule = LearningRateSchedule.Constant,
        WeightDecay = weightDecay, MaxGradNorm = 0, MaxSteps = steps, Optimizer = optimizer,
    };

    [Fact]
    public void SgdStepsMatchHandComputationWithDecoupledDecayOnMatricesOnly()
    {
        var matrix = new Parameter(tensor(new[] { 1f, -2f }).reshape(1, 2), requires_grad: true);
        var vector = new Parameter(tensor(new[] { 0.5f }), requires_grad: true);
        using var loop = new TrainingLoop([matrix, vector], Settings(OptimizerKind.Sgd, 2, weightDecay: 0.5), 2, 0);
        // loss = sum((matrix - 3)^2) + sum(vector^2): gradients 2(matrix - 3) and 2·vector.
        loop.Run((_, _) => new StepLoss((matrix - 3).pow(2).sum() + vector.pow(2).sum(), new Dictionary<string, double>(), 1), null, CancellationToken.None);
        double[] m = [1, -2];
        double v = 0.5;
        for (var t = 0; t < 2; t++)
        {
            for (var i = 0; i < 2; i++) m[i] = m[i] * (1 - 0.1 * 0.5) - 0.1 * 2 * (m[i] - 3);
            v -= 0.1 * 2 * v;
        }
        var got = matrix.data<float>().ToArray();
        Assert.Equal(m[0], got[0], 5);
        Assert.Equal(m[1], got[1], 5);
        Assert.Equal(v, vector.item<float>(), 6);
    }

    [Theory]
    [InlineData(OptimizerKind.Adamw)]
    [InlineData(OptimizerKind.AdamwBf16State)]
    public void AdamWStepsMatchHandComputationWithDecoupledDecayOnMatricesOnly(OptimizerKind kind)
    {
        // Three steps of AdamW (lr 0.1, betas 0.9/0.999, eps 1e-8, weight decay 0.5 on the matrix only) on
        // loss = sum((matrix - 3)^2) + sum(vector^2), computed here in double; with bf16 state the stored moments are
        // rounded to bfloat16 after every step (torch's rounding) while each step's update uses the unrounded ones.
        var matrix = new Parameter(tensor(new[] { 1f, -2f, 0.25f }).reshape(1, 3), requires_grad: true);
        var vector = new Parameter(tensor(new[] { 0.5f }), requires_grad: true);
        using var loop = new TrainingLoop([matrix, vector], Settings(kind, 3, weightDecay: 0.5), 3, 0);
        loop.Run((_, _) => new StepLoss((matrix - 3).pow(2).sum() + vector.pow(2).sum(), new Dictionary<string, double>(), 1), null, CancellationToken.None);
        var bf16 = kind == OptimizerKind.AdamwBf16State;
        double Stored(double x) => bf16 ? tensor((float)x).to_type(ScalarType.BFloat16).to_type(ScalarType.Float32).item<float>() : x;
        double[] w = [1, -2, 0.25, 0.5];
        var (m, v) = (new double[4], new double[4]);
        for (var t = 1; t <= 3; t++)
        {
            for (var i = 0; i < 4; i++)
            {
                var matrixEntry = i < 3;
                var g = matrixEntry ? 2 * (w[i] - 3) : 2 * w[i];
                var mt = 0.9 * m[i] + 0.1 * g;
                var vt = 0.999 * v[i] + 0.001 * g * g;
                if (matrixEntry) w[i] *= 1 - 0.1 * 0.5;
                w[i] -= 0.1 / (1 - Math.Pow(0.9, t)) * mt / (Math.Sqrt(vt / (1 - Math.Pow(0.999, t))) + 1e-8);
                (m[i], v[i]) = (Stored(mt), Stored(vt));
            }
        }
        var got = matrix.data<float>().ToArray().Append(vector.item<float>()).ToArray();
        for (var i = 0; i < 4; i++) Assert.Equal(w[i], got[i], 5);
    }

    [Fact]
    public void AdamWWithBFloat16StateStaysCloseToFloat32AdamWAndKeepsItsStateInBFloat16()
    {
        manual_seed(5);
        var start = randn(16, 32);
        var target = randn(16, 32);
        var fp32 = new Parameter(start.clone(), requires_grad: true);
        var bf16 = new Parameter(start.clone(), requires_grad: true);
        Func<int, int, StepLoss> Loss(Parameter p) => (_, _) => new StepLoss((p - target).pow(2).mean(), new Dictionary<string, double>(), 1);
        using (var loop = new TrainingLoop([fp32], Settings(OptimizerKind.Adamw, 20, 0.01), 20, 0)) loop.Run(Loss(fp32), null, CancellationToken.None);
        using (var loop = new TrainingLoop([bf16], Settings(OptimizerKind.AdamwBf16State, 20, 0.01), 20, 0)) loop.Run(Loss(bf16), null, CancellationToken.None);
        using var scope = NewDisposeScope();
        var moved = (fp32 - start).abs().mean().item<float>();
        var apart = (fp32 - bf16).abs().max().item<float>();
        Assert.True(moved > 1.0, $"20 steps of lr 0.1 should move the weights (moved {moved})");
        Assert.True(apart < 0.02 * moved, $"bf16-state AdamW is {apart} from fp32 AdamW after moving {moved}");
        Assert.True(apart > 0, "bf16 state should round the moments");
        Assert.Equal(ScalarType.Float32, bf16.dtype);

        using var optimizer = IOptimizer.Create([bf16], Settings(OptimizerKind.AdamwBf16State, 1));
        Assert.All(optimizer.State(), s => Assert.Equal(ScalarType.BFloat16, s.Tensor.dtype));
        using var sgd = IOptimizer.Create([bf16], Settings(OptimizerKind.Sgd, 1));
        Assert.Empty(sgd.State());
    }

    [Fact]
    public void ABFloat16StateCheckpointResumesToTheSameWeights()
    {
        var dir = Path.Combine(Path.GetTempPath(), "unlearn-optimizer-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var settings = Settings(OptimizerKind.AdamwBf16State, 6);
            Func<int, int, StepLoss> Loss(Parameter p) => (step, _) => new StepLoss((p - step).pow(2).sum(), new Dictionary<string, double>(), 1);
            Parameter Start() => new(tensor(new[] { 1f, 2f }).reshape(1, 2), requires_grad: true);
            var straight = Start();
            using (var loop = new TrainingLoop([straight], settings, 6, 0)) loop.Run(Loss(straight), null, CancellationToken.None);
            var interrupted = Start();
            using (var cts = new CancellationTokenSource())
            using (var loop = new TrainingLoop([interrupted], settings, 6, 0))
                Assert.Throws<OperationCanceledException>(() => loop.Run(Loss(interrupted), new CancelAt(3, cts), cts.Token, dir));
            var resumed = Start();
            using (var loop = new TrainingLoop([resumed], settings, 6, 0)) loop.Run(Loss(resumed), null, CancellationToken.None, dir);
            Assert.True(straight.equal(resumed).all().item<bool>());
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    private sealed class CancelAt(int step, CancellationTokenSource cts) : ITrainingObserver
    {
        public void OnStep(TrainingLoop loop, StepReport report) { if (report.Step == step) cts.Cancel(); }
    }
}
