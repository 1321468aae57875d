using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Unlearn.Models;

/// <summary>The three decoder architectures the runtime implements. Hugging Face model types map onto them:
/// gpt2 → <see cref="Gpt2"/>; llama, qwen2, mistral → <see cref="Llama"/>; phi → <see cref="Phi"/>.</summary>
public enum ArchitectureFamily
{
    /// <summary>GPT-2: learned positions, pre-LayerNorm, Conv1D projections, gelu_new MLP.</summary>
    Gpt2,
    /// <summary>Llama-style: RMSNorm, rotary positions, grouped-query attention, SwiGLU MLP.</summary>
    Llama,
    /// <summary>Phi-1/1.5/2: LayerNorm, partial rotary, attention and MLP in parallel, lm_head with bias.</summary>
    Phi,
}

/// <summary>Rotary position scaling (the <c>rope_scaling</c> block of config.json).</summary>
/// <param name="Type">"linear", "dynamic" or "llama3".</param>
/// <param name="Factor">Scaling factor.</param>
/// <param name="OriginalMaxPositions">llama3: original_max_position_embeddings.</param>
/// <param name="LowFreqFactor">llama3: low_freq_factor.</param>
/// <param name="HighFreqFactor">llama3: high_freq_factor.</param>
public sealed record RopeScaling(string Type, double Factor, int OriginalMaxPositions = 8192, double LowFreqFactor = 1.0, double HighFreqFactor = 4.0);

/// <summary>Architecture hyper-parameters of a decoder-only transformer, read from and written to a
/// Hugging Face <c>config.json</c>. The model code is driven entirely by this record.</summary>
public sealed record TransformerConfig
{
    /// <summary>The Hugging Face model_type ("gpt2", "llama", "qwen2", "mistral", "phi").</summary>
    public required string ModelType { get; init; }

    /// <summary>Width of the residual stream (n_embd / hidden_size).</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Width of the MLP (n_inner, default 4·hidden for gpt2).</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Number of decoder layers.</summary>
    public required int NumLayers { get; init; }

    /// <summary>Number of query heads.</summary>
    public required int NumHeads { get; init; }

    /// <summary>Number of key/value heads (grouped-query attention); equal to <see cref="NumHeads"/> for plain multi-head attention.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>Size of the vocabulary.</summary>
    public required int VocabSize { get; init; }

    /// <summary>Longest sequence (n_positions / max_position_embeddings).</summary>
    public required int MaxPositions { get; init; }

    /// <summary>Epsilon of the normalisation layers.</summary>
    public double NormEpsilon { get; init; } = 1e-5;

    /// <summary>Rotary base θ (llama and phi).</summary>
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Rotary scaling, or null for none.</summary>
    public RopeScaling? RopeScaling { get; init; }

    /// <summary>Fraction of each head's dimensions that are rotated (phi; 1 for llama).</summary>
    public double PartialRotaryFactor { get; init; } = 1.0;

    /// <summary>Whether q/k/v projections carry a bias (llama attention_bias, qwen2 always, gpt2/phi always).</summary>
    public bool QkvBias { get; init; }

    /// <summary>Whether the attention output projection carries a bias (llama attention_bias; gpt2/phi always).</summary>
    public bool OutputProjectionBias { get; init; }

    /// <summary>Whether the MLP projections carry a bias (llama mlp_bias; gpt2/phi always).</summary>
    public bool MlpBias { get; init; }

    /// <summary>Whether the output head shares the token-embedding matrix.</summary>
    public bool TieWordEmbeddings { get; init; } = true;

    /// <summary>The MLP activation (hidden_act / activation_function): "silu", "gelu_new", "gelu", "relu".</summary>
    public string Activation { get; init; } = "silu";

    /// <summary>Standard deviation of the initial weights.</summary>
    public double InitializerRange { get; init; } = 0.02;

    /// <summary>Explicit per-head width (head_dim), or null for hidden / heads.</summary>
    public int? ExplicitHeadDim { get; init; }

    /// <summary>Beginning-of-sequence id, when the config has one.</summary>
    public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence id, when the config has one.</summary>
    public int? EosTokenId { get; init; }

    /// <summary>Padding id, when the config has one.</summary>
    public int? PadTokenId { get; init; }

    /// <summary>The architecture the model type maps to.</summary>
    public ArchitectureFamily Family => FamilyOf(ModelType, "config");

    /// <summary>Per-head width.</summary>
    public int HeadDim => ExplicitHeadDim ?? HiddenSize / NumHeads;

    /// <summary>Number of rotated dimensions per head (even).</summary>
    public int RotaryDim => Family == ArchitectureFamily.Gpt2 ? 0 : (int)(HeadDim * PartialRotaryFactor) / 2 * 2;

    /// <summary>The model types this runtime reads.</summary>
    public static IReadOnlyList<string> SupportedModelTypes { get; } = ["gpt2", "llama", "qwen2", "mistral", "phi"];

    /// <summary>The names <see cref="BuiltIn"/> accepts.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["tiny", "small", "medium"];

    /// <summary>A named from-scratch llama-style architecture for the built-in world: "tiny" (hidden 128, 4 layers,
    /// 4 heads, MLP 384, 256 positions), "small" (hidden 256, 6 layers, 8 heads, MLP 768, 256 positions),
    /// "medium" (hidden 384, 8 layers, 8 heads, MLP 1024, 512 positions). Embeddings are tied.</summary>
    public static TransformerConfig BuiltIn(string name, int vocabSize)
    {
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "vocabSize must be > 0");
        (int hidden, int layers, int heads, int mlp, int positions) = name.ToLowerInvariant() switch
        {
            "tiny" => (128, 4, 4, 384, 256),
            "small" => (256, 6, 8, 768, 256),
            "medium" => (384, 8, 8, 1024, 512),
            _ => throw new ArgumentException($"unknown built-in architecture '{name}'; valid names: {string.Join(", ", BuiltInNames)}", nameof(name)),
        };
        return new TransformerConfig
        {
            ModelType = "llama",
            HiddenSize = hidden,
            IntermediateSize = mlp,
            NumLayers = layers,
            NumHeads = heads,
            NumKeyValueHeads = heads,
            VocabSize = vocabSize,
            MaxPositions = positions,
            NormEpsilon = 1e-5,
            RopeTheta = 10000,
            TieWordEmbeddings = true,
            Activation = "silu",
        };
    }

    /// <summary>Reads a config.json file.</summary>
    public static TransformerConfig Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses config.json text; <paramref name="source"/> names the file in error messages.</summary>
    public static TransformerConfig Parse(string json, string source = "config.json")
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: the top level is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON ({e.Message})", e);
        }
        var reader = new ConfigReader(root, source);
        var modelType = reader.RequiredString("model_type");
        var family = FamilyOf(modelType, source);
        var config = family switch
        {
            ArchitectureFamily.Gpt2 => ReadGpt2(reader, modelType),
            ArchitectureFamily.Phi => ReadPhi(reader, modelType),
            _ => ReadLlama(reader, modelType),
        };
        config = config with
        {
            BosTokenId = reader.OptionalInt("bos_token_id"),
            EosTokenId = reader.OptionalInt("eos_token_id"),
            PadTokenId = reader.OptionalInt("pad_token_id"),
            InitializerRange = reader.OptionalDouble("initializer_range") ?? 0.02,
        };
        config.Check(source);
        return config;
    }

    private static ArchitectureFamily FamilyOf(string modelType, string source) => modelType switch
    {
        "gpt2" => ArchitectureFamily.Gpt2,
        "llama" or "qwen2" or "mistral" => ArchitectureFamily.Llama,
        "phi" => ArchitectureFamily.Phi,
        _ => throw new NotSupportedException($"{source}: model_type '{modelType}' is not supported; supported: {string.Join(", ", SupportedModelTypes)}"),
    };

    private static TransformerConfig ReadGpt2(ConfigReader r, string modelType)
    {
        var hidden = r.RequiredInt("n_embd");
        return new TransformerConfig
        {
            ModelType = modelType,
            HiddenSize = hidden,
            IntermediateSize = r.OptionalInt("n_inner") ?? 4 * hidden,
            NumLayers = r.RequiredInt("n_layer"),
            NumHeads = r.RequiredInt("n_head"),
            NumKeyValueHeads = r.RequiredInt("n_head"),
            VocabSize = r.RequiredInt("vocab_size"),
            MaxPositions = r.RequiredInt("n_positions"),
            NormEpsilon = r.OptionalDouble("layer_norm_epsilon") ?? 1e-5,
            TieWordEmbeddings = r.OptionalBool("tie_word_embeddings") ?? true,
            Activation = r.OptionalString("activation_function") ?? "gelu_new",
            QkvBias = true,
            OutputProjectionBias = true,
            MlpBias = true,
        };
    }

    private static TransformerConfig ReadLlama(ConfigReader r, string modelType)
    {
        var heads = r.RequiredInt("num_attention_heads");
        var attentionBias = r.OptionalBool("attention_bias");
        return new TransformerConfig
        {
            ModelType = modelType,
            HiddenSize = r.RequiredInt("hidden_size"),
            IntermediateSize = r.RequiredInt("intermediate_size"),
            NumLayers = r.RequiredInt("num_hidden_layers"),
            NumHeads = heads,
            NumKeyValueHeads = r.OptionalInt("num_key_value_heads") ?? heads,
            VocabSize = r.RequiredInt("vocab_size"),
            MaxPositions = r.RequiredInt("max_position_embeddings"),
            NormEpsilon = r.OptionalDouble("rms_norm_eps") ?? 1e-6,
            RopeTheta = r.OptionalDouble("rope_theta") ?? 10000.0,
            RopeScaling = r.ReadRopeScaling(),
            // qwen2 always has q/k/v bias and no output bias; llama's attention_bias covers all four projections.
            QkvBias = modelType == "qwen2" || (attentionBias ?? false),
            OutputProjectionBias = modelType != "qwen2" && (attentionBias ?? false),
            MlpBias = r.OptionalBool("mlp_bias") ?? false,
            TieWordEmbeddings = r.OptionalBool("tie_word_embeddings") ?? false,
            Activation = r.OptionalString("hidden_act") ?? "silu",
            ExplicitHeadDim = r.OptionalInt("head_dim"),
        };
    }

    private static TransformerConfig ReadPhi(ConfigReader r, string modelType)
    {
        var heads = r.RequiredInt("num_attention_heads");
        if (r.OptionalBool("qk_layernorm") == true)
            throw new NotSupportedException($"{r.Source}: qk_layernorm = true is not supported");
        return new TransformerConfig
        {
            ModelType = modelType,
            HiddenSize = r.RequiredInt("hidden_size"),
            IntermediateSize = r.RequiredInt("intermediate_size"),
            NumLayers = r.RequiredInt("num_hidden_layers"),
            NumHeads = heads,
            NumKeyValueHeads = r.OptionalInt("num_key_value_heads") ?? heads,
            VocabSize = r.RequiredInt("vocab_size"),
            MaxPositions = r.RequiredInt("max_position_embeddings"),
            NormEpsilon = r.OptionalDouble("layer_norm_eps") ?? 1e-5,
            RopeTheta = r.OptionalDouble("rope_theta") ?? 10000.0,
            RopeScaling = r.ReadRopeScaling(),
            PartialRotaryFactor = r.OptionalDouble("partial_rotary_factor") ?? 0.5,
            QkvBias = true,
            OutputProjectionBias = true,
            MlpBias = true,
            TieWordEmbeddings = r.OptionalBool("tie_word_embeddings") ?? false,
            Activation = r.OptionalString("hidden_act") ?? "gelu_new",
        };
    }

    /// <summary>Checks internal consistency; throws naming the source and the key.</summary>
    public void Check(string source = "config")
    {
        void Positive(int value, string key)
        {
            if (value <= 0) throw new InvalidDataException($"{source}: {key} must be > 0, got {value}");
        }
        Positive(HiddenSize, Family == ArchitectureFamily.Gpt2 ? "n_embd" : "hidden_size");
        Positive(IntermediateSize, "intermediate_size");
        Positive(NumLayers, Family == ArchitectureFamily.Gpt2 ? "n_layer" : "num_hidden_layers");
        Positive(NumHeads, Family == ArchitectureFamily.Gpt2 ? "n_head" : "num_attention_heads");
        Positive(NumKeyValueHeads, "num_key_value_heads");
        Positive(VocabSize, "vocab_size");
        Positive(MaxPositions, Family == ArchitectureFamily.Gpt2 ? "n_positions" : "max_position_embeddings");
        if (ExplicitHeadDim is null && HiddenSize % NumHeads != 0)
            throw new InvalidDataException($"{source}: hidden size {HiddenSize} is not divisible by the number of heads {NumHeads}");
        if (NumHeads % NumKeyValueHeads != 0)
            throw new InvalidDataException($"{source}: num_attention_heads {NumHeads} is not a multiple of num_key_value_heads {NumKeyValueHeads}");
        if (PartialRotaryFactor <= 0 || PartialRotaryFactor > 1)
            throw new InvalidDataException($"{source}: partial_rotary_factor must be in (0, 1], got {PartialRotaryFactor}");
        if (Activation is not ("silu" or "gelu_new" or "gelu" or "gelu_pytorch_tanh" or "relu"))
            throw new NotSupportedException($"{source}: activation '{Activation}' is not supported (silu, gelu_new, gelu, gelu_pytorch_tanh, relu)");
        if (RopeScaling is { } s && s.Type is not ("linear" or "dynamic" or "llama3"))
            throw new NotSupportedException($"{source}: rope_scaling type '{s.Type}' is not supported (linear, dynamic, llama3)");
    }

    /// <summary>The config.json text in the model type's own key names.</summary>
    public string ToJson()
    {
        var o = new JsonObject { ["model_type"] = ModelType };
        switch (Family)
        {
            case ArchitectureFamily.Gpt2:
                o["architectures"] = new JsonArray("GPT2LMHeadModel");
                o["n_embd"] = HiddenSize;
                o["n_inner"] = IntermediateSize;
                o["n_layer"] = NumLayers;
                o["n_head"] = NumHeads;
                o["n_positions"] = MaxPositions;
                o["n_ctx"] = MaxPositions;
                o["layer_norm_epsilon"] = NormEpsilon;
                o["activation_function"] = Activation;
                break;
            default:
                o["architectures"] = new JsonArray(ModelType switch { "qwen2" => "Qwen2ForCausalLM", "mistral" => "MistralForCausalLM", "phi" => "PhiForCausalLM", _ => "LlamaForCausalLM" });
                o["hidden_size"] = HiddenSize;
                o["intermediate_size"] = IntermediateSize;
                o["num_hidden_layers"] = NumLayers;
                o["num_attention_heads"] = NumHeads;
                o["num_key_value_heads"] = NumKeyValueHeads;
                o["max_position_embeddings"] = MaxPositions;
                o["rope_theta"] = RopeTheta;
                o["hidden_act"] = Activation;
                if (ExplicitHeadDim is { } hd) o["head_dim"] = hd;
                if (Family == ArchitectureFamily.Phi)
                {
                    o["layer_norm_eps"] = NormEpsilon;
                    o["partial_rotary_factor"] = PartialRotaryFactor;
                }
                else
                {
                    o["rms_norm_eps"] = NormEpsilon;
                    if (ModelType != "qwen2") o["attention_bias"] = QkvBias;
                    o["mlp_bias"] = MlpBias;
                }
                if (RopeScaling is { } s)
                {
                    var rs = new JsonObject { ["rope_type"] = s.Type, ["type"] = s.Type, ["factor"] = s.Factor };
                    if (s.Type == "llama3")
                    {
                        rs["original_max_position_embeddings"] = s.OriginalMaxPositions;
                        rs["low_freq_factor"] = s.LowFreqFactor;
                        rs["high_freq_factor"] = s.HighFreqFactor;
                    }
                    o["rope_scaling"] = rs;
                }
                break;
        }
        o["vocab_size"] = VocabSize;
        o["tie_word_embeddings"] = TieWordEmbeddings;
        o["initializer_range"] = InitializerRange;
        o["torch_dtype"] = "float32";
        if (BosTokenId is { } bos) o["bos_token_id"] = bos;
        if (EosTokenId is { } eos) o["eos_token_id"] = eos;
        if (PadTokenId is { } pad) o["pad_token_id"] = pad;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Writes config.json to <paramref name="path"/>.</summary>
    public void Save(string path) => File.WriteAllText(path, ToJson());

    private sealed class ConfigReader(JsonObject root, string source)
    {
        public string Source => source;

        private JsonNode? Node(string key) => root.TryGetPropertyValue(key, out var n) ? n : null;

        private InvalidDataException Bad(string key, string expected, JsonNode? node) =>
            new($"{source}: key '{key}' must be {expected}, got {node?.ToJsonString() ?? "null"}");

        public string RequiredString(string key) =>
            OptionalString(key) ?? throw new InvalidDataException($"{source}: required key '{key}' is missing");

        public string? OptionalString(string key)
        {
            var n = Node(key);
            if (n is null) return null;
            return n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Bad(key, "a string", n);
        }

        public int RequiredInt(string key) =>
            OptionalInt(key) ?? throw new InvalidDataException($"{source}: required key '{key}' is missing");

        public int? OptionalInt(string key)
        {
            var n = Node(key);
            if (n is null) return null;
            // eos_token_id may be a list in some configs: keep the first.
            if (n is JsonArray a) n = a.Count > 0 ? a[0] : null;
            if (n is null) return null;
            if (n is JsonValue v && v.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue) return (int)d;
            throw Bad(key, "an integer", n);
        }

        public double? OptionalDouble(string key)
        {
            var n = Node(key);
            if (n is null) return null;
            return n is JsonValue v && v.TryGetValue<double>(out var d) ? d : throw Bad(key, "a number", n);
        }

        public bool? OptionalBool(string key)
        {
            var n = Node(key);
            if (n is null) return null;
            return n is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw Bad(key, "true or false", n);
        }

        public RopeScaling? ReadRopeScaling()
        {
            var n = Node("rope_scaling");
            if (n is null) return null;
            if (n is not JsonObject o) throw Bad("rope_scaling", "an object or null", n);
            var inner = new ConfigReader(o, source + " rope_scaling");
            var type = inner.OptionalString("rope_type") ?? inner.OptionalString("type")
                ?? throw new InvalidDataException($"{source}: rope_scaling needs 'type' or 'rope_type'");
            if (type == "default") return null;
            var factor = inner.OptionalDouble("factor") ?? throw new InvalidDataException($"{source}: rope_scaling needs 'factor'");
            if (factor <= 0) throw new InvalidDataException($"{source}: rope_scaling factor must be > 0, got {factor.ToString(CultureInfo.InvariantCulture)}");
            return type == "llama3"
                ? new RopeScaling(type, factor,
                    inner.OptionalInt("original_max_position_embeddings") ?? throw new InvalidDataException($"{source}: rope_scaling llama3 needs 'original_max_position_embeddings'"),
                    inner.OptionalDouble("low_freq_factor") ?? throw new InvalidDataException($"{source}: rope_scaling llama3 needs 'low_freq_factor'"),
                    inner.OptionalDouble("high_freq_factor") ?? throw new InvalidDataException($"{source}: rope_scaling llama3 needs 'high_freq_factor'"))
                : new RopeScaling(type, factor);
        }
    }
}
