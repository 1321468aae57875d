using TorchSharp;
using TorchSharp.Modules;
using Unlearn.Plugins;
using static TorchSharp.torch;

#pragma warning disable IDE1006 // field names are Hugging Face state-dict keys

namespace Unlearn.Models;

/// <summary>A decoder-only transformer language model (gpt2, llama/qwen2/mistral, phi families) driven by a
/// <see cref="TransformerConfig"/>. Parameter names equal the Hugging Face state-dict keys of the family, so
/// checkpoints load and save without renaming. The module is its own <see cref="ILanguageModel.Module"/>.</summary>
public sealed class CausalLM : nn.Module, ILanguageModel
{
    private readonly Gpt2Model? transformer;
    private readonly RotaryModel? model;
    private readonly Linear? lm_head;

    private CausalLM(TransformerConfig config) : base(nameof(CausalLM))
    {
        config.Check();
        Config = config;
        if (config.Family == ArchitectureFamily.Gpt2) transformer = new Gpt2Model(config);
        else model = new RotaryModel(config);
        if (!config.TieWordEmbeddings)
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: config.Family == ArchitectureFamily.Phi);
        RegisterComponents();
        Description = new ModelDescription(config.Family.ToString().ToLowerInvariant(), config.HiddenSize, config.NumLayers, config.VocabSize, config.MaxPositions);
    }

    /// <summary>The architecture.</summary>
    public TransformerConfig Config { get; }

    /// <inheritdoc/>
    public ModelDescription Description { get; }

    /// <inheritdoc/>
    public nn.Module Module => this;

    /// <summary>Recompute each decoder layer in the backward pass instead of keeping its activations (a trainer's
    /// <c>gradient_checkpointing</c>); applies to passes that record gradients and use no cache.</summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Number of trainable values (tied weights counted once).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    internal Backbone Body => (Backbone?)transformer ?? model!;

    /// <summary>A model with freshly initialised weights: normal(0, initializer_range) for projection and
    /// embedding matrices, zeros for biases, ones for norm scales. The same seed gives the same weights.</summary>
    public static CausalLM Create(TransformerConfig config, int seed)
    {
        var lm = new CausalLM(config);
        using var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var (name, p) in lm.named_parameters())
            {
                if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
                else if (p.dim() == 1) p.fill_(1.0);
                else p.normal_(0, config.InitializerRange, generator);
            }
        }
        lm.eval();
        return lm;
    }

    /// <summary>Loads config.json and model.safetensors (or the sharded index) from a Hugging Face model folder.
    /// F16/BF16/F64 weights are converted to float32. Missing weights, unexpected weights, shape mismatches and
    /// non-finite values are errors naming the file and key.</summary>
    public static CausalLM Load(string modelDir) => Load(modelDir, frozen: false);

    /// <summary>A frozen model for reference passes (the KL, NPO and DPO reference, a controller's original): its
    /// decoder layers keep their weights in the checkpoint's dtype when that is bfloat16 or float16 (half the memory of
    /// float32), and each layer is widened to float32 only while it runs, so every output is bit for bit that of
    /// <see cref="Load(string)"/>'s model. Embeddings, final norm and head are float32. No weight requires a gradient;
    /// a float32 checkpoint gives a plain float32 model.</summary>
    public static CausalLM LoadFrozen(string modelDir) => Load(modelDir, frozen: true);

    private static CausalLM Load(string modelDir, bool frozen)
    {
        var configPath = Path.Combine(modelDir, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{modelDir}: config.json is missing", configPath);
        var config = TransformerConfig.Load(configPath);
        var checkpoint = SafetensorsCheckpoint.Open(modelDir);
        var lm = new CausalLM(config);
        if (frozen)
        {
            foreach (var p in lm.parameters()) p.requires_grad = false;
            var stored = lm.named_parameters().Where(p => IsLayerWeight(p.name)).Select(p => checkpoint.Find(p.name)?.DType).Distinct().ToList();
            if (stored is [{ } only] && only is "BF16" or "F16")
            {
                lm._layerStorage = only == "BF16" ? ScalarType.BFloat16 : ScalarType.Float16;
                foreach (var layer in lm.Body.Layers) Retype(layer, lm._layerStorage);
            }
        }
        var expected = lm.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            foreach (var (name, p) in expected)
            {
                var entry = checkpoint.Find(name)
                    ?? throw new InvalidDataException($"{modelDir}: weight '{name}' is missing from the checkpoint");
                if (!entry.Shape.SequenceEqual(p.shape))
                    throw new InvalidDataException($"{modelDir}: weight '{name}' has shape [{string.Join(", ", entry.Shape)}] in the checkpoint but the config needs [{string.Join(", ", p.shape)}]");
                using var t = checkpoint.Read(name); // in its stored dtype; copy_ converts exactly
                using var finite = t.isfinite();
                if (!finite.all().item<bool>())
                    throw new InvalidDataException($"{modelDir}: weight '{name}' holds {finite.logical_not().sum().item<long>()} non-finite values (NaN or infinity) of {t.numel()}; " +
                        "the checkpoint is corrupt or was saved from a diverged training run. Use another checkpoint.");
                p.copy_(t);
            }
        }
        var unexpected = checkpoint.Names.Where(n => !expected.ContainsKey(n) && !IsIgnorableKey(n, config)).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new InvalidDataException($"{modelDir}: the checkpoint has weights this architecture does not use: {string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? $" (+{unexpected.Count - 5} more)" : "")}");
        lm.eval();
        return lm;
    }

    // The dtype the decoder layers' weights are held in between passes (float32 unless loaded frozen from a half checkpoint).
    private ScalarType _layerStorage = ScalarType.Float32;

    private static bool IsLayerWeight(string name) => name.StartsWith("model.layers.", StringComparison.Ordinal) || name.StartsWith("transformer.h.", StringComparison.Ordinal);

    // Converts a frozen module's weights to dtype, freeing the old ones; the new ones belong to no dispose scope (a pass may
    // run inside a training step's scope, which must not free the model's weights).
    private static void Retype(nn.Module module, ScalarType dtype)
    {
        var old = module.parameters().ToList();
        module.to(dtype);
        foreach (var p in old) p.Dispose();
        foreach (var p in module.parameters())
        {
            p.DetachFromDisposeScope();
            p.requires_grad = false;
        }
    }

    // Runs one decoder layer, widened to float32 for the pass when the model holds it in half precision.
    private Tensor RunLayer(DecoderLayer layer, Func<Tensor> pass)
    {
        if (_layerStorage == ScalarType.Float32) return pass();
        Retype(layer, ScalarType.Float32);
        try { return pass(); }
        finally { Retype(layer, _layerStorage); }
    }

    private static bool IsIgnorableKey(string name, TransformerConfig config) =>
        name.EndsWith(".attn.bias", StringComparison.Ordinal) && config.Family == ArchitectureFamily.Gpt2
        || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal)
        || name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)
        || name == "lm_head.weight" && config.TieWordEmbeddings;

    /// <summary>Writes config.json and model.safetensors (float32, or <paramref name="dtype"/>) into
    /// <paramref name="modelDir"/>. Tied weights are stored once, under the embedding's key, as Hugging Face does.</summary>
    public void Save(string modelDir, ScalarType dtype = ScalarType.Float32)
    {
        Directory.CreateDirectory(modelDir);
        Config.Save(Path.Combine(modelDir, "config.json"));
        using var scope = NewDisposeScope();
        SafetensorsFile.Write(Path.Combine(modelDir, "model.safetensors"),
            named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter.dtype == dtype ? p.parameter : p.parameter.detach().to_type(dtype))),
            new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>A deep copy (same config, same weights, same train/eval mode).</summary>
    public CausalLM Clone()
    {
        var copy = new CausalLM(Config);
        ModelWeights.CopyInto(copy, this);
        if (training) copy.train(); else copy.eval();
        return copy;
    }

    /// <inheritdoc/>
    /// <remarks>Attention is causal over the whole sequence; with right padding every real token sees only real
    /// tokens, so the mask needs no key masking. Hidden state i is the output of layer i (0 = embeddings); the last
    /// one is taken before the final norm, so <c>Head(hidden[NumLayers])</c> equals the logits.</remarks>
    public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false)
    {
        var hidden = outputHiddenStates ? new List<Tensor>(Config.NumLayers + 1) : null;
        var last = RunFromStart(inputIds, hidden);
        return new ModelOutput(Head(last), hidden);
    }

    /// <inheritdoc/>
    /// <remarks>The decoder stack without the output head: callers apply <see cref="Head"/> only where they need logits.</remarks>
    public Tensor LastHiddenState(Tensor inputIds, Tensor attentionMask) => RunFromStart(inputIds, null);

    private Tensor RunFromStart(Tensor inputIds, List<Tensor>? hidden)
    {
        var t = inputIds.shape[1];
        if (t > Config.MaxPositions)
            throw new ArgumentException($"sequence length {t} exceeds the model's maximum of {Config.MaxPositions} positions", nameof(inputIds));
        var positions = arange(t, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0).expand(inputIds.shape[0], t);
        return Run(inputIds, positions, t, null, null, hidden);
    }

    /// <summary>An incremental forward pass: appends <paramref name="inputIds"/> [B, T] to <paramref name="cache"/>.
    /// <paramref name="positionIds"/> [B, T] are the tokens' positions; <paramref name="keyMask"/> [B, S] (S = cached
    /// length + T, int64 or bool) marks which keys are real (0 for left padding). Returns logits [B, T, V].</summary>
    public Tensor ForwardWithCache(Tensor inputIds, Tensor positionIds, Tensor keyMask, KeyValueCache cache)
    {
        var t = inputIds.shape[1];
        var past = cache.Length;
        var s = past + t;
        if (keyMask.shape[1] != s) throw new ArgumentException($"keyMask has {keyMask.shape[1]} columns but the cache plus input hold {s} positions", nameof(keyMask));
        var device = inputIds.device;
        // Query i (absolute position past + i) may attend key j when j <= past + i and key j is real; it always
        // attends itself so padded queries never see an empty row.
        var qIdx = arange(past, s, dtype: ScalarType.Int64, device: device).unsqueeze(1);
        var kIdx = arange(s, dtype: ScalarType.Int64, device: device).unsqueeze(0);
        var causal = kIdx.le(qIdx);
        var self = kIdx.eq(qIdx);
        var real = keyMask.to_type(ScalarType.Bool).unsqueeze(1);
        var mask = (causal.unsqueeze(0).logical_and(real)).logical_or(self.unsqueeze(0)).unsqueeze(1);
        var last = Run(inputIds, positionIds, s, mask, cache, null);
        return Head(last);
    }

    /// <inheritdoc/>
    public Tensor Head(Tensor hidden)
    {
        var normed = Body.FinalNorm(hidden);
        return lm_head is not null ? lm_head.call(normed) : nn.functional.linear(normed, Body.EmbeddingWeight);
    }

    private Tensor Run(Tensor inputIds, Tensor positionIds, long totalLength, Tensor? mask, KeyValueCache? cache, List<Tensor>? hidden)
    {
        var x = Body.Embed(inputIds, positionIds);
        Tensor? cos = null, sin = null;
        if (Config.Family != ArchitectureFamily.Gpt2)
        {
            var invFreq = RotaryFrequencies.Inverse(Config, totalLength, x.device);
            var freqs = positionIds.to_type(ScalarType.Float32).unsqueeze(-1) * invFreq;
            var emb = cat([freqs, freqs], -1);
            cos = emb.cos().unsqueeze(1);
            sin = AttentionMath.SignedSin(emb.sin()).unsqueeze(1);
        }
        var inputs = new LayerInputs(cos, sin, mask);
        hidden?.Add(x);
        var layers = Body.Layers;
        var checkpoint = GradientCheckpointing && cache is null && is_grad_enabled();
        for (var i = 0; i < layers.Count; i++)
        {
            var next = RunInOwnScope(layers[i], x, inputs, cache, i, checkpoint);
            if (hidden != null) hidden.Add(next);
            else x.Dispose(); // the handle only: autograd holds its own reference where backward needs the tensor
            x = next;
        }
        return x;
    }

    // Only the layer's output leaves its scope: the layer's intermediate tensors are released when it returns instead of
    // living in the caller's scope until the whole pass ends (every layer's activations at once, gigabytes for a batch of
    // a 1B model). What backward needs the autograd engine keeps by itself (a checkpointed layer: its input).
    private Tensor RunInOwnScope(DecoderLayer layer, Tensor x, LayerInputs inputs, KeyValueCache? cache, int index, bool checkpoint)
    {
        using var scope = NewDisposeScope();
        var output = checkpoint ? GradientCheckpoint.Run(layer, x, inputs, index) : RunLayer(layer, () => layer.Forward(x, inputs, cache, index));
        return output.MoveToOuterDisposeScope();
    }
}

/// <summary>Rotary inverse frequencies with the Hugging Face rope_scaling variants.</summary>
internal static class RotaryFrequencies
{
    /// <summary>inv_freq [R/2] for a pass over <paramref name="sequenceLength"/> positions.</summary>
    public static Tensor Inverse(TransformerConfig config, long sequenceLength, Device device)
    {
        var dim = config.RotaryDim;
        var theta = config.RopeTheta;
        var scaling = config.RopeScaling;
        if (scaling is { Type: "dynamic" } && sequenceLength > config.MaxPositions)
        {
            var f = scaling.Factor;
            theta *= Math.Pow(f * sequenceLength / config.MaxPositions - (f - 1), dim / (dim - 2.0));
        }
        var half = dim / 2;
        var inv = new float[half];
        for (var i = 0; i < half; i++) inv[i] = (float)(1.0 / Math.Pow(theta, (float)(2 * i) / dim));
        if (scaling is { Type: "linear" })
        {
            for (var i = 0; i < half; i++) inv[i] = (float)(inv[i] / scaling.Factor);
        }
        else if (scaling is { Type: "llama3" })
        {
            var oldContext = (double)scaling.OriginalMaxPositions;
            var lowWavelen = oldContext / scaling.LowFreqFactor;
            var highWavelen = oldContext / scaling.HighFreqFactor;
            for (var i = 0; i < half; i++)
            {
                var wavelen = 2 * Math.PI / inv[i];
                if (wavelen > lowWavelen) inv[i] = (float)(inv[i] / scaling.Factor);
                else if (wavelen >= highWavelen)
                {
                    var smooth = (oldContext / wavelen - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                    inv[i] = (float)((1 - smooth) * inv[i] / scaling.Factor + smooth * inv[i]);
                }
            }
        }
        return tensor(inv, device: device);
    }
}
