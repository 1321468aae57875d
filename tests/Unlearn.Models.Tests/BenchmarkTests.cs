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
        Assert.Equal(6.0 * result.Parameters * result.TrainingTokensPerSecond / 1e9, result.ModelTrainingGflops, 9);
        Assert.Equal(result.ModelTrainingGflops / result.GemmGflops, result.EfficiencyVsGemm, 9);
        // Descent lowers the NLL below its random-init value ln(200); ascent must push it back up.
        Assert.True(result.TrainingFinalLoss < Math.Log(200), $"training NLL {result.TrainingFinalLoss}");
        Assert.True(result.AscentFinalLoss > result.TrainingFinalLoss, $"ascent NLL {result.AscentFinalLoss} vs {result.TrainingFinalLoss}");
    }

    [Fact]
    public void FlushDenormalTurnsSubnormalResultsIntoZeroOnThisThread()
    {
        if (!OperatingSystem.IsLinux()) return;
        const float subnormal = 1e-39f;
        Assert.True(DenormalControl.TrySetFlushDenormal(true));
        try
        {
            using var flushed = tensor(new[] { subnormal }) * 1.0f;
            Assert.Equal(0f, flushed.item<float>());
        }
        finally
        {
            Assert.True(DenormalControl.TrySetFlushDenormal(false));
        }
        using var kept = tensor(new[] { subnormal }) * 1.0f;
        Assert.Equal(subnormal, kept.item<float>());
    }
}
