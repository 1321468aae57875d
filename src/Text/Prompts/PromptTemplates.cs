using Unlearn.Text.Jinja;

namespace Unlearn.Text;

/// <summary>A model's template setting (<c>model.template</c> of a pipeline, <c>--template</c> of a command) or the
/// model folder it names cannot give a prompt template. The message starts with the setting to fix
/// (<c>model.template</c>, or <c>model.path</c> when a file of the folder is broken) and says how.</summary>
public sealed class PromptTemplateException(string message) : Exception(message);

/// <summary>Turns a model's template setting into the <see cref="PromptTemplate"/> of its model folder.</summary>
public static class PromptTemplates
{
    /// <summary>The model folder's chat template when it has one, else <see cref="PromptTemplate.Default"/>.</summary>
    public const string Auto = "auto";

    /// <summary>The model folder's chat template; an error when it has none.</summary>
    public const string Chat = "chat";

    /// <summary>The prompt template for a model folder (null for a built-in model trained from scratch).</summary>
    /// <param name="setting"><see cref="Auto"/>, <see cref="Chat"/> or a text template with {question} and {answer}.</param>
    /// <param name="systemPrompt">The system message of a chat template, if any.</param>
    /// <param name="modelDir">The model folder, or null for a built-in model.</param>
    /// <exception cref="PromptTemplateException">'chat' without a chat template, a chat template that does not parse or
    /// render, or a folder file read for the template's special tokens that is broken.</exception>
    public static PromptTemplate Resolve(string setting, string? systemPrompt, string? modelDir)
    {
        ArgumentNullException.ThrowIfNull(setting);
        if (setting is not (Auto or Chat)) return new PromptTemplate(setting);
        try
        {
            var chat = modelDir == null ? null : ChatTemplate.Find(modelDir);
            if (chat != null)
            {
                var template = PromptTemplate.FromChat(chat, systemPrompt);
                template.FormatPrompt("Is this template usable?"); // fails here, once, rather than mid-run
                return template;
            }
        }
        catch (JinjaException ex)
        {
            throw new PromptTemplateException(
                $"model.template: {ex.Message}. Fix the chat template, or set model.template to a text template such as \"{PromptTemplate.DefaultText.Replace("\n", "\\n", StringComparison.Ordinal)}\".");
        }
        // The folder's tokenizer or config files (read for the template's special tokens): the message names the file and the fix.
        catch (TokenizerException ex)
        {
            throw new PromptTemplateException($"model.path: {ex.Message}");
        }
        if (setting == Chat)
            throw new PromptTemplateException(
                $"model.template: template 'chat' needs a chat template, but {modelDir ?? "the built-in model"} has none (looked for {string.Join(", ", ChatTemplate.RecognisedFiles)}). " +
                "Add one to the model folder, or set model.template to 'auto' or a text template.");
        return PromptTemplate.Default;
    }
}
