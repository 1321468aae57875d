using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace Unlearn.Text;

/// <summary>A small vocabulary for the built-in models: the GPT-2 tokens that occur in a training corpus, mapped to a
/// dense id range after three specials (<c>&lt;pad&gt;</c> = 0, <c>&lt;eos&gt;</c> = 1, <c>&lt;unk&gt;</c> = 2). Text is
/// split by GPT-2's byte-level BPE; a GPT-2 token that was not in the corpus becomes <c>&lt;unk&gt;</c>. Decoding
/// concatenates the GPT-2 tokens again, so text made only of seen tokens round-trips exactly.
/// <para>Saved as <see cref="FileName"/> in a model folder (records the base vocabulary "gpt2" and the list of GPT-2
/// ids, so the folder is self-describing); <see cref="ModelTokenizer.Load"/> picks it up.</para></summary>
public sealed class CompactVocabulary
{
    /// <summary>The file name in a model folder.</summary>
    public const string FileName = "unlearn_vocab.json";

    /// <summary>The only supported base vocabulary.</summary>
    public const string BaseName = "gpt2";

    /// <summary>Padding id.</summary>
    public const int PadId = 0;

    /// <summary>End-of-sequence id.</summary>
    public const int EosId = 1;

    /// <summary>Id of GPT-2 tokens outside the vocabulary.</summary>
    public const int UnknownId = 2;

    /// <summary>The special tokens, by id.</summary>
    public static IReadOnlyList<string> SpecialTokens { get; } = ["<pad>", "<eos>", "<unk>"];

    private const string FormatName = "unlearn-compact-vocabulary";
    private static readonly Lazy<TiktokenTokenizer> Gpt2 = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    private readonly int[] _baseIds;
    private readonly Dictionary<int, int> _denseOfBase;

    private CompactVocabulary(IEnumerable<int> baseIds)
    {
        _baseIds = baseIds.Distinct().Order().ToArray();
        _denseOfBase = new Dictionary<int, int>(_baseIds.Length);
        for (var i = 0; i < _baseIds.Length; i++) _denseOfBase[_baseIds[i]] = SpecialTokens.Count + i;
    }

    /// <summary>The GPT-2 ids behind the dense ids <c>3, 4, ...</c>, ascending.</summary>
    public IReadOnlyList<int> BaseIds => _baseIds;

    /// <summary>Number of ids, specials included.</summary>
    public int Count => SpecialTokens.Count + _baseIds.Length;

    /// <summary>The vocabulary of every GPT-2 token in <paramref name="corpus"/>.</summary>
    public static CompactVocabulary Build(IEnumerable<string> corpus)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var ids = new HashSet<int>();
        foreach (var text in corpus) ids.UnionWith(Gpt2.Value.EncodeToIds(text));
        return new CompactVocabulary(ids);
    }

    /// <summary>The vocabulary of a question/answer corpus as <see cref="BatchEncoder"/> tokenizes it: every question and
    /// paraphrased question inside its prompt, and every answer, paraphrased answer, perturbed answer and option both on
    /// its own and as an answer part (with the template's separator, which changes GPT-2's first token).</summary>
    public static CompactVocabulary BuildForQa(IEnumerable<Unlearn.Plugins.QaItem> items, PromptTemplate? template = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        var t = template ?? PromptTemplate.Default;
        return Build(items.SelectMany(item => Texts(item, t)));
    }

    private static IEnumerable<string> Texts(Unlearn.Plugins.QaItem item, PromptTemplate template)
    {
        yield return template.FormatPrompt(item.Question);
        if (item.ParaphrasedQuestion is { } pq) yield return template.FormatPrompt(pq);
        var answers = new List<string> { item.Answer };
        if (item.ParaphrasedAnswer is { } pa) answers.Add(pa);
        answers.AddRange(item.PerturbedAnswers);
        answers.AddRange(item.Options);
        foreach (var a in answers)
        {
            yield return a;
            yield return template.FormatAnswer(a);
        }
    }

    /// <summary>A vocabulary over the given GPT-2 ids.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside GPT-2's range.</exception>
    public static CompactVocabulary FromBaseIds(IEnumerable<int> gpt2Ids)
    {
        var ids = gpt2Ids.ToList();
        var bad = ids.FirstOrDefault(i => i < 0 || i >= Gpt2VocabSize);
        if (ids.Any(i => i < 0 || i >= Gpt2VocabSize))
            throw new ArgumentOutOfRangeException(nameof(gpt2Ids), bad, $"GPT-2 ids run from 0 to {Gpt2VocabSize - 1}");
        return new CompactVocabulary(ids);
    }

    /// <summary>Size of the GPT-2 vocabulary (50 257).</summary>
    public static int Gpt2VocabSize => 50257;

    /// <summary>Dense ids of a text (no specials added); unseen GPT-2 tokens become <see cref="UnknownId"/>.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        var baseIds = Gpt2.Value.EncodeToIds(text);
        var dense = new int[baseIds.Count];
        for (var i = 0; i < dense.Length; i++)
            dense[i] = _denseOfBase.TryGetValue(baseIds[i], out var d) ? d : UnknownId;
        return dense;
    }

    /// <summary>Text of dense ids; the specials (padding, EOS, unknown) are dropped.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var baseIds = new List<int>();
        foreach (var id in ids)
        {
            var k = id - SpecialTokens.Count;
            if (k >= 0 && k < _baseIds.Length) baseIds.Add(_baseIds[k]);
        }
        return Gpt2.Value.Decode(baseIds);
    }

    /// <summary>Writes <see cref="FileName"/> into <paramref name="folder"/> and returns its path.</summary>
    public string Save(string folder)
    {
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, FileName);
        var json = new JsonObject
        {
            ["format"] = FormatName,
            ["version"] = 1,
            ["base"] = BaseName,
            ["specials"] = new JsonArray(SpecialTokens.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
            ["base_ids"] = new JsonArray(_baseIds.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
        };
        var temp = path + ".tmp";
        File.WriteAllText(temp, json.ToJsonString());
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>Reads <see cref="FileName"/> from a model folder (or the file itself).</summary>
    /// <exception cref="TokenizerException">Missing, malformed, or based on another vocabulary.</exception>
    public static CompactVocabulary Load(string folderOrFile)
    {
        var path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        if (!File.Exists(path)) throw new TokenizerException($"{path}: compact vocabulary file not found");
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))?.AsObject()
                ?? throw new TokenizerException($"{path}: expected a JSON object");
            var baseName = root["base"]?.GetValue<string>();
            if (baseName != BaseName)
                throw new TokenizerException($"{path}: base vocabulary \"{baseName}\" is not supported (only \"{BaseName}\")");
            var specials = root["specials"]?.AsArray().Select(n => n?.GetValue<string>()).ToList();
            if (specials is not null && !specials.SequenceEqual(SpecialTokens))
                throw new TokenizerException($"{path}: specials must be [{string.Join(", ", SpecialTokens)}]");
            var ids = root["base_ids"]?.AsArray().Select(n => n!.GetValue<int>()).ToList()
                ?? throw new TokenizerException($"{path}: missing \"base_ids\" (the list of GPT-2 ids)");
            return FromBaseIds(ids);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentOutOfRangeException)
        {
            throw new TokenizerException($"{path}: malformed compact vocabulary ({ex.Message})", ex);
        }
    }
}
