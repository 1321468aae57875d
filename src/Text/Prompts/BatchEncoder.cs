using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Text;

/// <summary>Formats question/answer pairs with a <see cref="PromptTemplate"/> and tokenizes them for training and
/// evaluation. Layout of one sequence: [BOS if the tokenizer asks for it] prompt ids, then answer ids (the answer
/// part, see <see cref="PromptTemplate.FormatAnswer"/>), then EOS. The prompt and the answer part are tokenized
/// separately, so the answer's ids never depend on the question.
/// <para>Labels are the token ids on answer tokens (EOS included) and <see cref="TokenBatch.IgnoreIndex"/> on
/// prompt tokens and padding; padding is on the right with the tokenizer's pad id and attention mask 0.</para>
/// <para>Truncation to <see cref="MaxLength"/>: when prompt + answer + EOS is too long, prompt tokens are dropped
/// from the prompt's start (a BOS stays in front). Only when the answer with its EOS alone does not fit in
/// <c>MaxLength − 1</c> tokens is the prompt cut to its last token and the answer cut at its end (so the EOS is
/// lost). At least one prompt token is kept whenever the prompt has one, because the first answer token is
/// predicted from the position before it.</para></summary>
public sealed class BatchEncoder : IBatchEncoder
{
    /// <summary>The default longest sequence.</summary>
    public const int DefaultMaxLength = 512;

    /// <summary>Creates an encoder.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="template">The prompt template; null for <see cref="PromptTemplate.Default"/>.</param>
    /// <param name="maxLength">Longest sequence in tokens (at least 2).</param>
    /// <param name="bosId">An id put before every prompt (Llama-style models), or null for none. When null and the
    /// tokenizer is a <see cref="ModelTokenizer"/> whose folder asks for a BOS, or the template is a chat template that
    /// starts with the BOS token, the tokenizer's BOS is used.</param>
    public BatchEncoder(ITokenizerView tokenizer, PromptTemplate? template = null, int maxLength = DefaultMaxLength, int? bosId = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "max_length must be at least 2");
        Tokenizer = tokenizer;
        Template = template ?? PromptTemplate.Default;
        MaxLength = maxLength;
        BosId = bosId ?? (tokenizer is ModelTokenizer { BosId: { } b } modelTokenizer
            && (modelTokenizer.AddBos || Template.Chat is { StartsWithBos: true }) ? b : null);
        _answerWithoutSeparator = tokenizer is ModelTokenizer { AddsDummyPrefix: true };
    }

    private readonly bool _answerWithoutSeparator;

    /// <summary>The tokenizer.</summary>
    public ITokenizerView Tokenizer { get; }

    /// <summary>The prompt template.</summary>
    public PromptTemplate Template { get; }

    /// <summary>Longest sequence in tokens.</summary>
    public int MaxLength { get; }

    /// <summary>The id put before every prompt, or null.</summary>
    public int? BosId { get; }

    /// <inheritdoc />
    public string FormatPrompt(string question) => Template.FormatPrompt(question);

    /// <summary>Token ids of a formatted prompt as generation starts from it: BOS (if any) and the prompt, cut from
    /// the start to at most <see cref="MaxLength"/> − 1 tokens.</summary>
    public IReadOnlyList<int> EncodePrompt(string question)
    {
        var prompt = PromptIds(question);
        return Truncate(prompt, [], out _);
    }

    /// <inheritdoc />
    public (IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer) Tokenize(string question, string answer)
    {
        var prompt = PromptIds(question);
        var answerIds = new List<int>(Tokenizer.Encode(_answerWithoutSeparator ? answer : Template.FormatAnswer(answer)));
        answerIds.Add(Tokenizer.EosId);
        var keptPrompt = Truncate(prompt, answerIds, out var keptAnswer);
        return (keptPrompt, keptAnswer);
    }

    /// <inheritdoc />
    public TokenBatch Encode(IReadOnlyList<(string Question, string Answer)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return Collate(pairs.Select(p => Tokenize(p.Question, p.Answer)).ToList());
    }

    /// <summary>The padded batch of sequences already split by <see cref="Tokenize"/> (training tokenizes each item once
    /// and collates its batches from those ids).</summary>
    public TokenBatch Collate(IReadOnlyList<(IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer)> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("cannot encode an empty batch", nameof(sequences));
        var width = sequences.Max(s => s.Prompt.Count + s.Answer.Count);
        var count = sequences.Count;
        var ids = new long[count * width];
        var mask = new long[count * width];
        var labels = new long[count * width];
        Array.Fill(ids, Tokenizer.PadId);
        Array.Fill(labels, TokenBatch.IgnoreIndex);
        for (var b = 0; b < count; b++)
        {
            var (prompt, answer) = sequences[b];
            var row = b * width;
            for (var i = 0; i < prompt.Count; i++)
            {
                ids[row + i] = prompt[i];
                mask[row + i] = 1;
            }
            for (var i = 0; i < answer.Count; i++)
            {
                var at = row + prompt.Count + i;
                ids[at] = answer[i];
                labels[at] = answer[i];
                mask[at] = 1;
            }
        }
        long[] shape = [count, width];
        return new TokenBatch(tensor(ids, shape, ScalarType.Int64), tensor(mask, shape, ScalarType.Int64), tensor(labels, shape, ScalarType.Int64));
    }

    private List<int> PromptIds(string question)
    {
        var prompt = new List<int>();
        if (BosId is { } bos) prompt.Add(bos);
        prompt.AddRange(Tokenizer.Encode(Template.FormatPrompt(question)));
        return prompt;
    }

    /// <summary>Applies the truncation rule; returns the kept prompt and, through <paramref name="keptAnswer"/>, the kept answer.</summary>
    private IReadOnlyList<int> Truncate(List<int> prompt, List<int> answer, out IReadOnlyList<int> keptAnswer)
    {
        keptAnswer = answer;
        if (answer.Count == 0)
        {
            // A prompt for generation leaves room for at least one new token.
            return prompt.Count < MaxLength ? prompt : CutPromptStart(prompt, MaxLength - 1);
        }
        if (prompt.Count + answer.Count <= MaxLength) return prompt;
        var minPrompt = Math.Min(prompt.Count, 1);
        if (answer.Count <= MaxLength - minPrompt)
            return CutPromptStart(prompt, MaxLength - answer.Count);
        keptAnswer = answer.GetRange(0, MaxLength - minPrompt);
        return CutPromptStart(prompt, minPrompt);
    }

    private List<int> CutPromptStart(List<int> prompt, int keep)
    {
        if (keep >= prompt.Count) return prompt;
        if (keep <= 0) return [];
        if (BosId is { } bos && keep >= 2 && prompt.Count > 0 && prompt[0] == bos)
        {
            var kept = new List<int>(keep) { bos };
            kept.AddRange(prompt.GetRange(prompt.Count - (keep - 1), keep - 1));
            return kept;
        }
        return prompt.GetRange(prompt.Count - keep, keep);
    }
}
