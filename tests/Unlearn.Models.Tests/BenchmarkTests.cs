using Unlearn.Models;
using Unlearn.Models.Benchmarks;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class BenchmarkTests
{
    [Fact]
    public void BenchmarkReportsConsistentFiniteRates()
    {
        var cfg = TransformerConfig.BuiltIn("tiny", 200);
        var result = new ModelBenchmark { GemmSize = 128 }.Run(cfg, batch: 2, seqLen: 16, steps: 2);
        using var model = CausalLM.Create(cfg, 0);
        Assert.Equal(model.ParameterCount, result.Parameters);
        foreach (var v in new[] { result.TrainingTokensPerSecond, result.ForwardTokensPerSecond, result.GemmGflops,
                     result.AscentFirstWindowTokensPerSecond, result.AscentLastWindowTokensPerSecond })
            Assert.True(double.IsFinite(v) && v > 0);
        Assert.Equal(ModelBenchmark.TrainingFlopsPerToken(cfg, 16) * result.TrainingTokensPerSecond / 1e9, result.ModelTrainingGflops, 9);
        Assert.Equal(result.ModelTrainingGflops / result.GemmGflops, result.EfficiencyVsGemm, 9);
        // Descent lowers the NLL below its random-init value ln(200); ascent must push it back up.
        Assert.True(result.TrainingFinalLoss < Math.Log(200), $"training NLL {result.TrainingFinalLoss}");
        Assert.True(result.AscentFinalLoss > result.TrainingFinalLoss, $"ascent NLL {result.AscentFinalLoss} vs {result.TrainingFinalLoss}");
    }

    [Fact]
    public void TrainingFlopsPerTokenCountsMatmulWeightsAndAttention()
    {
        // tiny, vocab 200: d = 128, 4 layers, 4 heads of 32, MLP 384 (gated).
        // Per layer q, k, v, o: 4·128·128 = 65,536; MLP 3·128·384 = 147,456; head 128·200 = 25,600.
        // N = 4·212,992 + 25,600 = 877,568; 6·N = 5,265,408; attention 12·4·128·16 = 98,304.
        Assert.Equal(5_363_712.0, ModelBenchmark.TrainingFlopsPerToken(TransformerConfig.BuiltIn("tiny", 200), 16));
        // GPT-2 layout with d = 64, 2 layers, MLP 256, vocab 100, T = 8: per layer 4·64² + 2·64·256 = 49,152;
        // N = 98,304 + 6,400 = 104,704; 6·N = 628,224; attention 12·2·64·8 = 12,288.
        var gpt2 = TransformerConfig.BuiltIn("tiny", 100) with
        {
            ModelType = "gpt2", HiddenSize = 64, NumLayers = 2, NumHeads = 2, NumKeyValueHeads = 2, IntermediateSize = 256,
        };
        Assert.Equal(640_512.0, ModelBenchmark.TrainingFlopsPerToken(gpt2, 8));
    }
}
