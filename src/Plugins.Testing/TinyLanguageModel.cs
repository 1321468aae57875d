using TorchSharp;
using TorchSharp.Modules;
using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Plugins.Testing;

/// <summary>A tiny causal LM with Hugging Face-like parameter names (model.embed_tokens, model.layers.{i}.mlp.fc1/fc2,
/// model.layers.{i}.mix, model.norm, lm_head). Each block adds an MLP of the current state and a linear map of the
/// previous position's state (causal).</summary>
internal sealed class TinyCausalLm : nn.Module
{
    private readonly TinyDecoder model;
    private readonly Linear lm_head;

    public TinyCausalLm(int vocab, int hidden, int layers) : base(nameof(TinyCausalLm))
    {
        model = new TinyDecoder(vocab, hidden, layers);
        lm_head = nn.Linear(hidden, vocab, hasBias: false);
        RegisterComponents();
    }

    public (Tensor Logits, List<Tensor> Hidden) Run(Tensor ids)
    {
        var hidden = model.Run(ids);
        return (Head(hidden[^1]), hidden);
    }

    public Tensor Head(Tensor h) => lm_head.call(model.Norm(h));
}

internal sealed class TinyDecoder : nn.Module
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<TinyBlock> layers;
    private readonly LayerNorm norm;

    public TinyDecoder(int vocab, int hidden, int count) : base(nameof(TinyDecoder))
    {
        embed_tokens = nn.Embedding(vocab, hidden);
        layers = new ModuleList<TinyBlock>(Enumerable.Range(0, count).Select(_ => new TinyBlock(hidden)).ToArray());
        norm = nn.LayerNorm(hidden);
        RegisterComponents();
    }

    public List<Tensor> Run(Tensor ids)
    {
        var h = embed_tokens.call(ids);
        var states = new List<Tensor> { h };
        foreach (var layer in layers)
        {
            h = layer.Run(h);
            states.Add(h);
        }
        return states;
    }

    public Tensor Norm(Tensor h) => norm.call(h);
}

internal sealed class TinyBlock : nn.Module
{
    private readonly TinyMlp mlp;
    private readonly Linear mix;

    public TinyBlock(int hidden) : base(nameof(TinyBlock))
    {
        mlp = new TinyMlp(hidden);
        mix = nn.Linear(hidden, hidden, hasBias: false);
        RegisterComponents();
    }

    public Tensor Run(Tensor h)
    {
        var t = h.shape[1];
        var previous = nn.functional.pad(h.narrow(1, 0, t - 1), [0, 0, 1, 0]);
        return h + mlp.Run(h) + mix.call(previous);
    }
}

internal sealed class TinyMlp : nn.Module
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public TinyMlp(int hidden) : base(nameof(TinyMlp))
    {
        fc1 = nn.Linear(hidden, 2 * hidden);
        fc2 = nn.Linear(2 * hidden, hidden);
        RegisterComponents();
    }

    public Tensor Run(Tensor h) => fc2.call(nn.functional.gelu(fc1.call(h)));
}

/// <summary>A tiny causal language model seen through the SDK, for tests of objectives, metrics and attacks: 24 tokens
/// (those of <see cref="CharacterEncoder"/>), hidden size 16, 2 layers, Hugging Face-like parameter names
/// (<c>model.embed_tokens</c>, <c>model.layers.{i}.mlp.fc1</c>/<c>fc2</c>, <c>model.layers.{i}.mix</c>,
/// <c>model.norm</c>, <c>lm_head</c>). Trains in a fraction of a second on a CPU.</summary>
public sealed class TinyLanguageModel : ILanguageModel
{
    /// <summary>The vocabulary size.</summary>
    public const int Vocab = 24;

    /// <summary>The hidden size.</summary>
    public const int Hidden = 16;

    /// <summary>The number of layers.</summary>
    public const int Layers = 2;

    private readonly TinyCausalLm _module;

    /// <summary>A model initialised from <paramref name="seed"/> (it seeds TorchSharp's global generator).</summary>
    public TinyLanguageModel(int seed)
    {
        manual_seed(seed);
        _module = new TinyCausalLm(Vocab, Hidden, Layers);
        Description = new ModelDescription("tiny", Hidden, Layers, Vocab, 256);
    }

    /// <inheritdoc />
    public ModelDescription Description { get; }

    /// <inheritdoc />
    public nn.Module Module => _module;

    /// <inheritdoc />
    public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false)
    {
        var (logits, hidden) = _module.Run(inputIds);
        return new ModelOutput(logits, outputHiddenStates ? hidden : null);
    }

    /// <inheritdoc />
    public Tensor Head(Tensor hidden) => _module.Head(hidden);

    /// <summary>Copies every parameter of <paramref name="source"/> into this model.</summary>
    public void CopyFrom(TinyLanguageModel source)
    {
        using var noGrad = no_grad();
        var from = source.Module.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in Module.named_parameters()) parameter.copy_(from[name]);
    }
}
