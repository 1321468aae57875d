using Unlearn.Text;
using Unlearn.Text.Jinja;

namespace Unlearn.Host.Configuration;

/// <summary>Turns the <c>model.template</c> setting into the <see cref="PromptTemplate"/> of a model folder.</summary>
public static class PromptTemplates
{
    /// <summary>The model folder's chat template when it has one, else <see cref="PromptTemplate.Default"/>.</summary>
    public const string Auto = "auto";

    /// <summary>The model folder's chat template; an error when it has none.</summary>
    public const string Chat = "chat";

    /// <summary>The prompt template for a model folder (null for a built-in model trained from scratch).</summary>
    /// <exception cref="PipelineException">'chat' without a chat template, or a chat template that does not parse or
    /// render; the message names the file and says how to fix it.</exception>
    public static PromptTemplate Resolve(ModelSpec model, string? modelDir)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Template is not (Auto or Chat)) return new PromptTemplate(model.Template);
        ChatTemplate? chat;
        try
        {
            chat = modelDir == null ? null : ChatTemplate.Find(modelDir);
            if (chat != null)
            {
                var template = PromptTemplate.FromChat(chat, model.SystemPrompt);
                template.FormatPrompt("Is this template usable?"); // fails here, once, rather than mid-run
                return template;
            }
        }
        catch (JinjaException ex)
        {
            throw new PipelineException(SourceLocation.Default, "model.template",
                $"{ex.Message}. Fix the chat template, or set model.template to a text template such as \"{PromptTemplate.DefaultText.Replace("\n", "\\n", StringComparison.Ordinal)}\".");
        }
        // The folder's tokenizer or config files (read for the template's special tokens): the message names the file and the fix.
        catch (TokenizerException ex)
        {
            throw new PipelineException(SourceLocation.Default, "model.path", ex.Message);
        }
        if (model.Template == Chat)
            throw new PipelineException(SourceLocation.Default, "model.template",
                $"template 'chat' needs a chat template, but {modelDir ?? "the built-in model"} has none (looked for {string.Join(", ", ChatTemplate.RecognisedFiles)}). " +
                "Add one to the model folder, or set model.template to 'auto' or a text template.");
        return PromptTemplate.Default;
    }
}
