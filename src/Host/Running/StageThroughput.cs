using System.Globalization;
using Unlearn.Models;
using Unlearn.Models.Benchmarks;
using Unlearn.Training;

namespace Unlearn.Host.Running;

/// <summary>How fast a real training stage ran, next to the <c>bench</c> figure for the same shape (architecture,
/// vocabulary, micro-batch size and the stage's mean sequence length, random tokens, no padding) measured in the same
/// process right after the stage, and whether the stage slowed down as it went.</summary>
/// <param name="TokensPerSecond">Real (non-padding) tokens per second of the stage's steps.</param>
/// <param name="BenchTokensPerSecond">The benchmark's training tokens/s at the same shape.</param>
/// <param name="Batch">Micro-batch size of both.</param>
/// <param name="SequenceLength">The stage's mean sequence length in tokens, the benchmark's sequence length.</param>
/// <param name="LateThroughputRatio">Tokens/s of the last quarter of steps over the first (see <see cref="TrainingResult.LateThroughputRatio"/>).</param>
public sealed record StageThroughput(double TokensPerSecond, double BenchTokensPerSecond, int Batch, int SequenceLength, double? LateThroughputRatio)
{
    /// <summary>Timed benchmark steps (after one warm-up).</summary>
    public const int BenchSteps = 3;

    /// <summary>Real tokens/s over the benchmark's.</summary>
    public double VersusBench => BenchTokensPerSecond > 0 ? TokensPerSecond / BenchTokensPerSecond : double.NaN;

    /// <summary>Measures the benchmark for a finished stage.</summary>
    public static StageThroughput Measure(TransformerConfig config, TrainingResult result, int batchSize, double meanSequenceLength, int seed, CancellationToken cancellationToken)
    {
        var timed = result.History.Where(r => r.Seconds > 0).ToList();
        var real = timed.Sum(r => r.Tokens) / Math.Max(1e-9, timed.Sum(r => r.Seconds));
        var length = Math.Clamp((int)Math.Round(meanSequenceLength), 2, config.MaxPositions);
        var bench = new ModelBenchmark { Seed = seed }.TrainingTokensPerSecond(config, batchSize, length, BenchSteps, cancellationToken);
        return new StageThroughput(real, bench, batchSize, length, result.LateThroughputRatio);
    }

    /// <summary>One log line.</summary>
    public string Describe(string label)
    {
        var late = LateThroughputRatio is { } r ? string.Create(CultureInfo.InvariantCulture, $"; last/first quarter of steps {r:F2}") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"{label}: {TokensPerSecond:F0} tok/s of real tokens; bench at this shape (batch {Batch} x {SequenceLength}, random tokens): {BenchTokensPerSecond:F0} tok/s, ratio {VersusBench:F2}{late}");
    }
}
