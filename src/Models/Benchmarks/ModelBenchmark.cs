using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Models.Benchmarks;

/// <summary>What <see cref="ModelBenchmark.Run"/> measured.</summary>
/// <param name="Parameters">Model parameter count.</param>
/// <param name="Batch">Sequences per step.</param>
/// <param name="SequenceLength">Tokens per sequence.</param>
/// <param name="Threads">Intra-op threads libtorch used.</param>
/// <param name="TrainingTokensPerSecond">Forward + backward + AdamW step, tokens per second (median step time).</param>
/// <param name="ForwardTokensPerSecond">Inference forward (no gradients), tokens per second (median pass time).</param>
/// <param name="GemmGflops">Square float32 matmul rate, GFLOP/s: the median matmul time, measured before and after the
/// model timings and averaged.</param>
/// <param name="ModelTrainingGflops">Model FLOPs of a training step (<see cref="ModelBenchmark.TrainingFlopsPerToken"/>)
/// times training tokens/s, GFLOP/s.</param>
/// <param name="EfficiencyVsGemm">ModelTrainingGflops / GemmGflops.</param>
/// <param name="TrainingFinalLoss">NLL at the last timed training (descent) step.</param>
/// <param name="AscentFirstWindowTokensPerSecond">Gradient ascent (negated loss): tokens/s over the first window of steps.</param>
/// <param name="AscentLastWindowTokensPerSecond">Gradient ascent: tokens/s over the last window of steps.</param>
/// <param name="AscentFinalLoss">The (positive) NLL at the last ascent step; large values mean near-zero probabilities.</param>
public sealed record ModelBenchmarkResult(
    long Parameters, int Batch, int SequenceLength, int Threads,
    double TrainingTokensPerSecond, double ForwardTokensPerSecond, double GemmGflops,
    double ModelTrainingGflops, double EfficiencyVsGemm, double TrainingFinalLoss,
    double AscentFirstWindowTokensPerSecond, double AscentLastWindowTokensPerSecond, double AscentFinalLoss)
{
    /// <summary>Last-window over first-window ascent throughput (below 1 means ascent slowed down, e.g. denormals).</summary>
    public double AscentThroughputRatio => AscentLastWindowTokensPerSecond / AscentFirstWindowTokensPerSecond;
}

/// <summary>Throughput of a model configuration on this machine: training and inference tokens/s, the machine's GEMM
/// rate for comparison, and whether throughput holds up late in a gradient-ascent run. Denormal flushing is the
/// caller's setting for the thread (the bench command turns it on unless asked not to).</summary>
public sealed class ModelBenchmark
{
    /// <summary>Width of the square matmul used to measure the GEMM rate.</summary>
    public int GemmSize { get; init; } = 1024;

    /// <summary>Learning rate of the AdamW steps (large enough that ascent drives probabilities toward zero).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Seed for weights and tokens.</summary>
    public int Seed { get; init; } = 0;

    /// <summary>Benchmarks <paramref name="cfg"/> with random tokens: <paramref name="steps"/> timed training steps
    /// (after one warm-up), as many forward passes, and a gradient-ascent run of 2·<paramref name="steps"/> steps whose
    /// first and last quarters are compared.</summary>
    public ModelBenchmarkResult Run(TransformerConfig cfg, int batch, int seqLen, int steps, CancellationToken cancellationToken = default)
    {
        CheckShape(cfg, batch, seqLen, steps);
        var gemm = MeasureGemm();
        using var model = CausalLM.Create(cfg, Seed);
        using var generator = new Generator((ulong)Seed);
        using var ids = randint(cfg.VocabSize, [batch, seqLen], generator: generator);
        using var mask = ones_like(ids);
        var tokens = (double)batch * seqLen;

        using var optimizer = optim.AdamW(model.parameters(), LearningRate);
        var (training, trainingLoss) = MeasureTraining(model, optimizer, ids, mask, steps, cancellationToken);
        var sw = new Stopwatch();
        var stepTimes = new double[steps];

        model.eval();
        using (no_grad())
        {
            for (var i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                sw.Restart();
                model.Forward(ids, mask);
                stepTimes[i] = sw.Elapsed.TotalSeconds;
            }
        }
        var forward = tokens / Median(stepTimes);
        // The GEMM rate is measured on both sides of the model timings so a load change during the run shows
        // up in both numbers of the ratio rather than in one.
        gemm = (gemm + MeasureGemm()) / 2;

        model.train();
        var ascentSteps = Math.Max(4, 2 * steps);
        var window = Math.Max(1, ascentSteps / 4);
        var (times, loss) = TimedSteps(model, optimizer, ids, mask, ascentSteps, ascend: true, cancellationToken);
        var first = tokens * window / times.Take(window).Sum();
        var last = tokens * window / times.Skip(ascentSteps - window).Sum();
        var modelGflops = TrainingFlopsPerToken(cfg, seqLen) * training / 1e9;
        return new ModelBenchmarkResult(model.ParameterCount, batch, seqLen, get_num_threads(),
            training, forward, gemm, modelGflops, modelGflops / gemm, trainingLoss, first, last, loss);
    }

    /// <summary>Training tokens/s alone for <paramref name="cfg"/> on random tokens (one warm-up step, then the median of
    /// <paramref name="steps"/> steps): the figure a real training stage of the same shape is compared with.</summary>
    public double TrainingTokensPerSecond(TransformerConfig cfg, int batch, int seqLen, int steps, CancellationToken cancellationToken = default)
    {
        CheckShape(cfg, batch, seqLen, steps);
        using var model = CausalLM.Create(cfg, Seed);
        using var generator = new Generator((ulong)Seed);
        using var ids = randint(cfg.VocabSize, [batch, seqLen], generator: generator);
        using var mask = ones_like(ids);
        using var optimizer = optim.AdamW(model.parameters(), LearningRate);
        return MeasureTraining(model, optimizer, ids, mask, steps, cancellationToken).TokensPerSecond;
    }

    private static (double TokensPerSecond, double FinalLoss) MeasureTraining(CausalLM model, optim.Optimizer optimizer, Tensor ids, Tensor mask, int steps, CancellationToken cancellationToken)
    {
        model.train();
        TrainStep(model, optimizer, ids, mask, ascend: false); // warm-up
        var (stepTimes, loss) = TimedSteps(model, optimizer, ids, mask, steps, ascend: false, cancellationToken);
        return (ids.numel() / Median(stepTimes), loss);
    }

    private static (double[] Seconds, double LastLoss) TimedSteps(CausalLM model, optim.Optimizer optimizer, Tensor ids, Tensor mask, int count, bool ascend, CancellationToken cancellationToken)
    {
        var sw = new Stopwatch();
        var seconds = new double[count];
        double loss = 0;
        for (var i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            sw.Restart();
            loss = TrainStep(model, optimizer, ids, mask, ascend);
            seconds[i] = sw.Elapsed.TotalSeconds;
        }
        return (seconds, loss);
    }

    private static void CheckShape(TransformerConfig cfg, int batch, int seqLen, int steps)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be > 0");
        if (seqLen <= 1 || seqLen > cfg.MaxPositions) throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, $"seqLen must be in 2..{cfg.MaxPositions}");
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be > 0");
    }

    /// <summary>Model FLOPs per token of one training step (forward + backward) at <paramref name="sequenceLength"/>,
    /// counted the way model-FLOPs utilisation is usually reported (PaLM, appendix B): 6 · N + 12 · L · A · T, where N
    /// counts the weights that take part in a matrix multiply (projections, MLP and the output head; not the input
    /// embedding lookup, norms or biases), L is the number of layers, A = heads · head dim and T the sequence length
    /// (the attention score and value products, counted over the full T × T square).</summary>
    public static double TrainingFlopsPerToken(TransformerConfig cfg, int sequenceLength)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        double d = cfg.HiddenSize, m = cfg.IntermediateSize;
        double a = (double)cfg.NumHeads * cfg.HeadDim;
        double kv = (double)cfg.NumKeyValueHeads * cfg.HeadDim;
        var attention = cfg.Family == ArchitectureFamily.Gpt2 ? 4 * d * d : d * a + 2 * d * kv + a * d;
        var mlpMatrices = cfg.Family == ArchitectureFamily.Llama ? 3 : 2;
        var matmulWeights = cfg.NumLayers * (attention + mlpMatrices * d * m) + d * cfg.VocabSize;
        return 6 * matmulWeights + 12.0 * cfg.NumLayers * a * sequenceLength;
    }

    /// <summary>One optimiser step on the mean token NLL (negated when <paramref name="ascend"/>); returns the NLL.</summary>
    private static double TrainStep(CausalLM model, optim.Optimizer optimizer, Tensor ids, Tensor mask, bool ascend)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var logits = model.Forward(ids, mask).Logits;
        var t = ids.shape[1];
        var nll = nn.functional.cross_entropy(logits.narrow(1, 0, t - 1).reshape(-1, logits.shape[^1]), ids.narrow(1, 1, t - 1).reshape(-1));
        (ascend ? -nll : nll).backward();
        optimizer.step();
        return nll.item<float>();
    }

    /// <summary>The machine's float32 GEMM rate, GFLOP/s: the median time of a <see cref="GemmSize"/> square matmul.</summary>
    public double MeasureGemm()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)Seed);
        var a = randn([GemmSize, GemmSize], generator: generator);
        var b = randn([GemmSize, GemmSize], generator: generator);
        matmul(a, b).Dispose(); // warm-up
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        var sw = new Stopwatch();
        while (times.Count < 5 || total.Elapsed.TotalSeconds < 0.5)
        {
            sw.Restart();
            matmul(a, b).Dispose();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        return 2.0 * GemmSize * GemmSize * GemmSize / Median(times) / 1e9;
    }

    /// <summary>Median of per-step times: one step slowed by another process on a shared machine does not move it.</summary>
    public static double Median(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
