using System.Security.Cryptography;
using System.Text.Json;
using Unlearn.Tests;

namespace Unlearn.Text.Tests;

/// <summary><c>tokenizer.json</c> folders through <see cref="ModelTokenizer"/> against the Hugging Face tokenizers
/// library: Fixtures/hf holds, for 300 probe strings, the ids that library gave with and without special tokens and
/// the text it decoded with skip_special_tokens=True (scripts/fixtures/hf_tokenizer_fixtures.mjs), on the published
/// files listed in scripts/fixtures/hf-tokenizers.txt.</summary>
public sealed class HfTokenizerParityTests(HfTokenizerParityTests.LoadedTokenizers loaded) : IClassFixture<HfTokenizerParityTests.LoadedTokenizers>
{
    /// <summary>Each published tokenizer loaded once for the whole class (the large ones take seconds).</summary>
    public sealed class LoadedTokenizers
    {
        private readonly Dictionary<string, ModelTokenizer> _byName = [];

        public ModelTokenizer this[string name]
        {
            get
            {
                lock (_byName)
                {
                    if (!_byName.TryGetValue(name, out var tokenizer)) _byName[name] = tokenizer = ModelTokenizer.Load(Folder(name));
                    return tokenizer;
                }
            }
        }
    }

    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Fixtures", "hf");
    private static readonly string[] Probes = JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(FixtureRoot, "probes.json")))!;

    public static TheoryData<string> Names() =>
        [.. File.ReadLines(Path.Combine(TestPaths.RepoRoot, "scripts", "fixtures", "hf-tokenizers.txt"))
            .Where(l => l.Trim().Length > 0 && !l.StartsWith('#')).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0])];

    private static string Folder(string name)
    {
        var dir = Path.Combine(TestPaths.HfTokenizersDir, name);
        Assert.True(File.Exists(Path.Combine(dir, "tokenizer.json")), $"{dir}/tokenizer.json is missing: run scripts/fixtures/fetch-hf-tokenizers.sh");
        return dir;
    }

    [HfTokenizerTheory]
    [MemberData(nameof(Names))]
    public void Ids_and_decoded_text_are_those_of_the_hugging_face_library(string name)
    {
        var dir = Folder(name);
        var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureRoot, name + ".json"))).RootElement;
        Assert.Equal(fixture.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "tokenizer.json")))));
        var tokenizer = loaded[name];
        Assert.Equal(TokenizerFormat.HuggingFaceJson, tokenizer.Format);
        var cases = fixture.GetProperty("cases");
        Assert.Equal(Probes.Length, cases.GetArrayLength());
        var mismatches = new List<string>();
        for (var i = 0; i < Probes.Length; i++)
        {
            var c = cases[i];
            var ids = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var special = c.TryGetProperty("special", out var s) ? s.EnumerateArray().Select(e => e.GetInt32()).ToArray() : ids;
            var decoded = c.TryGetProperty("decoded", out var d) ? d.GetString() : Probes[i];
            var probe = JsonSerializer.Serialize(Probes[i]);
            if (!tokenizer.Encode(Probes[i]).SequenceEqual(ids)) mismatches.Add($"encode {probe}: [{string.Join(",", tokenizer.Encode(Probes[i]))}] != [{string.Join(",", ids)}]");
            if (!tokenizer.EncodeWithSpecialTokens(Probes[i]).SequenceEqual(special)) mismatches.Add($"encode with special tokens {probe}");
            if (tokenizer.Decode(special) != decoded) mismatches.Add($"decode {probe}: {JsonSerializer.Serialize(tokenizer.Decode(special))} != {JsonSerializer.Serialize(decoded)}");
        }
        Assert.True(mismatches.Count == 0, $"{name}: {mismatches.Count} differences from Hugging Face:\n" + string.Join("\n", mismatches.Take(20)));
    }

    // Expected ids: the bos_token / eos_token of each tokenizer_config.json looked up in its tokenizer.json.
    [HfTokenizerTheory]
    [InlineData("llama3", 128001, 128000, false, false)]
    [InlineData("llama3_1", 128009, 128000, true, false)]
    [InlineData("qwen3", 151645, null, false, false)]
    [InlineData("deepseek_v3", 1, 0, true, false)]
    [InlineData("gptoss", 200002, 199998, false, false)]
    [InlineData("gemma3", 106, 2, true, false)]
    [InlineData("llama2", 2, 1, true, true)]
    [InlineData("gpt2", 50256, 50256, false, false)]
    public void Special_tokens_and_the_bos_come_from_the_folder(string name, int eos, int? bos, bool addBos, bool dummyPrefix)
    {
        var tokenizer = loaded[name];
        Assert.Equal(eos, tokenizer.EosId);
        Assert.Equal(bos, tokenizer.BosId);
        Assert.Equal(addBos, tokenizer.AddBos);
        Assert.Equal(dummyPrefix, tokenizer.AddsDummyPrefix);
        var encoder = new BatchEncoder(tokenizer);
        var (prompt, answer) = encoder.Tokenize("Where was Yun-Hwa born?", "In Taipei.");
        Assert.Equal(addBos, bos is { } b && prompt[0] == b);
        Assert.Equal(eos, answer[^1]);
        Assert.Equal("Question: Where was Yun-Hwa born?\nAnswer: In Taipei.", tokenizer.Decode([.. prompt, .. answer]).TrimStart());
    }

    [HfTokenizerTheory]
    [InlineData("qwen3", "<think>\nLet me think.\n</think>\n\n4<|im_end|>", "<think>\nLet me think.\n</think>\n\n4")]
    [InlineData("llama3_1", "<|start_header_id|>assistant<|end_header_id|>\n\nHi<|eot_id|>", "assistant\n\nHi")]
    public void Non_special_added_tokens_survive_decoding_and_special_ones_do_not(string name, string text, string decoded)
    {
        var tokenizer = loaded[name];
        Assert.Equal(decoded, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [HfTokenizerTheory]
    [InlineData("llama3_1")]
    public void The_llama3_chat_header_ends_in_one_double_newline_token(string name)
    {
        var tokenizer = loaded[name];
        var ids = tokenizer.Encode("<|start_header_id|>user<|end_header_id|>\n\n");
        Assert.Equal([128006, 882, 128007, 271], ids);
        Assert.Equal("\n\n", tokenizer.Piece(271)!.Replace("Ċ", "\n", StringComparison.Ordinal));
    }
}
