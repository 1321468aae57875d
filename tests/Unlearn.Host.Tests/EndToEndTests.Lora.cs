using Unlearn.Host.Cli;
using Unlearn.Models;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

public sealed partial class EndToEndTests
{
    [Fact]
    public void LoraUnlearningTrainsOnlyAPeftAdapterThatCalibratesAndEvalMergesIntoItsBase()
    {
        var folder = Folder(fixture.Run("lora-runs", "--set", "unlearn.adapter.rank=4", "--set", "unlearn.adapter.target_modules=[q_proj, v_proj, down_proj]"));
        var models = Json(Path.Combine(folder, "manifest.json")).GetProperty("models");
        var (original, unlearned) = (models.GetProperty("original").GetString()!, models.GetProperty("unlearned").GetString()!);

        // The unlearned folder is a PEFT adapter: its config and A/B weights under PEFT's key names, no full weights.
        Assert.True(LoraAdapter.IsAdapterFolder(unlearned), $"{unlearned} has no {LoraAdapter.ConfigFile}");
        Assert.False(File.Exists(Path.Combine(unlearned, "model.safetensors")));
        var weights = SafetensorsFile.Open(Path.Combine(unlearned, LoraAdapter.WeightsFile));
        Assert.Equal(4 * 3 * 2, weights.Entries.Count);
        Assert.All(weights.Entries.Keys, k => Assert.Matches(@"^base_model\.model\.model\.layers\.\d\.(self_attn\.[qv]_proj|mlp\.down_proj)\.lora_[AB]\.weight$", k));
        using (var b = weights.ReadFloat32("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"))
            Assert.True(b.abs().sum().item<float>() > 0, "B starts at zero; unlearning should have trained it");
        // Only the adapter trained: 4 layers × (q 4·128 + 128·4, v 4·128 + 128·4, down 4·384 + 128·4) values.
        Assert.Contains("16,384 trainable parameters", File.ReadAllText(Path.Combine(folder, "run.log")));

        var calibration = Json(Path.Combine(folder, "summary.json")).GetProperty("calibration");
        Assert.InRange(calibration.GetProperty("alpha").GetDouble(), 0.0, 1.0);
        var metrics = Metrics(folder);
        Assert.True(metrics[("calibrated", "retain", "es")] >= calibration.GetProperty("target").GetDouble() - 1e-4);

        // eval --adapter merges the adapter into its base and measures what the run measured for the unlearned model.
        var dataLine = File.ReadLines(Path.Combine(folder, "run.log")).First(l => l.Contains("] data: ", StringComparison.Ordinal));
        var data = System.Text.RegularExpressions.Regex.Match(dataLine, @"\] data: (.+) \(").Groups[1].Value;
        var evaluated = Folder(ToolProcess.Run(fixture.Cache, "eval", "--model", original, "--adapter", unlearned, "--data", data,
            "--splits", "forget10_perturbed", "--metrics", "es", "--out", Path.Combine(fixture.Root, "lora-eval")));
        Assert.Equal(metrics[("unlearned", "forget", "es")], Metrics(evaluated)[("original", "forget10_perturbed", "es")], 4);

        // An adapter on layers the model does not have is bad input naming the key and the layers it has.
        var bad = fixture.Run("lora-bad", "--set", "unlearn.adapter.target_modules=[q_porj]");
        Assert.Equal(ExitCodes.BadInput, bad.ExitCode);
        Assert.Contains("unlearn.adapter", bad.ToString());
        Assert.Contains("q_proj", bad.ToString());
        // An objective that picks its own trainable weights cannot train an adapter.
        var rmu = fixture.Run("lora-rmu", "--set", "unlearn.method=rmu", "--set", "unlearn.adapter.rank=4");
        Assert.Equal(ExitCodes.BadInput, rmu.ExitCode);
        Assert.Contains("unlearn.adapter", rmu.ToString());
        Assert.Contains("'rmu' trains its own choice of weights", rmu.ToString());
    }
}
