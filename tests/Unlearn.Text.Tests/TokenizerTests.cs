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
        static string Added(int id, string content, bool special) =>
            $"{{\"id\": {id}, \"content\": \"{content}\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": {(special ? "true" : "false")}}}";
        var json = "{\"version\": \"1.0\", \"truncation\": {\"direction\": \"Right\", \"max_length\": 1, \"strategy\": \"LongestFirst\", \"stride\": 0}, \"padding\": null,"
            + " \"added_tokens\": [" + Added(17, "<|endoftext|>", true) + ", " + Added(18, "<pad>", true) + ", " + Added(19, "<think>", false) + "],"
            + " \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},"
            + " \"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<pad>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}],"
            + " \"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"special_tokens\": {\"<pad>\": {\"id\": \"<pad>\", \"ids\": [18], \"tokens\": [\"<pad>\"]}}},"
            + " \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},"
            + " \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null, \"end_of_word_suffix\": null,"
            + " \"fuse_unk\": false, \"byte_fallback\": false, \"vocab\": " + Vocab + ", \"merges\": [" + merges + "]}}";
        var dir = Folder("json", ("tokenizer.json", json),
            ("special_tokens_map.json", """{"eos_token": {"content": "<|endoftext|>"}, "pad_token": "<pad>"}"""));
        var tokenizer = ModelTokenizer.Load(dir);
        Assert.Equal(TokenizerFormat.HuggingFaceJson, tokenizer.Format);
        // The file's truncation (max_length 1) does not cut texts, and no special token is added by Encode.
        Assert.Equal([11, 16], tokenizer.Encode("hello world"));
        Assert.Equal([11, 19, 16], tokenizer.Encode("hello<think> world"));
        // The post-processor's prefix is what add_special_tokens=True adds, and it becomes the BOS.
        Assert.Equal([18, 11, 16], tokenizer.EncodeWithSpecialTokens("hello world"));
        Assert.Equal(18, tokenizer.BosId);
        Assert.True(tokenizer.AddBos);
        Assert.Equal(17, tokenizer.EosId);
        Assert.Equal(18, tokenizer.PadId);
        Assert.Equal(20, tokenizer.VocabSize);
        Assert.Equal("Ġworld", tokenizer.Piece(16));
        // Special tokens are skipped, the non-special added token is kept.
        Assert.Equal("hello<think> world", tokenizer.Decode([11, 18, 19, 16, 17]));
        // Ids beyond the tokenizer's vocabulary (a model's larger embedding) are skipped, as Hugging Face does.
        Assert.Equal("hello world", tokenizer.Decode([11, 20, 16, 500]));

        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\n  \"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []},\n  \"added_tokens\": [{\"id\": 0, \"content\": \"x\"}]\n}");
        var error = Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(dir)).Message;
        Assert.Contains(Path.Combine(dir, "tokenizer.json") + ": the Hugging Face tokenizers library cannot load it", error);
        Assert.Contains("line 3", error);
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
        Assert.Contains("unlearn_vocab.json, tokenizer.json, vocab.json + merges.txt, tokenizer.model", ex.Message);
        Assert.Contains("model folder not found", Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(Path.Combine(_dir, "nope"))).Message);
        var wordLevel = Folder("wordlevel", ("tokenizer.json", """{"model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1}, "unk_token": "a"}}"""));
        Assert.Contains("no end-of-sequence token; set eos_token in tokenizer_config.json", Assert.Throws<TokenizerException>(() => ModelTokenizer.Load(wordLevel)).Message);
        File.WriteAllText(Path.Combine(wordLevel, "tokenizer_config.json"), """{"eos_token": "b"}""");
        Assert.Equal([1], ModelTokenizer.Load(wordLevel).Encode("b"));
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
    public void World_vocabulary_stays_small()
    {
        var world = SyntheticWorld.Generate(new WorldSettings());
        var vocabulary = CompactVocabulary.BuildForQa(world.Splits.Values.SelectMany(s => s.Items));
        Assert.InRange(vocabulary.Count, 200, 2500);
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
