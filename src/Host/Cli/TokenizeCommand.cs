using System.Text.Json;
using Cocona;
using Unlearn.Host.Configuration;
using Unlearn.Text;

namespace Unlearn.Host.Cli;

/// <summary><c>dotnet unlearn tokenize</c>: the exact ids and pieces a model folder's tokenizer gives for a text, or how
/// training and evaluation lay out a question/answer pair (template, BOS, answer span, label mask), so a model folder can
/// be checked before hours are spent on it.</summary>
public sealed class TokenizeCommand(CommandOutcome outcome)
{
    /// <summary>The label of a token that is not trained on (a prompt token), as in the training batches.</summary>
    public const int MaskedLabel = -100;

    private static readonly JsonSerializerOptions OneLine = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Tokenizes texts or question/answer pairs.</summary>
    [Command("tokenize", Description = "Show the ids and pieces the model folder's tokenizer gives for a text, or (--prompt) how training formats a question/answer pair.")]
    public int Tokenize(
        [Option("model", Description = "Model folder (tokenizer.json, tokenizer.model, vocab.json + merges.txt or unlearn_vocab.json)")] string model,
        [Option("text", Description = "The text (with --prompt: the question)")] string? text = null,
        [Option("file", Description = "JSON lines with a \"text\" field (with --prompt: \"question\" and \"answer\" fields)")] string? file = null,
        [Option("prompt", Description = "Format a question/answer pair as training and evaluation do")] bool prompt = false,
        [Option("answer", Description = "The answer, with --prompt and --text")] string? answer = null,
        [Option("special", Description = "Add the special tokens the tokenizer adds by itself (Hugging Face add_special_tokens=True)")] bool special = false,
        [Option("template", Description = "With --prompt: auto (the folder's chat template if any), chat, or a text template with {question} and {answer}")] string template = PromptTemplates.Auto,
        [Option("system-prompt", Description = "With --prompt and a chat template: the system message")] string? systemPrompt = null,
        [Option("max-length", Description = "With --prompt: the longest sequence (as model.max_length)")] int maxLength = 128,
        [Option("json", Description = "One JSON object per input, in input order")] bool json = false)
    {
        outcome.Ran = true;
        return Commands.Guard(() =>
        {
            if ((text is null) == (file is null)) return Usage("give exactly one of --text TEXT or --file FILE.jsonl");
            if (prompt && special) return Usage("--special applies to plain texts; with --prompt the BOS is added as training adds it");
            if (prompt && text is not null && answer is null) return Usage("--prompt with --text needs --answer (the text is the question)");
            if (!prompt && answer is not null) return Usage("--answer needs --prompt");
            if (maxLength < 2) return Usage($"--max-length must be at least 2, got {maxLength}");
            var dir = Path.GetFullPath(model);
            var tokenizer = ModelTokenizer.Load(dir);
            if (!prompt)
            {
                foreach (var input in text is not null ? [text] : ReadField(file!, "text"))
                    Print(tokenizer, special ? tokenizer.EncodeWithSpecialTokens(input) : tokenizer.Encode(input), json);
                return ExitCodes.Success;
            }
            var encoder = new BatchEncoder(tokenizer, PromptTemplates.Resolve(template, systemPrompt, dir), maxLength);
            var pairs = text is not null ? [(text, answer!)] : ReadField(file!, "question").Zip(ReadField(file!, "answer")).ToList();
            foreach (var (question, reply) in pairs) PrintPair(tokenizer, encoder, question, reply, json);
            return ExitCodes.Success;
        });
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine($"error: tokenize: {message}");
        return ExitCodes.BadInput;
    }

    private static void Print(ModelTokenizer tokenizer, IReadOnlyList<int> ids, bool json)
    {
        var tokens = ids.Select(tokenizer.Piece).ToList();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { ids, tokens }, OneLine));
            return;
        }
        Console.WriteLine($"{ids.Count} tokens");
        for (var i = 0; i < ids.Count; i++) Console.WriteLine($"{i,5} {ids[i],8}  {JsonSerializer.Serialize(tokens[i], OneLine)}");
    }

    private static void PrintPair(ModelTokenizer tokenizer, BatchEncoder encoder, string question, string answer, bool json)
    {
        var (promptIds, answerIds) = encoder.Tokenize(question, answer);
        var ids = promptIds.Concat(answerIds).ToList();
        var labels = promptIds.Select(_ => MaskedLabel).Concat(answerIds).ToList();
        var tokens = ids.Select(tokenizer.Piece).ToList();
        var promptText = encoder.FormatPrompt(question);
        var answerText = encoder.Template.Chat is null ? encoder.Template.FormatAnswer(answer) : answer;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                prompt = promptText, answer = answerText, bos = encoder.BosId, answer_start = promptIds.Count, eos = tokenizer.EosId,
                ids, tokens, labels,
            }, OneLine));
            return;
        }
        Console.WriteLine($"template: {encoder.Template}");
        Console.WriteLine($"prompt:   {JsonSerializer.Serialize(promptText, OneLine)}");
        Console.WriteLine($"answer:   {JsonSerializer.Serialize(answerText, OneLine)} + EOS {tokenizer.EosId}");
        Console.WriteLine($"bos:      {(encoder.BosId is { } bos ? bos.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none")}");
        Console.WriteLine($"{ids.Count} tokens: {promptIds.Count} prompt (label {MaskedLabel}, not trained on), {answerIds.Count} answer (trained on, EOS included)");
        for (var i = 0; i < ids.Count; i++)
            Console.WriteLine($"{i,5} {ids[i],8} {(i < promptIds.Count ? "prompt" : "answer")} {labels[i],8}  {JsonSerializer.Serialize(tokens[i], OneLine)}");
    }

    /// <summary>The string field of every JSON line of a file, in order (blank lines skipped).</summary>
    /// <exception cref="InvalidDataException">A line is not a JSON object with that string field; the message names the file and line.</exception>
    private static List<string> ReadField(string file, string field)
    {
        var path = Path.GetFullPath(file);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file (--file takes JSON lines with a \"{field}\" field)", path);
        var values = new List<string>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Trim().Length == 0) continue;
            try
            {
                using var document = JsonDocument.Parse(line);
                if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(field, out var value)
                    && value.ValueKind == JsonValueKind.String)
                {
                    values.Add(value.GetString()!);
                    continue;
                }
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{path}:{number}: not a JSON object ({ex.Message}); write one object per line, e.g. {{\"{field}\": \"...\"}}", ex);
            }
            throw new InvalidDataException($"{path}:{number}: needs a string field \"{field}\", e.g. {{\"{field}\": \"...\"}}");
        }
        return values;
    }
}
