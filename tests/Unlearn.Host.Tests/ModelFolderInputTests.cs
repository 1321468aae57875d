using System.Text;
using Unlearn.Host.Cli;

namespace Unlearn.Host.Tests;

/// <summary>A user's model folder is read before any work starts; whatever is wrong in it (an unknown architecture, a
/// broken weights header, a malformed tokenizer file, too few positions for max_length) is bad input: exit 2, naming
/// the folder and the file.</summary>
public sealed class ModelFolderInputTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private const string Config = """{"model_type": "gpt2", "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 128, "vocab_size": 3, "eos_token_id": 2}""";
    private const string Header = """{"wte.weight":{"dtype":"F32","shape":[3,8],"data_offsets":[0,96]}}""";

    private string ModelFolder(string config = Config, string header = Header, string vocab = """{"a": 0, "b": 1, "ab": 2}""")
    {
        var dir = Path.Combine(_files.Dir, "model");
        _files.Write("model/config.json", config);
        _files.Write("model/vocab.json", vocab);
        _files.Write("model/merges.txt", "#version: 0.2\na b\n");
        var bytes = Encoding.UTF8.GetBytes(header);
        using var weights = File.Create(Path.Combine(dir, "model.safetensors"));
        weights.Write(BitConverter.GetBytes((long)bytes.Length));
        weights.Write(bytes);
        weights.Write(new byte[96]);
        return dir;
    }

    private ToolResult Validate(string model, int maxLength = 64)
    {
        var pipeline = _files.Write("p.yaml",
            $"name: m\nmodel:\n  path: {model}\n  max_length: {maxLength}\nlearn:\n  recipe: none\nevaluate:\n  splits: [forget]\n  metrics: [es]\n");
        return ToolProcess.Run(Path.Combine(_files.Dir, "cache"), "validate", pipeline);
    }

    [Fact]
    public void AUsableFolderValidates()
    {
        var result = Validate(ModelFolder());
        Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
    }

    [Theory]
    [InlineData("model_type", "config.json: model_type 'bert' is not supported")]
    [InlineData("positions", "the model has 32 positions (config.json), fewer than model.max_length 64; set model.max_length to at most 32")]
    [InlineData("duplicate", "model.safetensors: the header names 'wte.weight' twice")]
    [InlineData("vocab", "vocab.json")]
    public void BrokenModelFolderIsBadInputNamingTheFile(string defect, string expected)
    {
        var model = defect switch
        {
            "model_type" => ModelFolder(config: Config.Replace("gpt2", "bert")),
            "positions" => ModelFolder(config: Config.Replace("128", "32")),
            "duplicate" => ModelFolder(header: Header.TrimEnd('}') + "}," + Header[1..]),
            _ => ModelFolder(vocab: """{"a": "zero", "b": [1]}"""),
        };
        var result = Validate(model);
        Assert.True(result.ExitCode == ExitCodes.BadInput, result.ToString());
        Assert.Contains($"model.path '{model}'", result.StdErr);
        Assert.True(result.StdErr.Contains(expected, StringComparison.Ordinal), result.ToString());
    }
}
