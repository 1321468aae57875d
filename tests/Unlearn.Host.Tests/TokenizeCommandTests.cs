using System.Text.Json;
using Unlearn.Host.Cli;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary><c>dotnet unlearn tokenize</c> through the built tool, on the SentencePiece model the text tests check
/// against the sentencepiece library (its ids there are the expected ones) and on a published tokenizer.json.</summary>
public sealed class TokenizeCommandTests : IDisposable
{
    private static readonly string SentencePieceRoot = Path.Combine(TestPaths.RepoRoot, "tests", "Unlearn.Text.Tests", "Fixtures", "sentencepiece");
    private static readonly string SentencePieceModel = Path.Combine(SentencePieceRoot, "bpe");
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Cache => Path.Combine(_files.Dir, "cache");

    private static (string Text, int[] Ids) SentencePieceCase(int index)
    {
        var c = JsonDocument.Parse(File.ReadAllText(Path.Combine(SentencePieceRoot, "fixtures.json"))).RootElement
            .GetProperty("models").GetProperty("bpe").GetProperty("cases")[index];
        return (c.GetProperty("text").GetString()!, c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    [Fact]
    public void Json_lines_give_the_ids_and_pieces_of_every_input_in_order()
    {
        var (first, firstIds) = SentencePieceCase(1);  // holds a newline
        var (second, secondIds) = SentencePieceCase(3);
        var file = _files.Write("texts.jsonl", JsonSerializer.Serialize(new { text = first }) + "\n\n" + JsonSerializer.Serialize(new { text = second, id = 7 }) + "\n");
        var result = ToolProcess.Run(Cache, "tokenize", "--model", SentencePieceModel, "--file", file, "--json");
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var one = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(firstIds, Ints(one.GetProperty("ids")));
        Assert.Equal(firstIds.Length, one.GetProperty("tokens").GetArrayLength());
        Assert.Equal("▁Question", one.GetProperty("tokens")[0].GetString());
        Assert.Equal(secondIds, Ints(JsonDocument.Parse(lines[1]).RootElement.GetProperty("ids")));
    }

    [Fact]
    public void Special_adds_the_bos_and_the_table_lists_each_token()
    {
        var (text, ids) = SentencePieceCase(0);
        var result = ToolProcess.Run(Cache, "tokenize", "--model", SentencePieceModel, "--text", text, "--special");
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal($"{ids.Length + 1} tokens", lines[0]);
        Assert.Matches(@"^0\s+1\s+""<s>""$", lines[1]);
        Assert.Equal(ids, lines.Skip(2).Select(l => int.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Prompt_shows_the_training_layout_with_bos_answer_span_and_label_mask()
    {
        var result = ToolProcess.Run(Cache, "tokenize", "--model", SentencePieceModel, "--prompt", "--text", "Where was Kalo Venson born?",
            "--answer", "Kalo Venson was born in Astholm in 1961.", "--json");
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        var o = JsonDocument.Parse(result.StdOut).RootElement;
        Assert.Equal("Question: Where was Kalo Venson born?\nAnswer:", o.GetProperty("prompt").GetString());
        Assert.Equal(1, o.GetProperty("bos").GetInt32());
        var ids = Ints(o.GetProperty("ids"));
        var labels = Ints(o.GetProperty("labels"));
        var start = o.GetProperty("answer_start").GetInt32();
        // The whole text as the sentencepiece library encodes it, after the BOS: prompt and answer tokenized apart give
        // the same ids here, and SentencePiece's dummy prefix stands in for the space before the answer.
        var (whole, wholeIds) = SentencePieceCase(1);
        Assert.Equal("Question: Where was Kalo Venson born?\nAnswer: Kalo Venson was born in Astholm in 1961.", whole);
        Assert.Equal([1, .. wholeIds, 2], ids);
        Assert.All(labels[..start], l => Assert.Equal(TokenizeCommand.MaskedLabel, l));
        Assert.Equal(ids[start..], labels[start..]);
        Assert.Equal(2, labels[^1]);
    }

    [HfTokenizerFact("llama3_1")]
    public void A_published_tokenizer_json_gives_the_ids_of_hugging_face()
    {
        // The ids the Hugging Face tokenizers library gives (Fixtures/hf/llama3_1.json, probe 4).
        var result = ToolProcess.Run(Cache, "tokenize", "--model", Path.Combine(TestPaths.HfTokenizersDir, "llama3_1"), "--text", "Yun-Hwa?\nAnswer: 1977", "--json", "--special");
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        var o = JsonDocument.Parse(result.StdOut).RootElement;
        Assert.Equal([128000, 56, 359, 11529, 10196, 5380, 16533, 25, 220, 4468, 22], Ints(o.GetProperty("ids")));
        Assert.Equal("?Ċ", o.GetProperty("tokens")[5].GetString());
    }

    [Theory]
    [InlineData("--text", "x", "--file", "y.jsonl", "give exactly one of --text TEXT or --file FILE.jsonl")]
    [InlineData("--prompt", "--text", "Who?", null, "--prompt with --text needs --answer")]
    [InlineData("--text", "x", "--answer", "y", "--answer needs --prompt")]
    public void Wrong_option_combinations_exit_2_with_the_fix(string a, string b, string c, string? d, string message)
    {
        string[] args = ["tokenize", "--model", SentencePieceModel, a, b, c, .. d is null ? Array.Empty<string>() : [d]];
        var result = ToolProcess.Run(Cache, args);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains(message, result.StdErr);
    }

    [Fact]
    public void Bad_files_and_folders_exit_2_naming_the_place()
    {
        var file = _files.Write("bad.jsonl", "{\"text\": \"fine\"}\n{\"txt\": \"typo\"}\n");
        var result = ToolProcess.Run(Cache, "tokenize", "--model", SentencePieceModel, "--file", file);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains($"{file}:2: needs a string field \"text\"", result.StdErr);
        var notJson = _files.Write("plain.txt", "just text\n");
        Assert.Contains($"{notJson}:1: not a JSON object", ToolProcess.Run(Cache, "tokenize", "--model", SentencePieceModel, "--file", notJson).StdErr);
        var empty = Directory.CreateDirectory(Path.Combine(_files.Dir, "empty")).FullName;
        var noTokenizer = ToolProcess.Run(Cache, "tokenize", "--model", empty, "--text", "x");
        Assert.True(noTokenizer.ExitCode == ExitCodes.BadInput, noTokenizer.ToString());
        Assert.Contains($"no tokenizer in {empty}", noTokenizer.StdErr);
    }
}
