using static TorchSharp.torch;

namespace Unlearn.Plugins;

/// <summary>A padded batch of prompt+answer sequences. <see cref="Labels"/> is aligned with
/// <see cref="InputIds"/> (Hugging Face convention: the logits at position t predict the label at t + 1);
/// it holds the token id on answer tokens (EOS included) and <see cref="IgnoreIndex"/> on question tokens
/// and padding.</summary>
/// <param name="InputIds">[B, T] int64.</param>
/// <param name="AttentionMask">[B, T] int64, 1 for real tokens.</param>
/// <param name="Labels">[B, T] int64.</param>
public sealed record TokenBatch(Tensor InputIds, Tensor AttentionMask, Tensor Labels)
{
    /// <summary>The label value of tokens that carry no loss.</summary>
    public const long IgnoreIndex = -100;

    /// <summary>Number of sequences.</summary>
    public int Size => (int)InputIds.shape[0];
}

/// <summary>Formats question/answer pairs with the model's prompt template and tokenizes them
/// exactly as training and evaluation do.</summary>
public interface IBatchEncoder
{
    /// <summary>A padded batch with answer-only labels (EOS included).</summary>
    TokenBatch Encode(IReadOnlyList<(string Question, string Answer)> pairs);

    /// <summary>The prompt text for a question (what generation starts from).</summary>
    string FormatPrompt(string question);

    /// <summary>Token ids of the formatted prompt and of the answer (EOS last), exactly as
    /// <see cref="Encode"/> lays them out.</summary>
    (IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer) Tokenize(string question, string answer);
}

/// <summary>What an objective sees at one optimiser step.</summary>
public sealed record UnlearnBatch
{
    /// <summary>Forget examples, encoded.</summary>
    public required TokenBatch Forget { get; init; }

    /// <summary>The forget rows behind <see cref="Forget"/>.</summary>
    public required IReadOnlyList<QaItem> ForgetItems { get; init; }

    /// <summary>Positions of <see cref="ForgetItems"/> in the forget split (to look up precomputed statistics).</summary>
    public required IReadOnlyList<int> ForgetIndices { get; init; }

    /// <summary>Retain examples, encoded; null unless the objective asks for them.</summary>
    public TokenBatch? Retain { get; init; }

    /// <summary>The retain rows behind <see cref="Retain"/>.</summary>
    public IReadOnlyList<QaItem>? RetainItems { get; init; }
}
