namespace Unlearn.Plugins;

/// <summary>One question/answer row in the TOFU schema. Optional fields are empty when the split lacks them.</summary>
public sealed record QaItem
{
    /// <summary>The question.</summary>
    public required string Question { get; init; }

    /// <summary>The gold answer.</summary>
    public required string Answer { get; init; }

    /// <summary>A paraphrase of the question (forget/retain perturbed splits), or null.</summary>
    public string? ParaphrasedQuestion { get; init; }

    /// <summary>A paraphrase of the answer (forget/retain perturbed splits), or null.</summary>
    public string? ParaphrasedAnswer { get; init; }

    /// <summary>Wrong answers of the same shape (5 for forget/retain, 3 for general knowledge).</summary>
    public IReadOnlyList<string> PerturbedAnswers { get; init; } = [];

    /// <summary>Multiple-choice options (real_authors / world_facts), or empty.</summary>
    public IReadOnlyList<string> Options { get; init; } = [];
}

/// <summary>A named, ordered data split.</summary>
public interface IDataSplit
{
    /// <summary>The logical name used in pipeline files (e.g. "forget", "retain", "holdout").</summary>
    string Name { get; }

    /// <summary>Where the split was read from (a file path, or "built-in world").</summary>
    string Source { get; }

    /// <summary>The rows, in file order.</summary>
    IReadOnlyList<QaItem> Items { get; }
}

/// <summary>Which text of a <see cref="QaItem"/> to use as prompt or answer.</summary>
public enum QuestionField
{
    /// <summary><see cref="QaItem.Question"/>.</summary>
    Original,
    /// <summary><see cref="QaItem.ParaphrasedQuestion"/> (falls back to the original when missing).</summary>
    Paraphrased,
}
