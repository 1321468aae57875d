using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins;

/// <summary>Shape facts about a decoder-only language model, read from its config.</summary>
/// <param name="Family">Architecture family: "gpt2", "llama" or "phi".</param>
/// <param name="HiddenSize">Width of the residual stream.</param>
/// <param name="NumLayers">Number of decoder layers.</param>
/// <param name="VocabSize">Size of the output vocabulary.</param>
/// <param name="MaxPositions">Longest sequence the model accepts.</param>
public sealed record ModelDescription(string Family, int HiddenSize, int NumLayers, int VocabSize, int MaxPositions);

/// <summary>What one forward pass returns. Hidden states follow the Hugging Face convention:
/// index 0 is the embedding output, index i the output of layer i (NumLayers + 1 tensors, each [B, T, H]);
/// null unless asked for.</summary>
public sealed record ModelOutput(Tensor Logits, IReadOnlyList<Tensor>? HiddenStates);

/// <summary>A causal language model as plugins see it. Tensors returned follow TorchSharp's dispose-scope
/// rules: the host runs every step inside a scope.</summary>
public interface ILanguageModel
{
    /// <summary>Shape facts.</summary>
    ModelDescription Description { get; }

    /// <summary>The TorchSharp module (parameters, train/eval mode, state dict with Hugging Face names).</summary>
    nn.Module Module { get; }

    /// <summary>Runs the model. <paramref name="inputIds"/> and <paramref name="attentionMask"/> are [B, T] int64;
    /// the mask is 1 for real tokens and 0 for padding (right padding). Logits are [B, T, V].</summary>
    ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false);

    /// <summary>The final norm and output head applied to a hidden state of any layer (the logit lens).</summary>
    Tensor Head(Tensor hidden);

    /// <summary>The last layer's hidden states [B, T, H], before the final norm (what <see cref="Head"/> takes), without
    /// computing logits: losses and metrics apply the head only where they need logits (see
    /// <see cref="AnswerLoss.TokenNll(ILanguageModel, TokenBatch, double)"/>). The default runs <see cref="Forward"/>;
    /// models override it to skip the output head.</summary>
    Tensor LastHiddenState(Tensor inputIds, Tensor attentionMask) =>
        Forward(inputIds, attentionMask, outputHiddenStates: true).HiddenStates is { Count: > 0 } hidden ? hidden[^1]
            : throw new NotSupportedException($"{GetType().Name} returns no hidden states; implement ILanguageModel.LastHiddenState.");
}

/// <summary>The tokenizer of the model under study.</summary>
public interface ITokenizerView
{
    /// <summary>Token ids of a text, without special tokens.</summary>
    IReadOnlyList<int> Encode(string text);

    /// <summary>Text of token ids; special tokens are dropped.</summary>
    string Decode(IEnumerable<int> ids);

    /// <summary>End-of-sequence id, appended after every answer.</summary>
    int EosId { get; }

    /// <summary>Id used for padding (masked out everywhere).</summary>
    int PadId { get; }

    /// <summary>Number of ids.</summary>
    int VocabSize { get; }
}
