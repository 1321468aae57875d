using System.Text.Json;
using Unlearn.Models;
using Unlearn.Tests;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

/// <summary>Logits of checkpoints written by scripts/parity/make_fixtures.py against that script's independent
/// float64 PyTorch reference of each Hugging Face architecture.</summary>
public class ParityTests
{
    private static string FixtureDir(string name) => Path.Combine(TestPaths.RepoRoot, "tests", "Unlearn.Models.Tests", "Fixtures", name);

    [Theory]
    [InlineData("gpt2")]  // Conv1D weights, tied head, learned positions, F32
    [InlineData("llama")] // GQA 4/2, llama3 rope scaling, untied head, BF16 checkpoint
    [InlineData("qwen2")] // q/k/v bias, 1 KV head, linear rope scaling, tied, F16, two shards
    [InlineData("phi")]   // partial rotary 0.5, parallel attention+MLP, dense, lm_head bias, F32
    public void LogitsMatchThePyTorchReference(string name)
    {
        var dir = FixtureDir(name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        var ids = doc.RootElement.GetProperty("input_ids").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(x => x.GetInt64()).ToArray()).ToArray();
        var shape = doc.RootElement.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var expected = doc.RootElement.GetProperty("logits").EnumerateArray().Select(x => x.GetSingle()).ToArray();

        using var model = CausalLM.Load(dir);
        Assert.Equal(name == "gpt2" ? "gpt2" : name == "phi" ? "phi" : "llama", model.Description.Family);
        using var scope = NewDisposeScope();
        var input = tensor(ids.SelectMany(r => r).ToArray(), [ids.Length, ids[0].Length]);
        var logits = model.Forward(input, ones_like(input)).Logits;
        Assert.Equal(shape, logits.shape);
        var actual = logits.contiguous().data<float>().ToArray();
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-4, $"{name}: max |Δlogit| = {worst}");
    }

    [Fact]
    public void ConfigKeepsSpecialIdsAndRopeScaling()
    {
        var cfg = TransformerConfig.Load(Path.Combine(FixtureDir("llama"), "config.json"));
        Assert.Equal((1, 2), (cfg.BosTokenId!.Value, cfg.EosTokenId!.Value));
        Assert.Equal(new RopeScaling("llama3", 8.0, 16, 1.0, 4.0), cfg.RopeScaling);
        var roundTrip = TransformerConfig.Parse(cfg.ToJson());
        Assert.Equal(cfg, roundTrip);
    }
}
