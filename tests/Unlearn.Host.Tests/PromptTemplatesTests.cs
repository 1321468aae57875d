using Unlearn.Host.Configuration;
using Unlearn.Text;

namespace Unlearn.Host.Tests;

/// <summary>model.template: 'auto', 'chat' and text templates, bound from pipeline files and resolved against model folders.</summary>
public sealed class PromptTemplatesTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private const string Template =
        "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

    private static ModelSpec Model(string template, string? system = null) => new() { Template = template, MaxLength = 64, SystemPrompt = system };

    private static PromptTemplate Resolve(ModelSpec model, string? folder) => PromptTemplates.Resolve(model.Template, model.SystemPrompt, folder);

    private PipelineSpec Bind(string yaml)
    {
        var path = _files.Write("p.yaml", yaml);
        return PipelineBinder.Bind(PipelineDocument.Load(path), path, []);
    }

    [Fact]
    public void AutoIsTheDefaultAndFallsBackToTheTextTemplate()
    {
        var spec = Bind("name: p\n");
        Assert.Equal(PromptTemplates.Auto, spec.Model.Template);
        Assert.Same(PromptTemplate.Default, Resolve(spec.Model, null));
        var folder = Path.Combine(_files.Dir, "plain-model");
        Directory.CreateDirectory(folder);
        Assert.Same(PromptTemplate.Default, Resolve(spec.Model, folder));
    }

    [Fact]
    public void AutoAndChatUseTheFoldersChatTemplateWithTheSystemPrompt()
    {
        _files.Write("chat-model/tokenizer_config.json",
            System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["chat_template"] = Template }));
        var folder = Path.Combine(_files.Dir, "chat-model");
        foreach (var mode in new[] { PromptTemplates.Auto, PromptTemplates.Chat })
        {
            var template = Resolve(Model(mode, "Be brief."), folder);
            Assert.NotNull(template.Chat);
            Assert.Equal("<|system|>Be brief.\n<|user|>Who?\n<|assistant|>", template.FormatPrompt("Who?"));
            Assert.Equal("Me.", template.FormatAnswer("Me."));
            Assert.Contains(template.Chat!.Hash, template.Text);
            Assert.Contains("Be brief.", template.Text);
        }
        // A different system prompt is a different template (and so a different stage key).
        Assert.NotEqual(Resolve(Model(PromptTemplates.Auto, "Be brief."), folder).Text,
                        Resolve(Model(PromptTemplates.Auto), folder).Text);
        // A text template ignores the folder's chat template.
        Assert.Equal("Q: Who?\nA:", Resolve(Model("Q: {question}\nA: {answer}"), folder).FormatPrompt("Who?"));
    }

    [Fact]
    public void ChatWithoutAChatTemplateNamesTheFolderAndTheFilesLookedFor()
    {
        var folder = Path.Combine(_files.Dir, "plain");
        Directory.CreateDirectory(folder);
        var e = Assert.Throws<PromptTemplateException>(() => Resolve(Model(PromptTemplates.Chat), folder));
        Assert.Contains("model.template", e.Message);
        Assert.Contains(folder, e.Message);
        Assert.Contains("chat_template.jinja", e.Message);
    }

    [Fact]
    public void ABrokenChatTemplateIsAnErrorNamingTheFileAndLine()
    {
        var path = _files.Write("broken/chat_template.jinja", "{% for m in messages %}\n{{ m['content'] }\n");
        var e = Assert.Throws<PromptTemplateException>(() => Resolve(Model(PromptTemplates.Auto), Path.GetDirectoryName(path)));
        Assert.Contains(path + ":", e.Message);
        Assert.Contains("Fix the chat template, or set model.template to a text template", e.Message);

        var raising = _files.Write("raising/chat_template.jinja", "{% if messages[0]['role'] == 'user' %}{{ raise_exception('a system message must come first') }}{% endif %}");
        var r = Assert.Throws<PromptTemplateException>(() => Resolve(Model(PromptTemplates.Auto), Path.GetDirectoryName(raising)));
        Assert.Contains("a system message must come first", r.Message);
    }

    [Fact]
    public void PipelineFilesRejectChatWithoutAModelAndSystemPromptsWithTextTemplates()
    {
        var chat = Assert.Throws<PipelineException>(() => Bind("name: p\nmodel:\n  template: chat\n"));
        Assert.Contains(":3:3: model.template: template 'chat' uses the chat template of the model folder, but there is no model.path", chat.Message);

        var system = Assert.Throws<PipelineException>(() => Bind("name: p\nmodel:\n  template: \"Q: {question} A: {answer}\"\n  system_prompt: Be brief.\n"));
        Assert.Contains(":4:3: model.system_prompt: system_prompt is used only with a chat template", system.Message);

        var text = Assert.Throws<PipelineException>(() => Bind("name: p\nmodel:\n  template: chatty\n"));
        Assert.Contains("the template must be 'auto', 'chat' or a text containing {question} and {answer}", text.Message);
    }

    [Fact]
    public void ABrokenConfigJsonIsNotReportedAsAChatTemplateProblem()
    {
        _files.Write("broken-config/chat_template.jinja", Template);
        _files.Write("broken-config/config.json", "{\"model_type\": \"llama\",");
        var folder = Path.Combine(_files.Dir, "broken-config");
        var e = Assert.Throws<PromptTemplateException>(() => Resolve(Model(PromptTemplates.Auto), folder));
        Assert.Contains(Path.Combine(folder, "config.json"), e.Message);
        Assert.Contains("model.path", e.Message);
        Assert.DoesNotContain("chat template", e.Message);
    }
}
