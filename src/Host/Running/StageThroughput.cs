using System.Globalization;
using Unlearn.Models;
using Unlearn.Models.Benchmarks;
using Unlearn.Training;

namespace Unlearn.Host.Running;

/// <summary>How fast a real training stage ran against what the machine can do: the model FLOP rate of its steps
/// (<see cref="ModelBenchmark.TrainingFlopsPerToken"/> at the stage's mean sequence length, times its real tokens/s)
/// next to a float32 GEMM rate measured in the same process right after the stage, and whether the stage slowed down
/// as it went. The GEMM takes two small matrices, so measuring it costs no memory next to the stage's model (a
/// re-run of training on a fresh model of the same shape would hold a second model and optimiser).</summary>
/// <param name="TokensPerSecond">Real (non-padding) tokens per second of the stage's steps.</param>
/// <param name="ModelGflops">The model FLOPs per second of the stage's steps, GFLOP/s.</param>
/// <param name="GemmGflops">The float32 GEMM rate measured after the stage, GFLOP/s.</param>
/// <param name="SequenceLength">The stage's mean sequence length in tokens, at which the FLOPs are counted.</param>
/// <param name="LateThroughputRatio">Tokens/s of the last quarter of steps over the first (see <see cref="TrainingResult.LateThroughputRatio"/>).</param>
public sealed record StageThroughput(double TokensPerSecond, double ModelGflops, double GemmGflops, int SequenceLength, double? LateThroughputRatio)
{
    /// <summary>The stage's step time over the time the GEMM rate implies for its FLOPs (1 = GEMM speed).</summary>
    public double StepOverGemm => ModelGflops > 0 ? GemmGflops / ModelGflops : double.NaN;

    /// <summary>Measures the GEMM rate for a finished stage.</summary>
    public static StageThroughput Measure(TransformerConfig config, TrainingResult result, double meanSequenceLength, int seed)
    {
        var timed = result.History.Where(r => r.Seconds > 0).ToList();
        var real = timed.Sum(r => r.Tokens) / Math.Max(1e-9, timed.Sum(r => r.Seconds));
        var length = Math.Clamp((int)Math.Round(meanSequenceLength), 2, config.MaxPositions);
        var model = ModelBenchmark.TrainingFlopsPerToken(config, length) * real / 1e9;
        var gemm = new ModelBenchmark { Seed = seed }.MeasureGemm();
        return new StageThroughput(real, model, gemm, length, result.LateThroughputRatio);
    }

    /// <summary>One log line.</summary>
    public string Describe(string label)
    {
        var late = LateThroughputRatio is { } r ? string.Create(CultureInfo.InvariantCulture, $"; last/first quarter of steps {r:F2}") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{label}: {TokensPerSecond:F0} tok/s of real tokens, {ModelGflops:F1} model GFLOP/s at {SequenceLength} tokens; GEMM {GemmGflops:F1} GFLOP/s: step time {StepOverGemm:F2}x the GEMM time of its FLOPs{late}");
    }
}
