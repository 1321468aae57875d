using Unlearn.Models;

namespace Unlearn.Models.Tests;

/// <summary>Small configs of each family for fast tests.</summary>
internal static class TestModels
{
    public static TransformerConfig Gpt2 => TransformerConfig.Parse("""
        {"model_type":"gpt2","n_embd":32,"n_layer":2,"n_head":4,"n_positions":64,"vocab_size":50,"layer_norm_epsilon":1e-5}
        """);

    public static TransformerConfig Llama => TransformerConfig.Parse("""
        {"model_type":"llama","hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,
         "num_key_value_heads":2,"max_position_embeddings":64,"vocab_size":50,"rms_norm_eps":1e-6,"rope_theta":10000,
         "tie_word_embeddings":false,"rope_scaling":{"rope_type":"llama3","factor":8.0,"original_max_position_embeddings":16,"low_freq_factor":1.0,"high_freq_factor":4.0}}
        """);

    public static TransformerConfig Qwen2 => TransformerConfig.Parse("""
        {"model_type":"qwen2","hidden_size":32,"intermediate_size":48,"num_hidden_layers":2,"num_attention_heads":4,
         "num_key_value_heads":1,"max_position_embeddings":64,"vocab_size":50,"rms_norm_eps":1e-6,"rope_theta":1000000,"tie_word_embeddings":true}
        """);

    public static TransformerConfig Phi => TransformerConfig.Parse("""
        {"model_type":"phi","hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":4,
         "max_position_embeddings":64,"vocab_size":50,"layer_norm_eps":1e-5,"partial_rotary_factor":0.5,"hidden_act":"gelu_new"}
        """);

    public static TheoryData<string> Families => new() { "gpt2", "llama", "qwen2", "phi" };

    public static TransformerConfig ByName(string name) => name switch
    {
        "gpt2" => Gpt2,
        "llama" => Llama,
        "qwen2" => Qwen2,
        _ => Phi,
    };
}
