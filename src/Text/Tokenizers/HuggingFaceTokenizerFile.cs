using System.Text.Json;
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

    private HuggingFaceTokenizerFile(string path, JsonElement json)
    {
        Path = path;
        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new TokenizerException($"{path}: no \"model\" object (not a Hugging Face tokenizer.json)");
        var hasVocab = model.TryGetProperty("vocab", out var vocab);
        ModelType = Text(model, "type") ?? (hasVocab && vocab.ValueKind == JsonValueKind.Array ? "Unigram" : "BPE");
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        switch (hasVocab ? vocab.ValueKind : JsonValueKind.Undefined)
        {
            case JsonValueKind.Object:
                foreach (var entry in vocab.EnumerateObject()) vocabulary[entry.Name] = IntValue(entry.Value, path, $"model.vocab[\"{entry.Name}\"]");
                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var entry in vocab.EnumerateArray())
                {
                    vocabulary[entry.ValueKind == JsonValueKind.Array && entry.GetArrayLength() > 0 && entry[0].ValueKind == JsonValueKind.String
                        ? entry[0].GetString()! : throw new TokenizerException($"{path}: model.vocab[{index}] must be [piece, score]")] = index;
                    index++;
                }
                break;
            default:
                throw new TokenizerException($"{path}: model.vocab is missing; a {ModelType} model needs its vocabulary");
        }
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (json.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var token in added.EnumerateArray())
            {
                var content = token.ValueKind == JsonValueKind.Object ? Text(token, "content") : null;
                if (content is null || !token.TryGetProperty("id", out var id)) throw new TokenizerException($"{path}: added_tokens[{i}] lacks \"content\" or \"id\"");
                vocabulary[content] = IntValue(id, path, $"added_tokens[{i}].id");
                if (token.TryGetProperty("special", out var flag) && flag.ValueKind == JsonValueKind.True) special[content] = vocabulary[content];
                i++;
            }
        }
        Vocabulary = vocabulary;
        SpecialTokens = special;
        VocabSize = vocabulary.Count == 0 ? 0 : vocabulary.Values.Max() + 1;
        _pieces = new string?[VocabSize];
        foreach (var (piece, id) in vocabulary) if (id >= 0) _pieces[id] = piece;
        var postProcessor = Property(json, "post_processor");
        PostProcessorPrefix = SingleSequencePrefix(postProcessor);
        AddsPrefixSpace = HasDummyPrefix(Property(json, "normalizer")) || HasDummyPrefix(Property(json, "pre_tokenizer"));

        // Only a file that truncates, pads or has a post-processor that adds tokens needs a copy without them.
        var cutsOrPads = Property(json, "truncation") is not null || Property(json, "padding") is not null;
        var addsTokens = postProcessor is { } processor && AddsTokens(processor);
        _withoutPostProcessor = cutsOrPads || addsTokens ? LoadNative(path, Copy(json, withPostProcessor: false)) : LoadNative(path, null);
        _withPostProcessor = addsTokens
            ? new Lazy<NativeTokenizer>(() => cutsOrPads ? LoadNative(path, Copy(ReadDocument(path).RootElement, withPostProcessor: true)) : LoadNative(path, null))
            : new Lazy<NativeTokenizer>(() => _withoutPostProcessor);
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
    public static HuggingFaceTokenizerFile Load(string path)
    {
        using var document = ReadDocument(path);
        return new HuggingFaceTokenizerFile(path, document.RootElement);
    }

    /// <summary>The ids of a text, no special tokens added (<c>add_special_tokens=False</c>).</summary>
    public IReadOnlyList<int> Encode(string text) => ToInts(Run(() => _withoutPostProcessor.Encode(text)));

    /// <summary>The ids with the post-processor's special tokens (<c>add_special_tokens=True</c>).</summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text) => ToInts(Run(() => _withPostProcessor.Value.Encode(text)));

    /// <summary>The text of ids, special tokens skipped (<c>skip_special_tokens=True</c>). Ids the vocabulary does not
    /// have (a model's embedding may be larger than its tokenizer) are skipped, as the library does.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var tokens = ids.Where(id => id >= 0).Select(id => (uint)id).ToArray();
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

    private static JsonDocument ReadDocument(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException ex)
        {
            throw new TokenizerException($"{path}: malformed JSON ({ex.Message})", ex);
        }
    }

    /// <summary>The file with truncation and padding off and, unless <paramref name="withPostProcessor"/>, without post-processor.</summary>
    private static byte[] Copy(JsonElement json, bool withPostProcessor)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in json.EnumerateObject())
            {
                if (property.Name is "truncation" or "padding" || property.Name == "post_processor" && !withPostProcessor) writer.WriteNull(property.Name);
                else property.WriteTo(writer);
            }
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Loads the file itself (<paramref name="content"/> null) or a copy of it written to a temporary file.</summary>
    private static NativeTokenizer LoadNative(string path, byte[]? content)
    {
        var copy = content is null ? path : System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"unlearn-tokenizer-{Guid.NewGuid():N}.json");
        try
        {
            if (content is not null) File.WriteAllBytes(copy, content);
            return new NativeTokenizer(copy);
        }
        catch (Tokenizers.DotNet.TokenizerException ex)
        {
            // A copy is written without indentation; the library's own reading of the file gives lines and columns of the file.
            var reason = ex.Message;
            if (content is not null)
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
            if (content is not null) File.Delete(copy);
        }
    }

    private static JsonElement? Property(JsonElement json, string name) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? Text(JsonElement json, string name) =>
        Property(json, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static int IntValue(JsonElement node, string path, string where) =>
        node.ValueKind == JsonValueKind.Number && node.TryGetInt32(out var i) ? i : throw new TokenizerException($"{path}: {where} must be an integer id");

    /// <summary>False only for post-processors that never add a token: ByteLevel (offsets only), or a Sequence of those.</summary>
    private static bool AddsTokens(JsonElement processor) => Text(processor, "type") switch
    {
        "ByteLevel" => false,
        "Sequence" => Property(processor, "processors") is { ValueKind: JsonValueKind.Array } list && list.EnumerateArray().Any(AddsTokens),
        _ => true,
    };

    /// <summary>The special tokens before <c>$A</c> in a TemplateProcessing's <c>single</c> template, or BERT/RoBERTa's
    /// cls token, through a Sequence of processors.</summary>
    private static List<string> SingleSequencePrefix(JsonElement? processor)
    {
        var prefix = new List<string>();
        if (processor is not { } p) return prefix;
        switch (Text(p, "type"))
        {
            case "TemplateProcessing" when Property(p, "single") is { ValueKind: JsonValueKind.Array } single:
                foreach (var part in single.EnumerateArray())
                {
                    if (Property(part, "Sequence") is not null) break;
                    if (Property(part, "SpecialToken") is { } token && Text(token, "id") is { } name)
                        prefix.AddRange(Property(p, "special_tokens") is { } map && Property(map, name) is { } entry
                            && Property(entry, "tokens") is { ValueKind: JsonValueKind.Array } tokens
                            ? tokens.EnumerateArray().Select(t => t.GetString()!) : [name]);
                }
                break;
            case "BertProcessing" or "RobertaProcessing" when Property(p, "cls") is { ValueKind: JsonValueKind.Array } cls && cls.GetArrayLength() > 0:
                prefix.Add(cls[0].GetString()!);
                break;
            case "Sequence" when Property(p, "processors") is { ValueKind: JsonValueKind.Array } processors:
                foreach (var each in processors.EnumerateArray()) prefix.AddRange(SingleSequencePrefix(each));
                break;
        }
        return prefix;
    }

    /// <summary>A normalizer Prepend("▁") or a Metaspace pre-tokenizer that prepends (directly or in a Sequence).</summary>
    private static bool HasDummyPrefix(JsonElement? node) => node is { } n && Text(n, "type") switch
    {
        "Prepend" => Text(n, "prepend") == "▁",
        "Metaspace" => Text(n, "prepend_scheme") is "always" or "first"
            || Text(n, "prepend_scheme") is null && Property(n, "add_prefix_space") is { ValueKind: JsonValueKind.True },
        "Sequence" => (Property(n, "normalizers") ?? Property(n, "pretokenizers")) is { ValueKind: JsonValueKind.Array } parts
            && parts.EnumerateArray().Any(part => HasDummyPrefix(part)),
        _ => false,
    };
}
