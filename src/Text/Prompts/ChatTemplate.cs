using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Unlearn.Text.Jinja;

namespace Unlearn.Text;

/// <summary>A model folder's chat template (the Jinja template Hugging Face's <c>apply_chat_template</c> renders),
/// used to turn a question into the prompt an instruction-tuned model expects. <see cref="Find"/> looks, in this
/// order, for <c>chat_template.jinja</c>, <c>chat_template.json</c> and the <c>chat_template</c> key of
/// <c>tokenizer_config.json</c> (a string, or a list of named templates of which "default" is used).</summary>
public sealed class ChatTemplate
{
    /// <summary>The files <see cref="Find"/> looks in, in order.</summary>
    public static IReadOnlyList<string> RecognisedFiles { get; } =
        ["chat_template.jinja", "chat_template.json", "tokenizer_config.json (chat_template)"];

    private readonly JinjaTemplate _template;
    private readonly Lazy<bool> _startsWithBos;

    private ChatTemplate(string source, string origin, string? bosToken, string? eosToken)
    {
        Source = source;
        Origin = origin;
        BosToken = bosToken;
        EosToken = eosToken;
        _template = JinjaTemplate.Parse(source, origin);
        Hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source)))[..16];
        _startsWithBos = new(() => BosToken is { Length: > 0 } bos
            && Render([("user", "x")], addGenerationPrompt: true).StartsWith(bos, StringComparison.Ordinal));
    }

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <summary>Where it was read from (file, and key where it is one).</summary>
    public string Origin { get; }

    /// <summary>First 16 hex digits of the SHA-256 of <see cref="Source"/> (its identity in stage keys).</summary>
    public string Hash { get; }

    /// <summary>The text of the BOS token passed to the template as <c>bos_token</c>, if the folder names one.</summary>
    public string? BosToken { get; }

    /// <summary>The text of the EOS token passed to the template as <c>eos_token</c>, if the folder names one.</summary>
    public string? EosToken { get; }

    /// <summary>Creates a chat template from its text (tests, and templates given by other means).</summary>
    /// <exception cref="JinjaException">The template does not parse.</exception>
    public static ChatTemplate FromText(string source, string origin, string? bosToken = null, string? eosToken = null) =>
        new(source, origin, bosToken, eosToken);

    /// <summary>The chat template of a model folder, or null when it has none.</summary>
    /// <exception cref="TokenizerException">A template file is malformed; the message names it.</exception>
    /// <exception cref="JinjaException">The template does not parse; the message names the file, line and column.</exception>
    public static ChatTemplate? Find(string folder)
    {
        var dir = Path.GetFullPath(folder);
        var config = SpecialTokenConfig.Read(dir);
        var jinja = Path.Combine(dir, "chat_template.jinja");
        if (File.Exists(jinja)) return new ChatTemplate(File.ReadAllText(jinja), jinja, config.BosToken, config.EosToken);
        var json = Path.Combine(dir, "chat_template.json");
        if (File.Exists(json))
        {
            var text = TemplateText(ModelTokenizer.ReadJsonObject(json)["chat_template"], json)
                ?? throw new TokenizerException($"{json}: expected a \"chat_template\" string");
            return new ChatTemplate(text, json + " (chat_template)", config.BosToken, config.EosToken);
        }
        var tokenizerConfig = Path.Combine(dir, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig) && TemplateText(ModelTokenizer.ReadJsonObject(tokenizerConfig)["chat_template"], tokenizerConfig) is { } fromConfig)
            return new ChatTemplate(fromConfig, tokenizerConfig + " (chat_template)", config.BosToken, config.EosToken);
        return null;
    }

    /// <summary>Renders a conversation of (role, content) messages.</summary>
    /// <exception cref="JinjaException">The template raised an error (e.g. roles it does not accept).</exception>
    public string Render(IReadOnlyList<(string Role, string Content)> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.Select(m => (object?)new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["role"] = m.Role,
            ["content"] = m.Content,
        }).ToList();
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["messages"] = list,
            ["add_generation_prompt"] = addGenerationPrompt,
            ["bos_token"] = BosToken ?? "",
            ["eos_token"] = EosToken ?? "",
        };
        return _template.Render(variables, FixedClock.Instance);
    }

    /// <summary>The date templates see through <c>strftime_now</c>: fixed, so a prompt (and so every trained model and
    /// metric) never depends on the day of the run. It is the fallback date of Llama 3.1's own template.</summary>
    public static DateTimeOffset TemplateDate { get; } = new(2024, 7, 26, 0, 0, 0, TimeSpan.Zero);

    private sealed class FixedClock : TimeProvider
    {
        public static FixedClock Instance { get; } = new();

        public override DateTimeOffset GetUtcNow() => TemplateDate;

        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
    }

    /// <summary>The generation prompt for one question (an optional system message, then the question as the user's
    /// turn, then the template's generation prompt), with a leading <see cref="BosToken"/> text removed: the encoder
    /// puts the BOS id in front itself (see <see cref="StartsWithBos"/>).</summary>
    public string RenderPrompt(string question, string? systemPrompt)
    {
        var messages = new List<(string, string)>();
        if (!string.IsNullOrEmpty(systemPrompt)) messages.Add(("system", systemPrompt));
        messages.Add(("user", question));
        var text = Render(messages, addGenerationPrompt: true);
        return BosToken is { Length: > 0 } bos && text.StartsWith(bos, StringComparison.Ordinal) ? text[bos.Length..] : text;
    }

    /// <summary>True when the template writes the BOS token at the start of a conversation (rendered once).</summary>
    public bool StartsWithBos => _startsWithBos.Value;

    private static string? TemplateText(JsonNode? node, string path) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray list => list.OfType<JsonObject>().FirstOrDefault(t => t["name"]?.GetValue<string>() == "default")?["template"]?.GetValue<string>()
            ?? throw new TokenizerException($"{path}: chat_template is a list without a template named \"default\""),
        _ => throw new TokenizerException($"{path}: chat_template must be a string or a list of {{name, template}} objects"),
    };
}
