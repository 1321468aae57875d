namespace Unlearn.Tests;

/// <summary>A theory over the published tokenizer files, skipped (naming the script that fetches them) when they are absent.</summary>
public sealed class HfTokenizerTheoryAttribute : TheoryAttribute
{
    public HfTokenizerTheoryAttribute()
    {
        if (!Directory.Exists(TestPaths.HfTokenizersDir))
            Skip = $"the published tokenizer files are not in {TestPaths.HfTokenizersDir}: run scripts/fixtures/fetch-hf-tokenizers.sh";
    }
}

/// <summary>A test that needs one published tokenizer folder, skipped (naming the script that fetches it) when absent.</summary>
public sealed class HfTokenizerFactAttribute : FactAttribute
{
    public HfTokenizerFactAttribute(string name)
    {
        if (!File.Exists(Path.Combine(TestPaths.HfTokenizersDir, name, "tokenizer.json")))
            Skip = $"{Path.Combine(TestPaths.HfTokenizersDir, name)} is absent: run scripts/fixtures/fetch-hf-tokenizers.sh";
    }
}
