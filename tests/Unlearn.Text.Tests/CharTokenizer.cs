using Unlearn.Plugins;

namespace Unlearn.Text.Tests;

/// <summary>A tiny test tokenizer: one id per character (id = char code + 10), pad 0, eos 1, bos 2. Simple enough that
/// the expected ids of a batch can be written down by hand.</summary>
internal sealed class CharTokenizer : ITokenizerView
{
    public IReadOnlyList<int> Encode(string text) => text.Select(c => c + 10).ToList();

    public string Decode(IEnumerable<int> ids) => new(ids.Where(i => i >= 10).Select(i => (char)(i - 10)).ToArray());

    public int EosId => 1;

    public int PadId => 0;

    public int VocabSize => 200;
}
