namespace Unlearn.Text;

/// <summary>How a question/answer pair becomes text. A template holds one question placeholder (<c>{question}</c> or
/// <c>{q}</c>) followed later by one answer placeholder (<c>{answer}</c> or <c>{a}</c>) at its very end.
/// <para>The text splits into a <b>prompt</b> and an <b>answer part</b> at the answer placeholder; whitespace right
/// before the placeholder (the <see cref="AnswerSeparator"/>) belongs to the answer part. With the default
/// <c>Question: {question}\nAnswer: {answer}</c>, the prompt of "Who?" is <c>"Question: Who?\nAnswer:"</c> and
/// the answer part of "Me." is <c>" Me."</c> (one space, then the answer), so prompt + answer part is the
/// whole text <c>"Question: Who?\nAnswer: Me."</c>. Generation starts from the prompt; a model continues with
/// the separator and the answer. Backslash sequences are not interpreted: a newline must be a real newline.</para>
/// <para>A template may instead wrap a model's <see cref="ChatTemplate"/> (<see cref="FromChat"/>): the prompt is the
/// rendered conversation up to the assistant's turn and the answer part is the answer itself.</para></summary>
public sealed class PromptTemplate : IEquatable<PromptTemplate>
{
    /// <summary>The template of the reference experiments (TOFU, Phi-1.5).</summary>
    public const string DefaultText = "Question: {question}\nAnswer: {answer}";

    private static readonly string[] QuestionPlaceholders = ["{question}", "{q}"];
    private static readonly string[] AnswerPlaceholders = ["{answer}", "{a}"];

    private readonly string _beforeQuestion;
    private readonly string _afterQuestion;
    private readonly string? _systemPrompt;

    /// <summary>Parses a template.</summary>
    /// <exception cref="ArgumentException">A placeholder is missing or repeated, or the answer placeholder is not at
    /// the end after the question placeholder.</exception>
    public PromptTemplate(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        Text = template;
        var (qAt, qLength) = FindOnce(template, QuestionPlaceholders, "question");
        var (aAt, aLength) = FindOnce(template, AnswerPlaceholders, "answer");
        if (aAt < qAt)
            throw new ArgumentException($"prompt template must place the question placeholder before the answer placeholder, got \"{Escape(template)}\"", nameof(template));
        if (aAt + aLength != template.Length)
            throw new ArgumentException($"prompt template must end with the answer placeholder (text after it would be scored as answer), got \"{Escape(template)}\"", nameof(template));
        _beforeQuestion = template[..qAt];
        var between = template[(qAt + qLength)..aAt];
        var trimmed = between.TrimEnd();
        _afterQuestion = trimmed;
        AnswerSeparator = between[trimmed.Length..];
    }

    private PromptTemplate(ChatTemplate chat, string? systemPrompt)
    {
        Chat = chat;
        _systemPrompt = systemPrompt;
        _beforeQuestion = _afterQuestion = "";
        AnswerSeparator = "";
        Text = $"chat template {chat.Hash}" + (string.IsNullOrEmpty(systemPrompt) ? "" : $", system prompt \"{Escape(systemPrompt)}\"");
    }

    /// <summary>A template that renders a model's chat template: the prompt is an optional system message and the
    /// question as the user's turn, followed by the generation prompt; the answer part is the bare answer (the
    /// encoder adds EOS, which chat models' tokenizer configs set to their end-of-turn token).</summary>
    public static PromptTemplate FromChat(ChatTemplate chat, string? systemPrompt = null)
    {
        ArgumentNullException.ThrowIfNull(chat);
        return new PromptTemplate(chat, systemPrompt);
    }

    /// <summary>The chat template this prompt template renders, or null for a text template.</summary>
    public ChatTemplate? Chat { get; }

    /// <summary>The default template, <see cref="DefaultText"/>.</summary>
    public static PromptTemplate Default { get; } = new(DefaultText);

    /// <summary>The template text as given (for a chat template: its hash and the system prompt, an identity for
    /// stage keys and reports).</summary>
    public string Text { get; }

    /// <summary>The whitespace between the prompt and the answer (" " for the default template).</summary>
    public string AnswerSeparator { get; }

    /// <summary>The prompt for a question: the template up to the answer placeholder, trailing whitespace removed.</summary>
    public string FormatPrompt(string question) =>
        Chat is { } chat ? chat.RenderPrompt(question, _systemPrompt) : _beforeQuestion + question + _afterQuestion;

    /// <summary>The answer part: <see cref="AnswerSeparator"/> followed by the answer.</summary>
    public string FormatAnswer(string answer) => AnswerSeparator + answer;

    /// <summary>The whole text: prompt followed by answer part.</summary>
    public string Format(string question, string answer) => FormatPrompt(question) + FormatAnswer(answer);

    /// <inheritdoc />
    public bool Equals(PromptTemplate? other) => other is not null && other.Text == Text;

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PromptTemplate);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Text);

    /// <inheritdoc />
    public override string ToString() => Escape(Text);

    private static (int At, int Length) FindOnce(string template, string[] placeholders, string what)
    {
        var found = new List<(int, int)>();
        foreach (var p in placeholders)
            for (var i = template.IndexOf(p, StringComparison.Ordinal); i >= 0; i = template.IndexOf(p, i + 1, StringComparison.Ordinal))
                found.Add((i, p.Length));
        return found.Count switch
        {
            1 => found[0],
            0 => throw new ArgumentException($"prompt template needs a {{{what}}} placeholder, got \"{Escape(template)}\"", nameof(template)),
            _ => throw new ArgumentException($"prompt template must contain the {{{what}}} placeholder once, found {found.Count} in \"{Escape(template)}\"", nameof(template)),
        };
    }

    private static string Escape(string s) => s.Replace("\n", "\\n", StringComparison.Ordinal);
}
