using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Text;

namespace Unlearn.Attacks.Tests;

/// <summary>A freshly initialised built-in "tiny" model over a character vocabulary, the run's encoder over it, and a
/// small forget split: what an attack sees in a run, without the host.</summary>
internal sealed class TinyWorld : IDisposable
{
    public const int Seed = 7;

    public TinyWorld()
    {
        Tokenizer = new CharTokenizer();
        Model = CausalLM.Create(TransformerConfig.BuiltIn("tiny", Tokenizer.VocabSize), Seed);
        Encoder = new BatchEncoder(Tokenizer, PromptTemplate.Default, maxLength: 128);
    }

    public CausalLM Model { get; }
    public CharTokenizer Tokenizer { get; }
    public BatchEncoder Encoder { get; }

    public static IDataSplit Forget { get; } = new Split("forget",
    [
        .. new[] { ("Where was Ada born?", "In Lyon."), ("What did Ada write?", "Two novels."), ("Who taught Ada?", "Her aunt."),
            ("When did Ada move?", "In May."), ("What is Ada's pet?", "A cat."), ("Which city loves Ada?", "Oslo."),
            ("What does Ada drink?", "Green tea."), ("Where does Ada work?", "A bakery.") }
            .Select(p => new QaItem { Question = p.Item1, Answer = p.Item2 }),
    ]);

    public AttackSetup Setup() => new(Model, Encoder, Tokenizer,
        name => name == "forget" ? Forget : throw new ArgumentException($"unknown split '{name}'"), Seed, CancellationToken.None);

    public void Dispose() => Model.Dispose();

    private sealed record Split(string Name, IReadOnlyList<QaItem> Items) : IDataSplit
    {
        public string Source => "tests";
    }
}

/// <summary>Pad 0, EOS 1, then one id per printable ASCII character.</summary>
internal sealed class CharTokenizer : ITokenizerView
{
    public IReadOnlyList<int> Encode(string text) => text.Select(c => c is >= ' ' and <= '~' ? 2 + c - ' ' : 2).ToList();
    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Where(i => i >= 2).Select(i => (char)(' ' + i - 2)));
    public int EosId => 1;
    public int PadId => 0;
    public int VocabSize => 2 + ('~' - ' ' + 1);
}
