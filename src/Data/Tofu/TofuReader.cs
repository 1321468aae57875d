using System.Text;
using System.Text.Json;
using Unlearn.Plugins;

namespace Unlearn.Data;

/// <summary>Reads TOFU-schema files: one JSON object per line (JSON lines) or one JSON array of objects; the
/// format is detected from the first non-blank character. Fields: <c>question</c> and <c>answer</c> (required
/// strings), <c>paraphrased_question</c>, <c>paraphrased_answer</c> (strings), <c>perturbed_answer</c> (list of
/// strings) and <c>option1</c>..<c>option4</c> (all four or none). Other fields are ignored.</summary>
public static class TofuReader
{
    private const string SchemaHint =
        "Each row must be a JSON object such as {\"question\": \"...\", \"answer\": \"...\"} (TOFU schema)";

    /// <summary>Reads a split file.</summary>
    /// <param name="path">The .json or .jsonl file.</param>
    /// <param name="logicalName">The name the split goes by in the pipeline (e.g. "forget").</param>
    /// <exception cref="DataFileException">The file is missing, empty, malformed or breaks the schema.</exception>
    public static DataSplit ReadSplit(string path, string logicalName)
    {
        var items = ReadItems(path);
        return new DataSplit(logicalName, Path.GetFullPath(path), items);
    }

    /// <summary>Reads the rows of a split file.</summary>
    /// <exception cref="DataFileException">The file is missing, empty, malformed or breaks the schema.</exception>
    public static IReadOnlyList<QaItem> ReadItems(string path)
    {
        if (!File.Exists(path))
            throw new DataFileException(path, null, "file not found", "Check the path, or list the folder's splits with TofuFolder");
        var bytes = File.ReadAllBytes(path);
        var start = bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? Encoding.UTF8.Preamble.Length : 0;
        var first = start;
        while (first < bytes.Length && IsWhiteSpace(bytes[first])) first++;
        if (first == bytes.Length)
            throw new DataFileException(path, null, "the split is empty (no rows)", "Add at least one row; " + SchemaHint);
        CheckUtf8(path, bytes, start);
        var items = bytes[first] == (byte)'['
            ? ReadArray(path, bytes, start)
            : ReadLines(path, bytes, start);
        if (items.Count == 0)
            throw new DataFileException(path, null, "the split is empty (no rows)", "Add at least one row; " + SchemaHint);
        return items;
    }

    /// <summary>Refuses a file that is not UTF-8 (a Latin-1 or UTF-16 export), naming the first bad line and byte.</summary>
    private static void CheckUtf8(string path, byte[] bytes, int start)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes.AsSpan(start))) return;
        var line = 1;
        var pos = start;
        while (pos < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', pos);
            if (end < 0) end = bytes.Length;
            var span = bytes.AsSpan(pos, end - pos);
            for (var column = 0; column < span.Length;)
            {
                if (System.Text.Rune.DecodeFromUtf8(span[column..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
                    throw new DataFileException(path, line, $"not UTF-8 text (byte 0x{span[column]:X2} at byte {column + 1} of the line)",
                        "Data files are UTF-8: re-save the file as UTF-8 (for example with iconv -f latin1 -t utf-8)");
                column += consumed;
            }
            pos = end + 1;
            line++;
        }
    }

    private static bool IsWhiteSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static List<QaItem> ReadLines(string path, byte[] bytes, int start)
    {
        var items = new List<QaItem>();
        var lineNumber = 0;
        var pos = start;
        while (pos < bytes.Length)
        {
            lineNumber++;
            var end = Array.IndexOf(bytes, (byte)'\n', pos);
            if (end < 0) end = bytes.Length;
            var line = bytes.AsMemory(pos, end - pos);
            pos = end + 1;
            if (line.Span.Trim("\r\t "u8).IsEmpty) continue;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException ex)
            {
                throw new DataFileException(path, lineNumber, $"malformed JSON ({FirstSentence(ex.Message)})",
                    "JSON lines files hold exactly one complete JSON object per line; " + SchemaHint, ex);
            }
            using (document) items.Add(ToItem(document.RootElement, path, lineNumber, $"line {lineNumber}"));
        }
        return items;
    }

    private static List<QaItem> ReadArray(string path, byte[] bytes, int start)
    {
        var items = new List<QaItem>();
        var lineStarts = LineStarts(bytes);
        var reader = new Utf8JsonReader(bytes.AsSpan(start), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            reader.Read(); // the '[' found by the caller
            var index = 0;
            while (true)
            {
                if (!reader.Read())
                    throw new DataFileException(path, LineOf(lineStarts, bytes.Length - 1), "the JSON array is not closed",
                        "End the file with ']'; " + SchemaHint);
                if (reader.TokenType == JsonTokenType.EndArray) break;
                var line = LineOf(lineStarts, start + (int)reader.TokenStartIndex);
                if (reader.TokenType != JsonTokenType.StartObject)
                    throw new DataFileException(path, line, $"array element {index} is a {reader.TokenType}, not an object", SchemaHint);
                using var document = JsonDocument.ParseValue(ref reader);
                items.Add(ToItem(document.RootElement, path, line, $"array element {index}"));
                index++;
            }
            if (reader.Read())
                throw new DataFileException(path, LineOf(lineStarts, start + (int)reader.TokenStartIndex),
                    "unexpected content after the closing ']'", "A JSON array file holds one array and nothing else");
        }
        catch (JsonException ex)
        {
            var line = ex.LineNumber is { } l ? (int)l + 1 : (int?)null;
            throw new DataFileException(path, line, $"malformed JSON ({FirstSentence(ex.Message)})",
                "Fix the JSON syntax (a file is either one JSON array of objects or one object per line); " + SchemaHint, ex);
        }
        return items;
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd(' ', '.');
    }

    private static List<int> LineStarts(byte[] bytes)
    {
        var starts = new List<int> { 0 };
        for (var i = 0; i < bytes.Length; i++)
            if (bytes[i] == (byte)'\n') starts.Add(i + 1);
        return starts;
    }

    private static int LineOf(List<int> lineStarts, int offset)
    {
        var i = lineStarts.BinarySearch(offset);
        return (i >= 0 ? i : ~i - 1) + 1;
    }

    private static QaItem ToItem(JsonElement row, string path, int line, string where)
    {
        if (row.ValueKind != JsonValueKind.Object)
            throw new DataFileException(path, line, $"{where} is a JSON {row.ValueKind}, not an object", SchemaHint);
        var question = RequiredString(row, "question", path, line);
        var answer = RequiredString(row, "answer", path, line);
        var options = new List<string>();
        var optionCount = 0;
        for (var k = 1; k <= 4; k++)
            if (row.TryGetProperty("option" + k, out _)) optionCount++;
        if (optionCount is > 0 and < 4)
            throw new DataFileException(path, line, $"only {optionCount} of the fields option1..option4 are present",
                "Multiple-choice rows (real_authors, world_facts) need all four of option1, option2, option3, option4");
        if (optionCount == 4)
            for (var k = 1; k <= 4; k++) options.Add(RequiredString(row, "option" + k, path, line));
        return new QaItem
        {
            Question = question,
            Answer = answer,
            ParaphrasedQuestion = OptionalString(row, "paraphrased_question", path, line),
            ParaphrasedAnswer = OptionalString(row, "paraphrased_answer", path, line),
            PerturbedAnswers = OptionalStringList(row, "perturbed_answer", path, line),
            Options = options,
        };
    }

    private static string RequiredString(JsonElement row, string field, string path, int line)
    {
        if (!row.TryGetProperty(field, out var value))
            throw new DataFileException(path, line, $"missing field \"{field}\"",
                $"Add \"{field}\" to the row; every row needs \"question\" and \"answer\" strings");
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw WrongType(path, line, field, value, "a string");
    }

    private static string? OptionalString(JsonElement row, string field, string path, int line)
    {
        if (!row.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return null;
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw WrongType(path, line, field, value, "a string");
    }

    private static IReadOnlyList<string> OptionalStringList(JsonElement row, string field, string path, int line)
    {
        if (!row.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return [];
        if (value.ValueKind != JsonValueKind.Array) throw WrongType(path, line, field, value, "a list of strings");
        var list = new List<string>(value.GetArrayLength());
        foreach (var element in value.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.String)
                throw new DataFileException(path, line, $"field \"{field}\" holds a {element.ValueKind} at position {list.Count}, expected strings only",
                    $"Write \"{field}\" as a list of strings, e.g. [\"first wrong answer\", \"second wrong answer\"]");
            list.Add(element.GetString()!);
        }
        return list;
    }

    private static DataFileException WrongType(string path, int line, string field, JsonElement value, string expected) =>
        new(path, line, $"field \"{field}\" is a {value.ValueKind}, expected {expected}",
            $"Write \"{field}\" as {expected} (TOFU schema)");
}
