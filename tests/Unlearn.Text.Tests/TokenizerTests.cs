using Unlearn.Data;
using Unlearn.Tests;

namespace Unlearn.Text.Tests;

public sealed class TokenizerTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("unlearn-tok");

    public void Dispose() => Directory.Delete(_dir, true);

    // A hand-made byte-level BPE: 'Ġ' is GPT-2's stand-in for a space.
    private const string Vocab = """
        {"h": 0, "e": 1, "l": 2, "o": 3, "Ġ": 4, "w": 5, "r": 6, "d": 7, "he": 8, "ll": 9, "hell": 10, "hello": 11,
         "Ġw": 12, "or": 13, "Ġwor": 14, "Ġworl": 15, "Ġworld": 16, "<|endoftext|>": 17}
        """;

    private static readonly string[] Merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d"];

    private string Folder(string name, params (string File, string Content)[] files)
    {
        var dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        foreach (var (file, content) in files) File.WriteAllText(Path.Combine(dir, file), content);
        return dir;
    }

    [Fact]
    public void Builtin_gpt2_gives_the_known_ids_and_round_trips()
    {
        var gpt2 = ModelTokenizer.Gpt2();
        Assert.Equal([15496, 995], gpt2.Encode("Hello world"));
        Assert.Equal(50256, gpt2.EosId);
        Assert.Equal(50256, gpt2.PadId);
        Assert.Equal(50257, gpt2.VocabSize);
        const string text = "Question: Où est né Kalo Venson?\nAnswer: à Astholm, en 1961.";
        Assert.Equal(text, gpt2.Decode(gpt2.Encode(text)));
        Assert.Equal("Hello", gpt2.Decode([15496, 50256]));
    }

    [Fact]
    public void Vocab_and_merges_files_load_as_byte_level_bpe()
    {
        var dir = Folder("bpe", ("vocab.json", Vocab), ("merges.txt", "#version: 0.2\n" + string.Join("\n", Merges) + "\n"));
        var tokenizer = ModelTokenizer.Load(dir);
        Assert.Equal(TokenizerFormat.ByteLevelBpe, tokenizer.Format);
        // Worked by hand: "hello" merges h+e, l+l, he+ll, hell+o; " world" merges Ġ+w, o+r, Ġw+or, +l, +d.
        Assert.Equal([11, 16], tokenizer.Encode("hello world"));
        // "held": h+e merges, "l" and "d" stay.
        Assert.Equal([8, 2, 7], tokenizer.Encode("held"));
        Assert.Equal("hello world", tokenizer.Decode([11, 16, 17]));
        Assert.Equal(17, tokenizer.EosId);
        Assert.Equal(17, tokenizer.PadId);
        Assert.Equal(18, tokenizer.VocabSize);
    }

    [Fact]
    public void Tokenizer_json_and_special_token_files_are_read()
    {
        var merges = string.Join(", ", Merges.Select(m => "\"" + m + "\""));
        var json = "{\"added_tokens\": [{\"id\": 17, \"content\": \"<|endoftext|>\", \"special\": true}, {\"id\": 18, \"content\": \"<pad>\", \"special\": true}],"
            + " \"pre_tokenizer\": {\"type\": \"ByteLevel\"},"
            + " \"model\": {\"type\": \"BPE\", \"vocab\": " + Vocab + ", \"merges\": [" + merges + "]}}";
        var dir = Folder("json", ("tokenizer.json", json),
            ("special_tokens_map.json", """{"eos_token": {"content": "<|endoftext|>"}, "pad_token": "<pad>"}"""));
        var tokenizer = ModelTokenizer.Load(dir);
        Assert.Equal([11, 16], tokenizer.Encode("hello world"));
        Assert.Equal(17, tokenizer.EosId);
        Assert.Equal(18, tokenizer.PadId);
        Assert.Equal(19, tokenizer.VocabSize);
        Assert.Equal("hello", tokenizer.Decode([11, 18, 18]));
    }

    [Fact]
    public void Config_json_ids_and_tokenizer_config_take_their_turn()
    {
        var dir = Folder("cfg", ("vocab.json", Vocab), ("merges.txt", string.Join("\n", Merges)),
            ("config.json", """{"eos_token_id": 16, "bos_token_id": 4, "pad_token_id": null}"""));
        var tokenizer = ModelTokenizer.Load(dir);
        Assert.Equal(16, tokenizer.EosId);
        Assert.Equal(16, tokenizer.PadId);
        Assert.Equal(4, tokenizer.BosId);
        Assert.False(tokenizer.AddBos);

        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"eos_token": "<|endoftext|>", "add_bos_token": true}""");
        tokenizer = ModelTokenizer.Load(dir);
        Assert.Equal(17, tokenizer.EosId);
        Assert.True(tokenizer.AddBos);
        Assert.Equal(4, new BatchEncoder(tokenizer).BosId);
    }

    [Fact]
    public void Missing_tokenizer_files_are_named_in_the_error()
    {
        var dir = Folder("empty");
        var ex = Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(dir));
        Assert.Contains(dir, ex.Message);
        Assert.Contains("unlearn_vocab.json, vocab.json + merges.txt, tokenizer.json, tokenizer.model", ex.Message);
        Assert.Contains("model folder not found", Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(Path.Combine(_dir, "nope"))).Message);
        var wordLevel = Folder("wordlevel", ("tokenizer.json", """{"model": {"type": "WordLevel", "vocab": {"a": 0}}}"""));
        Assert.Contains("only byte-level BPE", Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(wordLevel)).Message);
    }

    [Fact]
    public void Compact_vocabulary_maps_seen_tokens_densely_and_unseen_to_unk()
    {
        var vocabulary = CompactVocabulary.Build(["the cat sat", "the dog"]);
        var gpt2 = ModelTokenizer.Gpt2();
        var expectedBase = gpt2.Encode("the cat sat").Concat(gpt2.Encode("the dog")).Distinct().Order().ToList();
        Assert.Equal(expectedBase, vocabulary.BaseIds);
        Assert.Equal(3 + expectedBase.Count, vocabulary.Count);
        var ids = vocabulary.Encode("the dog sat");
        Assert.All(ids, id => Assert.InRange(id, 3, vocabulary.Count - 1));
        Assert.Equal("the dog sat", vocabulary.Decode(ids));
        var withUnknown = vocabulary.Encode("the zebra");
        Assert.Equal(CompactVocabulary.UnknownId, withUnknown[^1]);
        Assert.Equal("the", vocabulary.Decode(withUnknown));
        Assert.Equal(vocabulary.Encode("the")[0], 3 + expectedBase.IndexOf(gpt2.Encode("the")[0]));
    }

    [Fact]
    public void Compact_vocabulary_is_saved_in_the_model_folder_and_picked_up_by_load()
    {
        var world = SyntheticWorld.Generate(new WorldSettings());
        var vocabulary = CompactVocabulary.BuildForQa(world.Splits.Values.SelectMany(s => s.Items));
        var dir = Folder("compact");
        var path = vocabulary.Save(dir);
        Assert.Contains("\"base\":\"gpt2\"", File.ReadAllText(path));
        var tokenizer = ModelTokenizer.Load(dir);
        Assert.Equal(TokenizerFormat.Compact, tokenizer.Format);
        Assert.Equal(vocabulary.Count, tokenizer.VocabSize);
        Assert.Equal(1, tokenizer.EosId);
        Assert.Equal(0, tokenizer.PadId);
        var encoder = new BatchEncoder(tokenizer);
        foreach (var item in world["forget10_perturbed"].Items)
        {
            var (prompt, answer) = encoder.Tokenize(item.Question, item.Answer);
            Assert.DoesNotContain(CompactVocabulary.UnknownId, prompt.Concat(answer));
            Assert.Equal(encoder.FormatPrompt(item.Question), tokenizer.Decode(prompt));
            Assert.Equal(" " + item.Answer, tokenizer.Decode(answer));
            foreach (var p in item.PerturbedAnswers)
            {
                Assert.Equal(p, tokenizer.Decode(tokenizer.Encode(p)));
                Assert.Equal(" " + p, tokenizer.Decode(encoder.Tokenize(item.Question, p).Answer));
            }
        }
    }

    [Fact]
    public void Compact_vocabulary_files_with_another_base_are_refused()
    {
        var dir = Folder("other", (CompactVocabulary.FileName, """{"base": "llama", "base_ids": [1, 2]}"""));
        Assert.Contains("base vocabulary \"llama\" is not supported", Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(dir)).Message);
        var bad = Folder("bad", (CompactVocabulary.FileName, """{"base": "gpt2", "base_ids": [99999]}"""));
        Assert.Contains("malformed compact vocabulary", Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(bad)).Message);
    }
}
