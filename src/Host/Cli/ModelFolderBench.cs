using System.Diagnostics;
using System.Globalization;
using Unlearn.Models;
using Unlearn.Models.Benchmarks;
using Unlearn.Training;
using static TorchSharp.torch;

namespace Unlearn.Host.Cli;

/// <summary>What <c>bench --model DIR</c> measured for one model folder and training setup.</summary>
/// <param name="Parameters">Model parameter count.</param>
/// <param name="Trainable">Values trained (all weights, or the LoRA adapters).</param>
/// <param name="LoadSeconds">Time to load the folder (header checks, conversion to float32).</param>
/// <param name="StepSeconds">Median time of a timed unlearning step (forward, backward, optimiser).</param>
/// <param name="TokensPerSecond">Tokens per step over the median step time.</param>
/// <param name="GemmGflops">The machine's GEMM rate in the same run (before and after the steps, averaged).</param>
/// <param name="ModelGflops">Model FLOPs of a full training step (6·N + attention) times tokens/s.</param>
/// <param name="StepVsGemm">Step time over the time a GEMM would take for the step's model FLOPs (1 = GEMM speed).</param>
/// <param name="PeakResidentGiB">Peak resident memory of the process, GiB.</param>
public sealed record ModelFolderBenchResult(long Parameters, long Trainable, double LoadSeconds, double StepSeconds, double TokensPerSecond,
    double GemmGflops, double ModelGflops, double StepVsGemm, double PeakResidentGiB);

/// <summary><c>bench --model DIR</c>: gradient ascent (the <c>ga</c> objective: the negated mean token NLL) on random
/// tokens with the host's training loop and a chosen optimiser, checkpointing and LoRA setting, so load time, step
/// time, throughput against the machine's GEMM and peak memory of a model folder are reproducible.</summary>
public static class ModelFolderBench
{
    /// <summary>Loads <paramref name="modelDir"/>, runs one warm-up and <paramref name="steps"/> timed steps.</summary>
    public static ModelFolderBenchResult Run(string modelDir, TrainerSettings settings, int loraRank, int batch, int seqLen, int steps, int seed, CancellationToken ct)
    {
        var benchmark = new ModelBenchmark { Seed = seed };
        var gemm = benchmark.MeasureGemm();
        var clock = Stopwatch.StartNew();
        using var model = CausalLM.Load(modelDir);
        var load = clock.Elapsed.TotalSeconds;
        if (seqLen > model.Config.MaxPositions) throw new ArgumentException($"--seq-len {seqLen} exceeds the model's {model.Config.MaxPositions} positions");
        using var adapter = loraRank > 0 ? LoraAdapter.Create(model, new LoraSettings(loraRank, 2 * loraRank, 0, ["q_proj", "v_proj"]), seed) : null;
        var trainable = adapter?.Parameters.ToList() ?? model.parameters().ToList();
        if (adapter != null) foreach (var p in model.parameters()) p.requires_grad = false;
        using var generator = new Generator((ulong)seed);
        using var ids = randint(model.Config.VocabSize, [batch, seqLen], generator: generator);
        model.train();
        model.GradientCheckpointing = settings.GradientCheckpointing;
        using var loop = new TrainingLoop(trainable, settings, steps + 1, 0);
        var result = loop.Run((_, _) =>
        {
            var logits = model.Forward(ids, ones_like(ids)).Logits;
            var nll = nn.functional.cross_entropy(logits.narrow(1, 0, seqLen - 1).reshape(-1, logits.shape[^1]), ids.narrow(1, 1, seqLen - 1).reshape(-1));
            return new StepLoss(-nll, new Dictionary<string, double>(), batch * seqLen);
        }, null, ct);
        gemm = (gemm + benchmark.MeasureGemm()) / 2;
        var step = ModelBenchmark.Median(result.History.Skip(1).Select(r => r.Seconds).ToList());
        var tokensPerSecond = batch * seqLen / step;
        var modelGflops = ModelBenchmark.TrainingFlopsPerToken(model.Config, seqLen) * tokensPerSecond / 1e9;
        return new ModelFolderBenchResult(model.ParameterCount, trainable.Sum(p => p.numel()), load, step, tokensPerSecond,
            gemm, modelGflops, gemm / modelGflops, Process.GetCurrentProcess().PeakWorkingSet64 / (double)(1L << 30));
    }

    /// <summary>The result as aligned lines.</summary>
    public static string ToTable(string modelDir, string setup, ModelFolderBenchResult r)
    {
        string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        var rows = new (string, string)[]
        {
            ("model", modelDir), ("setup", setup),
            ("parameters", F(r.Parameters / 1e6, "0.0") + " M"), ("trained values", F(r.Trainable / 1e6, "0.00") + " M"),
            ("load", F(r.LoadSeconds, "0.0") + " s"), ("step (median)", F(r.StepSeconds, "0.00") + " s"),
            ("tokens/s", F(r.TokensPerSecond, "0.0")), ("GEMM GFLOP/s", F(r.GemmGflops, "0.0")),
            ("model GFLOP/s", F(r.ModelGflops, "0.0")), ("step / GEMM time", F(r.StepVsGemm, "0.00") + " x"),
            ("peak RSS", F(r.PeakResidentGiB, "0.00") + " GiB"),
        };
        var width = rows.Max(x => x.Item1.Length);
        return string.Join(Environment.NewLine, rows.Select(x => x.Item1.PadRight(width) + "  " + x.Item2));
    }

    /// <summary>The TinyLlama shape (llama, hidden 2048, 22 layers, 32 heads / 4 KV heads, MLP 5632, vocab 32,000).</summary>
    public static TransformerConfig TinyLlama => TransformerConfig.Parse("""
        {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 2048, "num_hidden_layers": 22,
         "num_attention_heads": 32, "num_key_value_heads": 4, "intermediate_size": 5632, "vocab_size": 32000,
         "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
         "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "initializer_range": 0.02}
        """, "TinyLlama shape");

    /// <summary>Writes a random model of <paramref name="config"/> as a Hugging Face folder with BF16 weights, with the
    /// tokenizer files of <paramref name="tokenizerFrom"/> (any folder the tool reads a tokenizer from).</summary>
    public static void WriteRandomModel(string dir, TransformerConfig config, string tokenizerFrom, int seed)
    {
        Unlearn.Text.ModelTokenizer.Load(tokenizerFrom); // refuse a folder without a usable tokenizer before the slow part
        using var model = CausalLM.Create(config, seed);
        model.Save(dir, ScalarType.BFloat16);
        ModelFolder.CopyTokenizerFiles(tokenizerFrom, dir);
    }
}
