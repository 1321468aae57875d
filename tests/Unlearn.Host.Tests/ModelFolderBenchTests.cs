using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Models;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary><c>bench --model DIR</c> and the random model folder it benchmarks at scale.</summary>
public sealed class ModelFolderBenchTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static readonly string Tokenizer = Path.Combine(TestPaths.RepoRoot, "tests", "Unlearn.Text.Tests", "Fixtures", "sentencepiece", "bpe");

    private static TransformerConfig Small => TransformerConfig.Parse("""
        {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "intermediate_size": 96, "vocab_size": 1000, "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "tie_word_embeddings": false}
        """);

    [Fact]
    public void ARandomModelFolderHasBFloat16WeightsAndATokenizerTheToolLoads()
    {
        var dir = Path.Combine(_files.Dir, "random");
        ModelFolderBench.WriteRandomModel(dir, Small, Tokenizer, 3);
        var checkpoint = SafetensorsCheckpoint.Open(dir);
        Assert.All(checkpoint.Names, n => Assert.Equal("BF16", checkpoint.Find(n)!.DType));
        using var model = CausalLM.Load(dir);
        Assert.Equal(Small.HiddenSize, model.Config.HiddenSize);
        Unlearn.Text.ModelTokenizer.Load(dir);
        Assert.Equal(2048, ModelFolderBench.TinyLlama.HiddenSize);
        Assert.Equal(22, ModelFolderBench.TinyLlama.NumLayers);
        Assert.Equal(4, ModelFolderBench.TinyLlama.NumKeyValueHeads);
    }

    [Fact]
    public void BenchOfAModelFolderReportsLoadStepThroughputGemmRatioAndPeakMemory()
    {
        var dir = Path.Combine(_files.Dir, "model");
        ModelFolderBench.WriteRandomModel(dir, Small, Tokenizer, 3);
        var cache = Path.Combine(_files.Dir, "cache");
        JsonElement Bench(params string[] extra)
        {
            var result = ToolProcess.Run(cache, ["bench", "--model", dir, "--batch", "2", "--seq-len", "16", "--steps", "2", "--json", .. extra]);
            Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
            using var doc = JsonDocument.Parse(result.StdOut);
            return doc.RootElement.GetProperty("result").Clone();
        }
        var full = Bench("--optimizer", "adamw-bf16-state", "--gradient-checkpointing");
        foreach (var key in new[] { "LoadSeconds", "StepSeconds", "TokensPerSecond", "GemmGflops", "ModelGflops", "StepVsGemm", "PeakResidentGiB" })
            Assert.True(full.GetProperty(key).GetDouble() > 0, $"{key} should be positive");
        Assert.Equal(full.GetProperty("Parameters").GetInt64(), full.GetProperty("Trainable").GetInt64());
        var lora = Bench("--lora-rank", "2");
        // r = 2 on q_proj (64 -> 64) and v_proj (64 -> 32) of 2 layers.
        Assert.Equal(2 * (2 * 64 + 64 * 2 + 2 * 64 + 32 * 2), lora.GetProperty("Trainable").GetInt64());

        var bad = ToolProcess.Run(cache, "bench", "--model", dir, "--optimizer", "adam");
        Assert.Equal(ExitCodes.BadInput, bad.ExitCode);
        Assert.Contains("adamw-bf16-state", bad.StdErr);
        var noTokenizer = ToolProcess.Run(cache, "bench", "--make-random-model", Path.Combine(_files.Dir, "x"));
        Assert.Equal(ExitCodes.BadInput, noTokenizer.ExitCode);
        Assert.Contains("--tokenizer-from", noTokenizer.StdErr);
    }
}
