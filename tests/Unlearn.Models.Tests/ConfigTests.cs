using Unlearn.Models;

namespace Unlearn.Models.Tests;

public class ConfigTests
{
    [Fact]
    public void Gpt2DefaultsAreApplied()
    {
        var cfg = TransformerConfig.Parse("""{"model_type":"gpt2","n_embd":64,"n_layer":2,"n_head":4,"n_positions":128,"vocab_size":100}""");
        Assert.Equal(ArchitectureFamily.Gpt2, cfg.Family);
        Assert.Equal(256, cfg.IntermediateSize);
        Assert.True(cfg.TieWordEmbeddings);
        Assert.Equal("gelu_new", cfg.Activation);
        Assert.Equal(1e-5, cfg.NormEpsilon);
    }

    [Fact]
    public void Qwen2HasQkvBiasButNoOutputBiasAndLlamaFollowsAttentionBias()
    {
        var qwen = TransformerConfig.Parse("""{"model_type":"qwen2","hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":64,"vocab_size":10}""");
        Assert.True(qwen.QkvBias);
        Assert.False(qwen.OutputProjectionBias);
        Assert.False(qwen.TieWordEmbeddings);
        var llama = TransformerConfig.Parse("""{"model_type":"llama","hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":64,"vocab_size":10,"attention_bias":true}""");
        Assert.True(llama.QkvBias && llama.OutputProjectionBias);
        Assert.Equal(4, llama.NumKeyValueHeads);
        var phi = TransformerConfig.Parse("""{"model_type":"phi","hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":64,"vocab_size":10,"partial_rotary_factor":0.5}""");
        Assert.Equal(4, phi.RotaryDim);
    }

    [Fact]
    public void MissingRequiredKeyNamesTheFileAndTheKey()
    {
        var e = Assert.Throws<InvalidDataException>(() => TransformerConfig.Parse("""{"model_type":"llama","hidden_size":32}""", "/m/config.json"));
        Assert.Contains("/m/config.json", e.Message);
        Assert.Contains("required key 'num_attention_heads' is missing", e.Message);
        e = Assert.Throws<InvalidDataException>(() => TransformerConfig.Parse("""{"n_embd":32}""", "/m/config.json"));
        Assert.Contains("'model_type'", e.Message);
    }

    [Fact]
    public void UnknownModelTypeListsTheSupportedOnes()
    {
        var e = Assert.Throws<NotSupportedException>(() => TransformerConfig.Parse("""{"model_type":"bert"}""", "x/config.json"));
        Assert.Contains("x/config.json", e.Message);
        Assert.Contains("'bert'", e.Message);
        Assert.Contains("gpt2, llama, qwen2, mistral, phi", e.Message);
    }

    [Fact]
    public void WrongValueTypesAndInconsistentShapesAreReported()
    {
        var e = Assert.Throws<InvalidDataException>(() => TransformerConfig.Parse("""{"model_type":"gpt2","n_embd":"big","n_layer":2,"n_head":4,"n_positions":8,"vocab_size":10}"""));
        Assert.Contains("'n_embd' must be an integer", e.Message);
        e = Assert.Throws<InvalidDataException>(() => TransformerConfig.Parse("""{"model_type":"gpt2","n_embd":30,"n_layer":2,"n_head":4,"n_positions":8,"vocab_size":10}"""));
        Assert.Contains("not divisible", e.Message);
        Assert.Throws<NotSupportedException>(() => TransformerConfig.Parse("""{"model_type":"llama","hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,"num_attention_heads":4,"max_position_embeddings":64,"vocab_size":10,"rope_scaling":{"type":"yarn","factor":2}}"""));
    }

    [Fact]
    public void UnknownBuiltInNameListsTheValidNames()
    {
        var e = Assert.Throws<ArgumentException>(() => TransformerConfig.BuiltIn("huge", 100));
        Assert.Contains("tiny, small", e.Message);
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void JsonRoundTripPreservesTheConfig(string family)
    {
        var cfg = TestModels.ByName(family) with { EosTokenId = 3, PadTokenId = 0 };
        Assert.Equal(cfg, TransformerConfig.Parse(cfg.ToJson()));
    }
}
