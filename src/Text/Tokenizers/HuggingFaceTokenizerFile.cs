using System.Text.Json.Nodes;
using NativeTokenizer = Tokenizers.DotNet.Tokenizer;

namespace Unlearn.Text;

/// <summary>A <c>tokenizer.json</c> run by the Hugging Face tokenizers library itself (the Rust crate, through the
/// Tokenizers.DotNet package), so normalizer, pre-tokenizer, model (BPE, Unigram, WordPiece, WordLevel), added tokens,
/// post-processor and decoder behave exactly as in transformers' fast tokenizers.
/// <para>The library encodes with <c>add_special_tokens=True</c> and decodes with <c>skip_special_tokens=True</c>
/// and reads only files. So the file is loaded twice: <see cref="Encode"/> uses a copy without post-processor,
/// truncation and padding (<c>add_special_tokens=False</c>: the ids of the text and nothing else), and
/// <see cref="EncodeWithSpecialTokens"/> a copy without truncation and padding (built on first use). Decoding drops the
/// added tokens marked <c>special</c> and keeps the others (<c>&lt;think&gt;</c>, <c>&lt;tool_call&gt;</c>).</para></summary>
internal sealed class HuggingFaceTokenizerFile
{
    private readonly NativeTokenizer _withoutPostProcessor;
    private readonly Lazy<NativeTokenizer> _withPostProcessor;
    private readonly string?[] _pieces;

    private HuggingFaceTokenizerFile(string path, JsonObject json)
    {
        Path = path;
        var model = json["model"] as JsonObject ?? throw new TokenizerException($"{path}: no \"model\" object (not a Hugging Face tokenizer.json)");
        ModelType = model["type"]?.GetValue<string>() ?? (model["vocab"] is JsonArray ? "Unigram" : "BPE");
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        switch (model["vocab"])
        {
            case JsonObject byPiece:
                foreach (var (piece, id) in byPiece) vocabulary[piece] = IntValue(id, path, $"model.vocab[\"{piece}\"]");
                break;
            case JsonArray unigram:
                for (var i = 0; i < unigram.Count; i++)
                    vocabulary[unigram[i] is JsonArray { Count: > 0 } entry ? entry[0]!.GetValue<string>()
                        : throw new TokenizerException($"{path}: model.vocab[{i}] must be [piece, score]")] = i;
                break;
            default:
                throw new TokenizerException($"{path}: model.vocab is missing; a {ModelType} model needs its vocabulary");
        }
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (json["added_tokens"] is JsonArray added)
            for (var i = 0; i < added.Count; i++)
            {
                var content = added[i]?["content"]?.GetValue<string>();
                var id = added[i]?["id"];
                if (content is null || id is null) throw new TokenizerException($"{path}: added_tokens[{i}] lacks \"content\" or \"id\"");
                vocabulary[content] = IntValue(id, path, $"added_tokens[{i}].id");
                if (added[i]?["special"] is JsonValue flag && flag.TryGetValue<bool>(out var isSpecial) && isSpecial) special[content] = vocabulary[content];
            }
        Vocabulary = vocabulary;
        SpecialTokens = special;
        VocabSize = vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1;
        _pieces = new string?[VocabSize];
        foreach (var (piece, id) in vocabulary) if (id >= 0) _pieces[id] = piece;
        PostProcessorPrefix = SingleSequencePrefix(json["post_processor"]);
        AddsPrefixSpace = HasDummyPrefix(json["normalizer"]) || HasDummyPrefix(json["pre_tokenizer"]);

        json["truncation"] = null;
        json["padding"] = null;
        json["post_processor"] = null;
        _withoutPostProcessor = LoadNative(path, json);
        _withPostProcessor = new Lazy<NativeTokenizer>(() =>
        {
            var again = ModelTokenizer.ReadJsonObject(path);
            again["truncation"] = null;
            again["padding"] = null;
            return LoadNative(path, again);
        });
    }

    /// <summary>The tokenizer.json file.</summary>
    public string Path { get; }

    /// <summary>The model type: BPE, Unigram, WordPiece or WordLevel.</summary>
    public string ModelType { get; }

    /// <summary>Every piece of the vocabulary and every added token, with its id.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary { get; }

    /// <summary>The added tokens marked <c>special</c> (dropped by decoding).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Largest id + 1.</summary>
    public int VocabSize { get; }

    /// <summary>The special tokens the post-processor puts before a single sequence (Llama 3.1, Gemma: the BOS).</summary>
    public IReadOnlyList<string> PostProcessorPrefix { get; }

    /// <summary>True when the normalizer or pre-tokenizer puts "▁" before the text (SentencePiece's dummy prefix).</summary>
    public bool AddsPrefixSpace { get; }

    /// <summary>Loads and checks a tokenizer.json.</summary>
    /// <exception cref="TokenizerException">The file is malformed or the library refuses it.</exception>
    public static HuggingFaceTokenizerFile Load(string path) => new(path, ModelTokenizer.ReadJsonObject(path));

    /// <summary>The ids of a text, no special tokens added (<c>add_special_tokens=False</c>).</summary>
    public IReadOnlyList<int> Encode(string text) => ToInts(Run(() => _withoutPostProcessor.Encode(text)));

    /// <summary>The ids with the post-processor's special tokens (<c>add_special_tokens=True</c>).</summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text) => ToInts(Run(() => _withPostProcessor.Value.Encode(text)));

    /// <summary>The text of ids, special tokens skipped (<c>skip_special_tokens=True</c>).</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var tokens = ids.Select(id => id >= 0 && id < VocabSize ? (uint)id
            : throw new ArgumentOutOfRangeException(nameof(ids), id, $"token id outside the vocabulary of {Path} (0..{VocabSize - 1})")).ToArray();
        return Run(() => _withoutPostProcessor.Decode(tokens));
    }

    /// <summary>The vocabulary piece of an id (<c>convert_ids_to_tokens</c>), or null for an id without one.</summary>
    public string? Piece(int id) => id >= 0 && id < _pieces.Length ? _pieces[id] : null;

    private T Run<T>(Func<T> call)
    {
        try { return call(); }
        catch (Tokenizers.DotNet.TokenizerException ex)
        {
            throw new TokenizerException($"{Path}: the Hugging Face tokenizers library failed: {ex.Message}", ex);
        }
    }

    private static int[] ToInts(uint[] ids) => Array.ConvertAll(ids, i => checked((int)i));

    private static NativeTokenizer LoadNative(string path, JsonObject content)
    {
        var copy = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"unlearn-tokenizer-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(copy, content.ToJsonString());
            return new NativeTokenizer(copy);
        }
        catch (Tokenizers.DotNet.TokenizerException ex)
        {
            // The copy is written without indentation; the library's own reading of the file gives lines and columns of the file.
            var reason = ex.Message;
            try { new NativeTokenizer(path).Dispose(); }
            catch (Tokenizers.DotNet.TokenizerException original) { reason = original.Message; }
            throw new TokenizerException($"{path}: the Hugging Face tokenizers library cannot load it: {reason}. " +
                "Use the tokenizer.json that ships with the model (written by the tokenizers library or transformers' save_pretrained)", ex);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new TokenizerException($"{path}: the native Hugging Face tokenizers library (libhf_tokenizers, package " +
                $"Tokenizers.DotNet.runtime for this platform) cannot be loaded: {ex.Message}", ex);
        }
        finally
        {
            File.Delete(copy);
        }
    }

    private static int IntValue(JsonNode? node, string path, string where) =>
        node is JsonValue v && v.TryGetValue<int>(out var i) ? i : throw new TokenizerException($"{path}: {where} must be an integer id");

    /// <summary>The special tokens before <c>$A</c> in a TemplateProcessing's <c>single</c> template, or BERT/RoBERTa's
    /// cls token, through a Sequence of processors.</summary>
    private static List<string> SingleSequencePrefix(JsonNode? processor)
    {
        var prefix = new List<string>();
        switch (processor?["type"]?.GetValue<string>())
        {
            case "TemplateProcessing" when processor["single"] is JsonArray single:
                foreach (var part in single)
                {
                    if (part?["Sequence"] is not null) break;
                    if (part?["SpecialToken"]?["id"]?.GetValue<string>() is { } name)
                        prefix.AddRange(processor["special_tokens"]?[name]?["tokens"] is JsonArray tokens
                            ? tokens.Select(t => t!.GetValue<string>()) : [name]);
                }
                break;
            case "BertProcessing" or "RobertaProcessing" when processor["cls"] is JsonArray { Count: > 0 } cls:
                prefix.Add(cls[0]!.GetValue<string>());
                break;
            case "Sequence" when processor["processors"] is JsonArray processors:
                foreach (var p in processors) prefix.AddRange(SingleSequencePrefix(p));
                break;
        }
        return prefix;
    }

    /// <summary>A normalizer Prepend("▁") or a Metaspace pre-tokenizer that prepends (directly or in a Sequence).</summary>
    private static bool HasDummyPrefix(JsonNode? node) => node?["type"]?.GetValue<string>() switch
    {
        "Prepend" => node["prepend"]?.GetValue<string>() == "▁",
        "Metaspace" => node["prepend_scheme"]?.GetValue<string>() is "always" or "first"
            || node["prepend_scheme"] is null && node["add_prefix_space"]?.GetValue<bool>() == true,
        "Sequence" => (node["normalizers"] ?? node["pretokenizers"]) is JsonArray parts && parts.Any(HasDummyPrefix),
        _ => false,
    };
}
