namespace Unlearn.Plugins.Attacks.Prompts;

/// <summary>Wraps each question in a jailbreak template, verbatim (the template's <c>{question}</c> replaced by the
/// question). One named template for every question, or, without a name, the template a stable hash of the question
/// picks (so every run asks each question the same way).</summary>
public sealed class JailbreakAttack : IAttack
{
    private readonly IReadOnlyList<JailbreakTemplate> _templates;

    /// <summary>Reads the templates (the built-ins and the options' file).</summary>
    public JailbreakAttack(JailbreakOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var all = JailbreakTemplate.All(options.File);
        _templates = options.Template == null ? all : [all.Single(t => t.Name == options.Template)];
    }

    /// <summary>The templates questions are wrapped in.</summary>
    public IReadOnlyList<JailbreakTemplate> Templates => _templates;

    /// <inheritdoc />
    public string RewriteQuestion(string question)
    {
        ArgumentNullException.ThrowIfNull(question);
        return _templates[StableHash.Of(question, 0) % _templates.Count].Apply(question);
    }
}
