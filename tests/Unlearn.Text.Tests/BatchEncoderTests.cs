using Unlearn.Plugins;

namespace Unlearn.Text.Tests;

public class BatchEncoderTests
{
    private static int C(char c) => c + 10;

    [Fact]
    public void Default_template_splits_prompt_and_answer_at_one_space()
    {
        var t = PromptTemplate.Default;
        Assert.Equal("Question: Who?\nAnswer:", t.FormatPrompt("Who?"));
        Assert.Equal(" Me.", t.FormatAnswer("Me."));
        Assert.Equal("Question: Who?\nAnswer: Me.", t.Format("Who?", "Me."));
    }

    [Fact]
    public void Custom_template_accepts_short_placeholders()
    {
        var t = new PromptTemplate("<q>{q}</q>\n{a}");
        Assert.Equal("<q>x</q>", t.FormatPrompt("x"));
        Assert.Equal("\ny", t.FormatAnswer("y"));
        Assert.Equal("\n", t.AnswerSeparator);
    }

    [Theory]
    [InlineData("Q: {question}", "needs a {answer}")]
    [InlineData("A: {answer} Q: {question}", "before the answer")]
    [InlineData("Q: {question} A: {answer}!", "must end with the answer")]
    [InlineData("{q} {question} {answer}", "once")]
    public void Bad_templates_are_refused_with_a_reason(string template, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => new PromptTemplate(template));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Encode_lays_out_prompt_answer_eos_with_masked_labels_and_right_padding()
    {
        var encoder = new BatchEncoder(new CharTokenizer(), new PromptTemplate("{question}:{answer}"));
        using var batch = new DisposableBatch(encoder.Encode([("ab", "c"), ("x", "yz")]));
        // Row 0: prompt "ab:" then answer "c" then EOS -> 5 tokens; row 1: "x:" "yz" EOS -> 5 tokens.
        // The separator is empty here (no whitespace before {answer}).
        long[] ids0 = [C('a'), C('b'), C(':'), C('c'), 1];
        long[] ids1 = [C('x'), C(':'), C('y'), C('z'), 1];
        Assert.Equal(ids0, batch.Value.InputIds[0].data<long>().ToArray());
        Assert.Equal(ids1, batch.Value.InputIds[1].data<long>().ToArray());
        Assert.Equal(new long[] { -100, -100, -100, C('c'), 1 }, batch.Value.Labels[0].data<long>().ToArray());
        Assert.Equal(new long[] { -100, -100, C('y'), C('z'), 1 }, batch.Value.Labels[1].data<long>().ToArray());
        Assert.All(batch.Value.AttentionMask.data<long>().ToArray(), m => Assert.Equal(1L, m));
    }

    [Fact]
    public void Shorter_rows_are_padded_on_the_right_with_pad_id_mask_zero_and_ignored_labels()
    {
        var encoder = new BatchEncoder(new CharTokenizer(), PromptTemplate.Default);
        using var batch = new DisposableBatch(encoder.Encode([("q", "a"), ("longer question", "a")]));
        var (p, a) = encoder.Tokenize("q", "a");
        var length = p.Count + a.Count;
        var width = (int)batch.Value.InputIds.shape[1];
        Assert.True(width > length);
        var ids = batch.Value.InputIds[0].data<long>().ToArray();
        var mask = batch.Value.AttentionMask[0].data<long>().ToArray();
        var labels = batch.Value.Labels[0].data<long>().ToArray();
        for (var i = length; i < width; i++)
        {
            Assert.Equal(0L, ids[i]);
            Assert.Equal(0L, mask[i]);
            Assert.Equal(TokenBatch.IgnoreIndex, labels[i]);
        }
        Assert.Equal(ScalarType.Int64, batch.Value.InputIds.dtype);
        // "Question: q\nAnswer:" is 19 characters; the answer part is " a" + EOS.
        Assert.Equal(19, p.Count);
        Assert.Equal(new[] { C(' '), C('a'), 1 }, a);
        Assert.Equal(p.Concat(a).Select(x => (long)x), ids.Take(length));
    }

    [Fact]
    public void Truncation_drops_the_prompt_start_and_keeps_the_answer_and_eos()
    {
        var encoder = new BatchEncoder(new CharTokenizer(), new PromptTemplate("{question}{answer}"), maxLength: 6);
        var (prompt, answer) = encoder.Tokenize("abcdef", "xy");
        Assert.Equal(new[] { C('d'), C('e'), C('f') }, prompt);
        Assert.Equal(new[] { C('x'), C('y'), 1 }, answer);
    }

    [Fact]
    public void Too_long_answers_keep_one_prompt_token_and_lose_their_end()
    {
        var encoder = new BatchEncoder(new CharTokenizer(), new PromptTemplate("{question}{answer}"), maxLength: 4);
        var (prompt, answer) = encoder.Tokenize("abc", "vwxyz");
        Assert.Equal(new[] { C('c') }, prompt);
        Assert.Equal(new[] { C('v'), C('w'), C('x') }, answer);
    }

    [Fact]
    public void Bos_is_prepended_and_survives_prompt_truncation()
    {
        var encoder = new BatchEncoder(new CharTokenizer(), new PromptTemplate("{question}{answer}"), maxLength: 6, bosId: 2);
        Assert.Equal(new[] { 2, C('a') }, encoder.Tokenize("a", "b").Prompt);
        var (prompt, answer) = encoder.Tokenize("abcdef", "xy");
        Assert.Equal(new[] { 2, C('e'), C('f') }, prompt);
        Assert.Equal(3, answer.Count);
    }

    [Fact]
    public void Tokenize_matches_encode_and_is_deterministic()
    {
        var encoder = new BatchEncoder(ModelTokenizer.Gpt2());
        var first = encoder.Tokenize("Where was Kalo Venson born?", "Kalo Venson was born in the city of Astholm.");
        var again = encoder.Tokenize("Where was Kalo Venson born?", "Kalo Venson was born in the city of Astholm.");
        Assert.Equal(first.Prompt, again.Prompt);
        Assert.Equal(first.Answer, again.Answer);
        using var batch = new DisposableBatch(encoder.Encode([("Where was Kalo Venson born?", "Kalo Venson was born in the city of Astholm.")]));
        Assert.Equal(first.Prompt.Concat(first.Answer).Select(x => (long)x), batch.Value.InputIds[0].data<long>().ToArray());
        Assert.Equal(50256, first.Answer[^1]);
        Assert.Equal(" Kalo Venson was born in the city of Astholm.", encoder.Tokenizer.Decode(first.Answer));
    }

    [Fact]
    public void Empty_batches_and_tiny_max_lengths_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new BatchEncoder(new CharTokenizer()).Encode([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchEncoder(new CharTokenizer(), maxLength: 1));
    }

    private sealed class DisposableBatch(TokenBatch value) : IDisposable
    {
        public TokenBatch Value { get; } = value;

        public void Dispose()
        {
            Value.InputIds.Dispose();
            Value.AttentionMask.Dispose();
            Value.Labels.Dispose();
        }
    }
}
