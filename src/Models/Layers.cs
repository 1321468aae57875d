using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// Field names in this file are Hugging Face state-dict keys, so they keep the checkpoint's snake_case.
#pragma warning disable IDE1006

namespace Unlearn.Models;

/// <summary>Per-forward inputs shared by all layers.</summary>
/// <param name="Cos">Rotary cosines [B, 1, T, R], or null (gpt2).</param>
/// <param name="Sin">Rotary sines with rotate_half's sign folded in, [B, 1, T, R]: the first R/2 columns negated
/// (see <see cref="AttentionMath.ApplyRotary"/>), or null.</param>
/// <param name="Mask">Boolean attention mask [B, 1, T, S] (true = may attend), or null for a plain causal pass.</param>
internal sealed record LayerInputs(Tensor? Cos, Tensor? Sin, Tensor? Mask);

/// <summary>GPT-2's Conv1D: a linear layer whose weight is stored [in, out].</summary>
internal sealed class Conv1D : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    public Conv1D(long inFeatures, long outFeatures) : base(nameof(Conv1D))
    {
        weight = new Parameter(empty(inFeatures, outFeatures));
        bias = new Parameter(zeros(outFeatures));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => matmul(x, weight) + bias;
}

/// <summary>Root-mean-square normalisation (llama), computed in float32.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(long size, double eps) : base(nameof(RmsNorm))
    {
        weight = new Parameter(ones(size));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var variance = x.pow(2).mean([-1], keepdim: true);
        return weight * (x * rsqrt(variance + eps));
    }
}

/// <summary>Shared pieces of the attention implementations.</summary>
internal static class AttentionMath
{
    public static Tensor Activate(string activation, Tensor x) => activation switch
    {
        "silu" => nn.functional.silu(x),
        "gelu_new" or "gelu_pytorch_tanh" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "gelu" => nn.functional.gelu(x),
        "relu" => nn.functional.relu(x),
        _ => throw new NotSupportedException($"activation '{activation}' is not supported"),
    };

    /// <summary>Rotates the first R dimensions of q/k [B, H, T, D] (HF rotate_half convention). rotate_half(x) =
    /// [-x₂, x₁] is computed as roll(x, R/2) times the sign [-1…, +1…], and that sign is already folded into
    /// <paramref name="signedSin"/>, so a rotation costs one copy and three elementwise ops.</summary>
    public static Tensor ApplyRotary(Tensor x, Tensor cos, Tensor signedSin)
    {
        var r = cos.shape[^1];
        var d = x.shape[^1];
        if (r == d) return x * cos + x.roll(r / 2, -1) * signedSin;
        var rot = x.narrow(-1, 0, r);
        var pass = x.narrow(-1, r, d - r);
        return cat([rot * cos + rot.roll(r / 2, -1) * signedSin, pass], -1);
    }

    /// <summary>The sines of <see cref="ApplyRotary"/>: <paramref name="sin"/> [.., R] with its first R/2 columns
    /// negated.</summary>
    public static Tensor SignedSin(Tensor sin)
    {
        var half = sin.shape[^1] / 2;
        return cat([-sin.narrow(-1, 0, half), sin.narrow(-1, half, half)], -1);
    }

    /// <summary>q [B, T, H·D], k/v [B, T, Hkv·D] → attention output [B, T, H·D].</summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, int heads, int kvHeads, int headDim, LayerInputs inputs, KeyValueCache? cache, int layer)
    {
        var b = q.shape[0];
        var t = q.shape[1];
        q = q.view(b, t, heads, headDim).transpose(1, 2);
        k = k.view(b, t, kvHeads, headDim).transpose(1, 2);
        v = v.view(b, t, kvHeads, headDim).transpose(1, 2);
        if (inputs.Cos is not null && inputs.Sin is not null)
        {
            q = ApplyRotary(q, inputs.Cos, inputs.Sin);
            k = ApplyRotary(k, inputs.Cos, inputs.Sin);
        }
        if (cache is not null) (k, v) = cache.Append(layer, k, v);
        if (kvHeads != heads)
        {
            k = k.repeat_interleave(heads / kvHeads, dim: 1);
            v = v.repeat_interleave(heads / kvHeads, dim: 1);
        }
        var o = inputs.Mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
            : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: inputs.Mask);
        return o.transpose(1, 2).reshape(b, t, heads * headDim);
    }
}

/// <summary>One decoder layer: maps the residual stream [B, T, H] to the next.</summary>
internal abstract class DecoderLayer(string name) : nn.Module(name)
{
    public abstract Tensor Forward(Tensor x, LayerInputs inputs, KeyValueCache? cache, int index);

    /// <summary>Trained tensors that the layer's forward uses without owning them (a LoRA adapter's A and B, applied
    /// by forward hooks on its projections): gradient checkpointing passes them on as it does the layer's own
    /// weights.</summary>
    public List<Tensor> AttachedWeights { get; } = [];
}

/// <summary>GPT-2 attention: fused c_attn (Conv1D) and c_proj.</summary>
internal sealed class Gpt2Attention : nn.Module
{
    private readonly Conv1D c_attn;
    private readonly Conv1D c_proj;
    private readonly TransformerConfig config;

    public Gpt2Attention(TransformerConfig config) : base(nameof(Gpt2Attention))
    {
        this.config = config;
        c_attn = new Conv1D(config.HiddenSize, 3L * config.HiddenSize);
        c_proj = new Conv1D(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, LayerInputs inputs, KeyValueCache? cache, int index)
    {
        var qkv = c_attn.call(x).chunk(3, -1);
        var o = AttentionMath.Attend(qkv[0], qkv[1], qkv[2], config.NumHeads, config.NumHeads, config.HeadDim, inputs, cache, index);
        return c_proj.call(o);
    }
}

/// <summary>GPT-2 MLP: c_fc → activation → c_proj.</summary>
internal sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Conv1D c_fc;
    private readonly Conv1D c_proj;
    private readonly string activation;

    public Gpt2Mlp(TransformerConfig config) : base(nameof(Gpt2Mlp))
    {
        activation = config.Activation;
        c_fc = new Conv1D(config.HiddenSize, config.IntermediateSize);
        c_proj = new Conv1D(config.IntermediateSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => c_proj.call(AttentionMath.Activate(activation, c_fc.call(x)));
}

/// <summary>GPT-2 block: x + attn(ln_1(x)), then + mlp(ln_2(x)).</summary>
internal sealed class Gpt2Block : DecoderLayer
{
    private readonly LayerNorm ln_1;
    private readonly Gpt2Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Gpt2Mlp mlp;

    public Gpt2Block(TransformerConfig config) : base(nameof(Gpt2Block))
    {
        ln_1 = nn.LayerNorm(config.HiddenSize, config.NormEpsilon);
        attn = new Gpt2Attention(config);
        ln_2 = nn.LayerNorm(config.HiddenSize, config.NormEpsilon);
        mlp = new Gpt2Mlp(config);
        RegisterComponents();
    }

    public override Tensor Forward(Tensor x, LayerInputs inputs, KeyValueCache? cache, int index)
    {
        x = x + attn.Forward(ln_1.call(x), inputs, cache, index);
        return x + mlp.call(ln_2.call(x));
    }
}

/// <summary>Rotary self-attention with separate q/k/v projections (llama, qwen2, mistral, phi). The output
/// projection is <c>o_proj</c> (llama) or <c>dense</c> (phi).</summary>
internal sealed class RotaryAttention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear? o_proj;
    private readonly Linear? dense;
    private readonly TransformerConfig config;

    public RotaryAttention(TransformerConfig config) : base(nameof(RotaryAttention))
    {
        this.config = config;
        var h = config.HiddenSize;
        var qd = config.NumHeads * config.HeadDim;
        var kvd = config.NumKeyValueHeads * config.HeadDim;
        q_proj = nn.Linear(h, qd, hasBias: config.QkvBias);
        k_proj = nn.Linear(h, kvd, hasBias: config.QkvBias);
        v_proj = nn.Linear(h, kvd, hasBias: config.QkvBias);
        if (config.Family == ArchitectureFamily.Phi) dense = nn.Linear(qd, h, hasBias: config.OutputProjectionBias);
        else o_proj = nn.Linear(qd, h, hasBias: config.OutputProjectionBias);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, LayerInputs inputs, KeyValueCache? cache, int index)
    {
        var o = AttentionMath.Attend(q_proj.call(x), k_proj.call(x), v_proj.call(x),
            config.NumHeads, config.NumKeyValueHeads, config.HeadDim, inputs, cache, index);
        return (o_proj ?? dense!).call(o);
    }
}

/// <summary>Llama MLP: down(act(gate(x)) · up(x)).</summary>
internal sealed class GatedMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;
    private readonly string activation;

    public GatedMlp(TransformerConfig config) : base(nameof(GatedMlp))
    {
        activation = config.Activation;
        gate_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias);
        up_proj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias);
        down_proj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: config.MlpBias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down_proj.call(AttentionMath.Activate(activation, gate_proj.call(x)) * up_proj.call(x));
}

/// <summary>Phi MLP: fc2(act(fc1(x))).</summary>
internal sealed class PhiMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly string activation;

    public PhiMlp(TransformerConfig config) : base(nameof(PhiMlp))
    {
        activation = config.Activation;
        fc1 = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: config.MlpBias);
        fc2 = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: config.MlpBias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.call(AttentionMath.Activate(activation, fc1.call(x)));
}

/// <summary>Llama decoder layer: x + attn(norm(x)), then + mlp(norm(x)).</summary>
internal sealed class LlamaDecoderLayer : DecoderLayer
{
    private readonly RotaryAttention self_attn;
    private readonly GatedMlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;

    public LlamaDecoderLayer(TransformerConfig config) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new RotaryAttention(config);
        mlp = new GatedMlp(config);
        input_layernorm = new RmsNorm(config.HiddenSize, config.NormEpsilon);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.NormEpsilon);
        RegisterComponents();
    }

    public override Tensor Forward(Tensor x, LayerInputs inputs, KeyValueCache? cache, int index)
    {
        x = x + self_attn.Forward(input_layernorm.call(x), inputs, cache, index);
        return x + mlp.call(post_attention_layernorm.call(x));
    }
}

/// <summary>Phi decoder layer: one LayerNorm feeding attention and MLP in parallel; x + attn(h) + mlp(h).</summary>
internal sealed class PhiDecoderLayer : DecoderLayer
{
    private readonly RotaryAttention self_attn;
    private readonly PhiMlp mlp;
    private readonly LayerNorm input_layernorm;

    public PhiDecoderLayer(TransformerConfig config) : base(nameof(PhiDecoderLayer))
    {
        self_attn = new RotaryAttention(config);
        mlp = new PhiMlp(config);
        input_layernorm = nn.LayerNorm(config.HiddenSize, config.NormEpsilon);
        RegisterComponents();
    }

    public override Tensor Forward(Tensor x, LayerInputs inputs, KeyValueCache? cache, int index)
    {
        var h = input_layernorm.call(x);
        return x + self_attn.Forward(h, inputs, cache, index) + mlp.call(h);
    }
}

/// <summary>The transformer body: embeddings, layers and final norm, under the family's key names.</summary>
internal abstract class Backbone(string name) : nn.Module(name)
{
    public abstract IReadOnlyList<DecoderLayer> Layers { get; }

    public abstract Tensor EmbeddingWeight { get; }

    public abstract Tensor Embed(Tensor inputIds, Tensor positionIds);

    public abstract Tensor FinalNorm(Tensor x);
}

/// <summary>GPT-2 body: transformer.wte, wpe, h.N, ln_f.</summary>
internal sealed class Gpt2Model : Backbone
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly ModuleList<DecoderLayer> h;
    private readonly LayerNorm ln_f;

    public Gpt2Model(TransformerConfig config) : base(nameof(Gpt2Model))
    {
        wte = nn.Embedding(config.VocabSize, config.HiddenSize);
        wpe = nn.Embedding(config.MaxPositions, config.HiddenSize);
        h = new ModuleList<DecoderLayer>(Enumerable.Range(0, config.NumLayers).Select(_ => (DecoderLayer)new Gpt2Block(config)).ToArray());
        ln_f = nn.LayerNorm(config.HiddenSize, config.NormEpsilon);
        RegisterComponents();
    }

    public override IReadOnlyList<DecoderLayer> Layers => [.. h];

    public override Tensor EmbeddingWeight => wte.weight!;

    public override Tensor Embed(Tensor inputIds, Tensor positionIds) => wte.call(inputIds) + wpe.call(positionIds);

    public override Tensor FinalNorm(Tensor x) => ln_f.call(x);
}

/// <summary>Llama/phi body: model.embed_tokens, layers.N, norm (llama) or final_layernorm (phi).</summary>
internal sealed class RotaryModel : Backbone
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderLayer> layers;
    private readonly RmsNorm? norm;
    private readonly LayerNorm? final_layernorm;

    public RotaryModel(TransformerConfig config) : base(nameof(RotaryModel))
    {
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        var phi = config.Family == ArchitectureFamily.Phi;
        layers = new ModuleList<DecoderLayer>(Enumerable.Range(0, config.NumLayers)
            .Select(_ => phi ? (DecoderLayer)new PhiDecoderLayer(config) : new LlamaDecoderLayer(config)).ToArray());
        if (phi) final_layernorm = nn.LayerNorm(config.HiddenSize, config.NormEpsilon);
        else norm = new RmsNorm(config.HiddenSize, config.NormEpsilon);
        RegisterComponents();
    }

    public override IReadOnlyList<DecoderLayer> Layers => [.. layers];

    public override Tensor EmbeddingWeight => embed_tokens.weight!;

    public override Tensor Embed(Tensor inputIds, Tensor positionIds) => embed_tokens.call(inputIds);

    public override Tensor FinalNorm(Tensor x) => norm is not null ? norm.call(x) : final_layernorm!.call(x);
}
