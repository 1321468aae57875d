using System.Text.Encodings.Web;
using System.Text.Json;
using Unlearn.Plugins;

namespace Unlearn.Data;

/// <summary>Writes rows in the TOFU schema as JSON lines (what <see cref="TofuReader"/> reads). Only the fields a
/// row has are written: options as option1..option4, perturbed answers as the list <c>perturbed_answer</c>.</summary>
public static class TofuWriter
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="items"/> to <paramref name="path"/> (UTF-8, '\n' line ends) through a
    /// temporary file, so a reader never sees a half-written split.</summary>
    public static void WriteSplit(string path, IEnumerable<QaItem> items)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        using (var stream = File.Create(temp))
        {
            foreach (var item in items)
            {
                using (var writer = new Utf8JsonWriter(stream, WriterOptions)) WriteItem(writer, item);
                stream.WriteByte((byte)'\n');
            }
        }
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>Writes one row as a JSON object.</summary>
    public static void WriteItem(Utf8JsonWriter writer, QaItem item)
    {
        writer.WriteStartObject();
        writer.WriteString("question", item.Question);
        for (var k = 0; k < item.Options.Count; k++) writer.WriteString("option" + (k + 1), item.Options[k]);
        writer.WriteString("answer", item.Answer);
        if (item.ParaphrasedQuestion is { } pq) writer.WriteString("paraphrased_question", pq);
        if (item.ParaphrasedAnswer is { } pa) writer.WriteString("paraphrased_answer", pa);
        if (item.PerturbedAnswers.Count > 0)
        {
            writer.WriteStartArray("perturbed_answer");
            foreach (var p in item.PerturbedAnswers) writer.WriteStringValue(p);
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }
}
