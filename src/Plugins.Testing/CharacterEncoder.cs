using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Plugins.Testing;

/// <summary>Character-level encoder for <see cref="TinyLanguageModel"/>: pad 0, EOS 1, every character c -> 2 + c mod 22.
/// Prompt "Q:{question} A:", labels on the answer tokens and EOS, right padding. Remembers what it encoded.</summary>
public sealed class CharacterEncoder : IBatchEncoder
{
    /// <summary>The padding token id.</summary>
    public const int PadId = 0;

    /// <summary>The end-of-sequence token id.</summary>
    public const int EosId = 1;

    /// <summary>Every (question, answer) pair encoded so far, in order.</summary>
    public List<(string Question, string Answer)> Encoded { get; } = [];

    /// <summary>The token id of a character.</summary>
    public static int TokenOf(char c) => 2 + c % (TinyLanguageModel.Vocab - 2);

    /// <inheritdoc />
    public TokenBatch Encode(IReadOnlyList<(string Question, string Answer)> pairs)
    {
        Encoded.AddRange(pairs);
        var rows = pairs.Select(p => Tokenize(p.Question, p.Answer)).ToList();
        var width = rows.Max(r => r.Prompt.Count + r.Answer.Count);
        var ids = new long[pairs.Count * width];
        var attention = new long[pairs.Count * width];
        var labels = Enumerable.Repeat(TokenBatch.IgnoreIndex, pairs.Count * width).ToArray();
        for (var b = 0; b < rows.Count; b++)
        {
            var (prompt, answer) = rows[b];
            var all = prompt.Concat(answer).ToList();
            for (var t = 0; t < width; t++)
            {
                var i = b * width + t;
                ids[i] = t < all.Count ? all[t] : PadId;
                attention[i] = t < all.Count ? 1 : 0;
                if (t >= prompt.Count && t < all.Count) labels[i] = all[t];
            }
        }
        return new TokenBatch(tensor(ids, pairs.Count, width), tensor(attention, pairs.Count, width), tensor(labels, pairs.Count, width));
    }

    /// <inheritdoc />
    public string FormatPrompt(string question) => $"Q:{question} A:";

    /// <inheritdoc />
    public (IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer) Tokenize(string question, string answer) =>
        (FormatPrompt(question).Select(TokenOf).ToList(), answer.Select(TokenOf).Append(EosId).ToList());
}

/// <summary>The tokenizer matching <see cref="CharacterEncoder"/>: one token per character.</summary>
public sealed class CharacterTokenizer : ITokenizerView
{
    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text) => text.Select(CharacterEncoder.TokenOf).ToList();

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Select(i => (char)('a' + i)));

    /// <inheritdoc />
    public int EosId => CharacterEncoder.EosId;

    /// <inheritdoc />
    public int PadId => CharacterEncoder.PadId;

    /// <inheritdoc />
    public int VocabSize => TinyLanguageModel.Vocab;
}
