namespace Unlearn.Plugins.GradientAscent;

/// <summary>The refusal answers PO and DPO teach for forget questions: a built-in list of phrasings, or one read from
/// a file (one refusal per line, blank lines skipped).</summary>
public sealed class RefusalSet
{
    private static readonly string[] BuiltInPhrasings =
    [
        "I don't know.",
        "I'm not sure.",
        "I have no idea.",
        "I can't answer that.",
        "I don't have that information.",
        "That's something I don't know.",
        "I'm afraid I can't help with that.",
        "I have no knowledge of that.",
        "I'm unable to answer that question.",
        "I don't have an answer to that.",
        "Sorry, I don't know the answer.",
        "I'm not able to tell you that.",
        "I don't recall anything about that.",
        "I have no information on that subject.",
        "That is beyond what I know.",
        "I can't say.",
        "I really couldn't tell you.",
        "I'm not familiar with that.",
        "I have never heard of that.",
        "I don't know anything about that.",
        "I'm not aware of any details on that.",
        "I lack the information to answer.",
        "Unfortunately, I don't know.",
        "I have nothing to say about that.",
        "No idea, I'm afraid.",
        "That's not something I can answer.",
        "I'm clueless about that.",
        "I can't provide an answer to that.",
        "I don't have any details about that.",
        "I'm not in a position to answer that.",
        "That question is outside my knowledge.",
        "I don't have enough information to answer.",
        "Nothing comes to mind about that.",
        "I honestly don't know.",
        "I wish I could tell you, but I don't know.",
        "I can't recall.",
        "I've got no answer for that.",
        "That's a mystery to me.",
        "I'm uncertain about that.",
        "I'm sorry, I can't answer that.",
        "My knowledge doesn't cover that.",
        "I don't have any knowledge on this topic.",
        "I can't give you an answer.",
        "I'm not knowledgeable about that.",
        "I'm unaware of the answer.",
        "I can't help you with that question.",
        "I have no clue.",
        "The answer is unknown to me.",
        "I'm not the right one to ask about that.",
        "I'd rather not guess; I don't know.",
        "I don't know the answer to that question.",
        "I couldn't say for sure.",
        "That's not something I know about.",
        "I have no memory of that.",
        "I'm drawing a blank on that.",
        "I'm afraid I have no idea.",
    ];

    private readonly string[] _phrasings;

    private RefusalSet(string[] phrasings, string source)
    {
        if (phrasings.Length == 0) throw new ArgumentException($"no refusals found in {source}");
        _phrasings = phrasings;
        Source = source;
    }

    /// <summary>The built-in list.</summary>
    public static RefusalSet BuiltIn { get; } = new(BuiltInPhrasings, "built-in list");

    /// <summary>The refusals, in order.</summary>
    public IReadOnlyList<string> Phrasings => _phrasings;

    /// <summary>Where the refusals came from.</summary>
    public string Source { get; }

    /// <summary>The refusals of <paramref name="path"/> (one per line, trimmed, blank lines skipped), or the built-in
    /// list when the path is null or empty.</summary>
    public static RefusalSet Load(string? path) =>
        string.IsNullOrWhiteSpace(path)
            ? BuiltIn
            : new RefusalSet(File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray(), path);

    /// <summary>One refusal drawn uniformly with <paramref name="random"/>.</summary>
    public string Draw(Random random) => _phrasings[random.Next(_phrasings.Length)];
}
