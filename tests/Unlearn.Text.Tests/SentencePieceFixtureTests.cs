using System.Text.Json;

namespace Unlearn.Text.Tests;

/// <summary>The SentencePiece (<c>tokenizer.model</c>) path of <see cref="ModelTokenizer"/> against the sentencepiece
/// library itself: Fixtures/sentencepiece holds three models trained by scripts/fixtures/sentencepiece_fixtures.py and
/// the ids and decoded text that library gave for a list of probe strings.</summary>
public sealed class SentencePieceFixtureTests
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "sentencepiece");
    private static readonly JsonElement Fixtures =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "fixtures.json"))).RootElement.GetProperty("models");

    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var model in Fixtures.EnumerateObject())
            for (var i = 0; i < model.Value.GetProperty("cases").GetArrayLength(); i++) data.Add(model.Name, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Encoding_matches_the_sentencepiece_library(string model, int index)
    {
        var tokenizer = ModelTokenizer.Load(Path.Combine(Root, model));
        var c = Fixtures.GetProperty(model).GetProperty("cases")[index];
        var text = c.GetProperty("text").GetString()!;
        var expected = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(expected, tokenizer.Encode(text));
        // Decode drops special ids, unknown included, where sentencepiece writes " ⁇ ".
        var unknown = Fixtures.GetProperty(model).GetProperty("unk").GetInt32();
        if (!expected.Contains(unknown)) Assert.Equal(c.GetProperty("decoded").GetString(), tokenizer.Decode(expected));
    }

    [Theory]
    [InlineData("bpe")]
    [InlineData("bpe-unk")]
    [InlineData("unigram")]
    public void Special_ids_and_vocabulary_size_come_from_the_model(string model)
    {
        var tokenizer = ModelTokenizer.Load(Path.Combine(Root, model));
        var f = Fixtures.GetProperty(model);
        Assert.Equal(TokenizerFormat.SentencePiece, tokenizer.Format);
        Assert.Equal(f.GetProperty("vocab_size").GetInt32(), tokenizer.VocabSize);
        Assert.Equal(f.GetProperty("eos").GetInt32(), tokenizer.EosId);
        Assert.Equal(f.GetProperty("bos").GetInt32(), tokenizer.BosId);
        Assert.Equal(tokenizer.EosId, tokenizer.PadId);
        Assert.True(tokenizer.AddBos);
        Assert.True(tokenizer.AddsDummyPrefix);
    }

    [Fact]
    public void A_unigram_model_without_bos_loads_with_its_eos_and_adds_no_bos()
    {
        var tokenizer = ModelTokenizer.Load(Path.Combine(Root, "unigram-t5"));
        Assert.Null(tokenizer.BosId);
        Assert.False(tokenizer.AddBos);
        Assert.Equal(1, tokenizer.EosId);
        var (prompt, answer) = new BatchEncoder(tokenizer).Tokenize("Where was Kalo born?", "In Astholm.");
        Assert.Equal(tokenizer.Encode("Question: Where was Kalo born?\nAnswer:"), prompt);
        Assert.Equal(1, answer[^1]);
    }

    [Fact]
    public void A_unigram_model_without_bos_and_eos_loads_with_the_eos_its_config_names()
    {
        // Fixtures/sentencepiece/unigram-albert has ALBERT's tokenizer_config.json: [SEP] ends, [CLS] begins, no BOS added.
        var tokenizer = ModelTokenizer.Load(Path.Combine(Root, "unigram-albert"));
        Assert.Equal(3, tokenizer.EosId);
        Assert.Equal(2, tokenizer.BosId);
        Assert.Equal(0, tokenizer.PadId);
        Assert.False(tokenizer.AddBos);
        var dir = Path.Combine(Path.GetTempPath(), "unlearn-sp-albert-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.Copy(Path.Combine(Root, "unigram-albert", "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
            var error = Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(dir)).Message;
            Assert.Contains($"{dir}: no end-of-sequence token; set eos_token in tokenizer_config.json or eos_token_id in config.json", error);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Added_tokens_of_tokenizer_config_are_matched_before_the_model()
    {
        var dir = Path.Combine(Path.GetTempPath(), "unlearn-sp-added-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.Copy(Path.Combine(Root, "bpe", "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": "<|end|>", "add_bos_token": true,
                 "added_tokens_decoder": {"1": {"content": "<s>", "special": true}, "2": {"content": "</s>", "special": true},
                                          "800": {"content": "<|user|>", "special": true}, "801": {"content": "<|end|>", "special": true}}}
                """);
            var tokenizer = ModelTokenizer.Load(dir);
            var plain = ModelTokenizer.Load(Path.Combine(Root, "bpe"));
            Assert.Equal(802, tokenizer.VocabSize);
            Assert.Equal(801, tokenizer.EosId);
            Assert.Equal(1, tokenizer.BosId);
            var ids = tokenizer.Encode("<|user|>Hello world<|end|>");
            Assert.Equal(800, ids[0]);
            Assert.Equal(801, ids[^1]);
            Assert.DoesNotContain(0, ids);
            Assert.Equal("Hello world", tokenizer.Decode(ids).Trim());
            // Without the config the same text is spelled out piece by piece.
            Assert.DoesNotContain(800, plain.Encode("<|user|>Hello world"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
