using Unlearn.Text.Jinja;

namespace Unlearn.Text.Tests;

/// <summary>Chat templates found in model folders and used as prompt templates by the batch encoder.</summary>
public sealed class ChatTemplateTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "unlearn-chat-" + Guid.NewGuid().ToString("N"));
    private static readonly string SentencePieceModel = Path.Combine(AppContext.BaseDirectory, "Fixtures", "sentencepiece", "bpe", "tokenizer.model");

    // Written in the style of Llama-2 chat: the system message folds into the first user turn.
    private const string LlamaStyle =
        "{% if messages[0]['role'] == 'system' %}{% set system = '<<SYS>>\\n' + messages[0]['content'] + '\\n<</SYS>>\\n\\n' %}" +
        "{% set messages = messages[1:] %}{% else %}{% set system = '' %}{% endif %}" +
        "{% for m in messages %}{% if m['role'] == 'user' %}{{ bos_token + '[INST] ' + (system if loop.first else '') + m['content'].strip() + ' [/INST]' }}" +
        "{% else %}{{ ' ' + m['content'].strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

    public ChatTemplateTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Folder(string name, params (string File, string Text)[] files)
    {
        var dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        foreach (var (file, text) in files) File.WriteAllText(Path.Combine(dir, file), text);
        return dir;
    }

    private static string Json(object value) => System.Text.Json.JsonSerializer.Serialize(value);

    [Fact]
    public void Jinja_file_comes_before_chat_template_json_before_tokenizer_config()
    {
        var all = Folder("all", ("chat_template.jinja", "jinja"), ("chat_template.json", Json(new { chat_template = "json" })),
            ("tokenizer_config.json", Json(new { chat_template = "config" })));
        Assert.Equal("jinja", ChatTemplate.Find(all)!.Source);
        Assert.EndsWith("chat_template.jinja", ChatTemplate.Find(all)!.Origin);
        File.Delete(Path.Combine(all, "chat_template.jinja"));
        Assert.Equal("json", ChatTemplate.Find(all)!.Source);
        File.Delete(Path.Combine(all, "chat_template.json"));
        Assert.Equal("config", ChatTemplate.Find(all)!.Source);
        Assert.Equal(Path.Combine(all, "tokenizer_config.json") + " (chat_template)", ChatTemplate.Find(all)!.Origin);
        File.WriteAllText(Path.Combine(all, "tokenizer_config.json"), Json(new { eos_token = "</s>" }));
        Assert.Null(ChatTemplate.Find(all));
    }

    [Fact]
    public void A_list_of_named_templates_uses_the_default_one()
    {
        var list = Folder("list", ("tokenizer_config.json", Json(new
        {
            chat_template = new[] { new { name = "tool_use", template = "tools" }, new { name = "default", template = "plain" } },
        })));
        Assert.Equal("plain", ChatTemplate.Find(list)!.Source);
        var none = Folder("no-default", ("tokenizer_config.json", Json(new { chat_template = new[] { new { name = "rag", template = "x" } } })));
        var e = Assert.Throws<TokenizerException>(() => ChatTemplate.Find(none));
        Assert.Contains("tokenizer_config.json: chat_template is a list without a template named \"default\"", e.Message);
    }

    [Fact]
    public void A_template_that_does_not_parse_names_its_file()
    {
        var bad = Folder("bad", ("chat_template.jinja", "{% if messages %}no end"));
        var e = Assert.Throws<JinjaException>(() => ChatTemplate.Find(bad));
        Assert.StartsWith(Path.Combine(bad, "chat_template.jinja") + ":1:", e.Message);
    }

    [Fact]
    public void Prompt_is_the_rendered_user_turn_without_the_bos_text()
    {
        var chat = ChatTemplate.FromText(LlamaStyle, "test", "<s>", "</s>");
        Assert.Equal("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWho? [/INST] Me. </s>",
            chat.Render([("system", "Be brief."), ("user", " Who? "), ("assistant", "Me.")], addGenerationPrompt: false));
        Assert.Equal("[INST] Who? [/INST]", chat.RenderPrompt("Who?", null));
        Assert.Equal("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nWho? [/INST]", chat.RenderPrompt("Who?", "Be brief."));
        Assert.True(chat.StartsWithBos);
        Assert.False(ChatTemplate.FromText("{{ messages[0]['content'] }}", "test", "<s>", "</s>").StartsWithBos);
    }

    [Fact]
    public void Encoder_puts_bos_the_rendered_prompt_then_the_answer_and_eos()
    {
        var dir = Folder("llama", ("tokenizer_config.json", Json(new { bos_token = "<s>", eos_token = "</s>", add_bos_token = false, chat_template = LlamaStyle })));
        File.Copy(SentencePieceModel, Path.Combine(dir, "tokenizer.model"));
        var tokenizer = ModelTokenizer.Load(dir);
        var template = PromptTemplate.FromChat(ChatTemplate.Find(dir)!);
        // add_bos_token is false, but the template writes the BOS text, so the encoder puts the BOS id in front.
        var encoder = new BatchEncoder(tokenizer, template, 256);
        Assert.Equal(tokenizer.BosId, encoder.BosId);
        var (prompt, answer) = encoder.Tokenize("Where was Kalo Venson born?", "Kalo Venson was born in Astholm.");
        Assert.Equal([tokenizer.BosId!.Value, .. tokenizer.Encode("[INST] Where was Kalo Venson born? [/INST]")], prompt);
        Assert.Equal([.. tokenizer.Encode("Kalo Venson was born in Astholm."), tokenizer.EosId], answer);

        var batch = encoder.Encode([("Who?", "Me.")]);
        var labels = batch.Labels.data<long>().ToArray();
        batch.InputIds.Dispose();
        batch.AttentionMask.Dispose();
        batch.Labels.Dispose();
        var promptLength = encoder.EncodePrompt("Who?").Count;
        Assert.All(labels.Take(promptLength), l => Assert.Equal(Unlearn.Plugins.TokenBatch.IgnoreIndex, l));
        Assert.Equal(tokenizer.EosId, labels[^1]);
    }

    [Fact]
    public void Text_template_and_chat_template_with_the_same_words_are_different_templates()
    {
        var chat = PromptTemplate.FromChat(ChatTemplate.FromText(LlamaStyle, "test", "<s>", "</s>"));
        Assert.NotEqual(PromptTemplate.Default, chat);
        Assert.Equal(chat, PromptTemplate.FromChat(ChatTemplate.FromText(LlamaStyle, "elsewhere", "<s>", "</s>")));
        Assert.StartsWith("chat template ", chat.Text);
        Assert.Equal("", chat.AnswerSeparator);
    }

    [Fact]
    public void Templates_that_print_the_date_see_a_fixed_one()
    {
        var chat = ChatTemplate.FromText("Today: {{ strftime_now('%d %b %Y') }}\n{{ messages[0]['content'] }}", "test");
        Assert.Equal("Today: 26 Jul 2024\nWho?", chat.RenderPrompt("Who?", null));
    }
}
