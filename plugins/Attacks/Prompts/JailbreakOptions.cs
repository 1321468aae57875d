using System.ComponentModel;

namespace Unlearn.Plugins.Attacks.Prompts;

/// <summary>Options of the <c>jailbreak</c> attack.</summary>
public sealed class JailbreakOptions : IValidatableOptions
{
    /// <summary>The template every question is wrapped in, by name; null to give each question one by a stable hash.</summary>
    [Description("Name of the one template to use (a built-in name, or file-N for line N of the file); null gives each question the template a stable hash of it picks from all of them.")]
    public string? Template { get; init; }

    /// <summary>A text file of further templates, one per line, each containing {question}.</summary>
    [Description("Text file of more templates, one per line containing {question} (blank lines and lines starting with # are skipped); a relative path is read from the folder of the pipeline file that sets it.")]
    public string? File { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        IReadOnlyList<JailbreakTemplate> templates;
        string? problem = null;
        try { templates = JailbreakTemplate.All(File); }
        catch (JailbreakFileException e) { templates = []; problem = e.Message; }
        if (problem != null) { yield return problem; yield break; }
        if (Template != null && templates.All(t => t.Name != Template))
            yield return $"template '{Template}' is not a jailbreak template; valid names: {string.Join(", ", templates.Select(t => t.Name))}";
    }
}
