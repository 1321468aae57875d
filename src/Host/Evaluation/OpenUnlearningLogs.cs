using System.Globalization;
using System.Text.Json;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running;
using Unlearn.Plugins;

namespace Unlearn.Host.Evaluation;

/// <summary>OpenUnlearning's names for this tool's results in its <c>TOFU_EVAL.json</c> (metric name → <c>agg_value</c>,
/// <c>value_by_index</c>), and the field each per-item value has there. docs/results-schema.md lists the mapping.</summary>
public static class OpenUnlearningNames
{
    /// <summary>The file OpenUnlearning's TOFU evaluator writes, and reads through <c>retain_logs_path</c>.</summary>
    public const string FileName = "TOFU_EVAL.json";

    private static readonly (string Split, string Prefix)[] SplitPrefixes =
        [("forget", "forget"), ("retain", "retain"), ("real_authors", "ra"), ("world_facts", "wf")];

    /// <summary>OpenUnlearning's key for a metric on a split, or null when it has none. A split is known by its logical
    /// name or its TOFU file name (<c>forget10_perturbed</c> is a forget split, <c>retain_perturbed</c> a retain split).</summary>
    public static string? Key(string metric, string split)
    {
        var prefix = SplitPrefixes.FirstOrDefault(p => split.StartsWith(p.Split, StringComparison.Ordinal)).Prefix;
        var onForget = prefix == "forget";
        return metric switch
        {
            "probability" when prefix is not null => $"{prefix}_Q_A_Prob",
            "rouge-l" when prefix is not null => $"{prefix}_Q_A_ROUGE",
            "truth-ratio" when onForget => "forget_truth_ratio",
            "truth-ratio" when prefix is not null => $"{prefix}_Truth_Ratio",
            "es" when onForget => "extraction_strength",
            "es" when prefix == "retain" => "retain_extraction_strength",
            "em" when onForget => "exact_memorization",
            "mia-loss" when onForget => "mia_loss",
            "mia-zlib" when onForget => "mia_zlib",
            "mia-min-k" when onForget => "mia_min_k",
            "mia-min-k-pp" when onForget => "mia_min_k_plus_plus",
            "forget-quality" when onForget => "forget_quality",
            "privleak" when onForget => "privleak",
            "model-utility" => "model_utility",
            _ => null,
        };
    }

    /// <summary>The field of a per-item value in <c>value_by_index</c>: <c>prob</c>, <c>rougeL_recall</c> or <c>score</c>.</summary>
    public static string ItemField(string metric) => metric switch
    {
        "probability" => "prob",
        "rouge-l" => "rougeL_recall",
        _ => "score",
    };

    /// <summary>Writes <c>openunlearning/&lt;model role&gt;/TOFU_EVAL.json</c> for every evaluated model of a run: each
    /// result with an OpenUnlearning name, aggregate and per-item values at full precision (non-finite values as null).</summary>
    public static IReadOnlyList<string> Write(RunFolder folder, IReadOnlyList<MetricRecord> metrics)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(metrics);
        var written = new List<string>();
        foreach (var role in metrics.Select(m => m.Model).Distinct(StringComparer.Ordinal))
        {
            var relative = Path.Combine("openunlearning", role, FileName);
            folder.Write(relative, stream =>
            {
                using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
                writer.WriteStartObject();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var m in metrics.Where(m => m.Model == role))
                {
                    if (Key(m.Metric, m.Split) is not { } key || !seen.Add(key)) continue;
                    writer.WriteStartObject(key);
                    WriteNumber(writer, "agg_value", AggregateValue(m));
                    if (m.Items.Count > 0)
                    {
                        writer.WriteStartObject("value_by_index");
                        for (var i = 0; i < m.Items.Count; i++)
                        {
                            writer.WriteStartObject(i.ToString(CultureInfo.InvariantCulture));
                            WriteNumber(writer, ItemField(m.Metric), m.Items[i]);
                            writer.WriteEndObject();
                        }
                        writer.WriteEndObject();
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            });
            written.Add(folder.File(relative));
        }
        return written;
    }

    /// <summary>OpenUnlearning's <c>agg_value</c>: the aggregate, except for membership inference, where it is the
    /// forget-vs-holdout AUC (NaN, written as null, when the metric had no holdout split).</summary>
    private static double AggregateValue(MetricRecord m) =>
        m.Metric.StartsWith("mia-", StringComparison.Ordinal) ? m.Extras.GetValueOrDefault("auc", double.NaN) : m.Value;

    private static void WriteNumber(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumber(name, value);
        else writer.WriteNull(name);
    }
}

/// <summary>A retain model's results read from an OpenUnlearning <c>TOFU_EVAL.json</c> (OpenUnlearning's
/// <c>retain_logs_path</c>), which forget-quality and privleak use instead of a retain model: the retain side of
/// <c>truth-ratio</c> on forget is <c>forget_truth_ratio</c>'s <c>value_by_index</c> scores, that of a <c>mia-*</c>
/// metric its <c>agg_value</c> (the AUC).</summary>
public sealed class RetainLogs
{
    private readonly Dictionary<string, JsonElement> _entries;

    private RetainLogs(string path, Dictionary<string, JsonElement> entries)
    {
        Path = path;
        _entries = entries;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Reads and checks a TOFU_EVAL.json: an object whose entries are objects with an <c>agg_value</c>.</summary>
    /// <exception cref="InvalidDataException">The file is missing or not in that layout; the message names the file and entry.</exception>
    public static RetainLogs Load(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new InvalidDataException($"{full}: retain logs not found (give the {OpenUnlearningNames.FileName} of an evaluation of the retain model)");
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(full), new JsonDocumentOptions { AllowTrailingCommas = true });
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{full}: not JSON ({ex.Message}); expected OpenUnlearning's {OpenUnlearningNames.FileName} layout", ex);
        }
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{full}: expected an object of metric name → {{\"agg_value\": ..., \"value_by_index\": ...}}");
        var entries = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var entry in root.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Object || !entry.Value.TryGetProperty("agg_value", out _))
                throw new InvalidDataException($"{full}: entry \"{entry.Name}\" must be an object with \"agg_value\" (OpenUnlearning's {OpenUnlearningNames.FileName} layout)");
            entries[entry.Name] = entry.Value;
        }
        return new RetainLogs(full, entries);
    }

    /// <summary>Whether the logs hold a result of this metric on this split.</summary>
    public bool Has(string metric, string split) => OpenUnlearningNames.Key(metric, split) is { } key && _entries.ContainsKey(key);

    /// <summary>The retain model's result of a metric on a split, as the metric itself would have returned it.</summary>
    /// <exception cref="InvalidDataException">The logs hold no such entry, or a value is not a number.</exception>
    public MetricResult Result(string metric, string split)
    {
        var key = OpenUnlearningNames.Key(metric, split)
            ?? throw new InvalidDataException($"{Path}: '{metric}' on split '{split}' has no OpenUnlearning name, so the retain logs cannot stand in for it");
        if (!_entries.TryGetValue(key, out var entry))
            throw new InvalidDataException($"{Path}: no \"{key}\" entry, which '{metric}' of the retain model on '{split}' reads; evaluate the retain model with it (OpenUnlearning, or dotnet unlearn eval --tofu-eval)");
        var aggregate = Number(entry.GetProperty("agg_value"), $"{key}.agg_value");
        var items = new List<double>();
        if (entry.TryGetProperty("value_by_index", out var byIndex) && byIndex.ValueKind == JsonValueKind.Object)
        {
            var field = OpenUnlearningNames.ItemField(metric);
            var indexed = new List<(int Index, double Value)>();
            foreach (var item in byIndex.EnumerateObject())
            {
                if (!int.TryParse(item.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    throw new InvalidDataException($"{Path}: {key}.value_by_index has the key \"{item.Name}\"; keys are item indices");
                if (item.Value.ValueKind != JsonValueKind.Object || !item.Value.TryGetProperty(field, out var value))
                    throw new InvalidDataException($"{Path}: {key}.value_by_index[\"{item.Name}\"] needs a \"{field}\" number");
                indexed.Add((index, Number(value, $"{key}.value_by_index[\"{item.Name}\"].{field}")));
            }
            items.AddRange(indexed.OrderBy(i => i.Index).Select(i => i.Value));
        }
        // A mia_* agg_value is the AUC, which this tool's mia-* metrics report as the "auc" extra.
        if (metric.StartsWith("mia-", StringComparison.Ordinal))
            return new MetricResult(items.Count > 0 ? items.Average() : double.NaN, items) { Extras = new Dictionary<string, double> { ["auc"] = aggregate } };
        return new MetricResult(aggregate, items);
    }

    private double Number(JsonElement value, string where) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.Null => double.NaN,
        _ => throw new InvalidDataException($"{Path}: {where} must be a number or null"),
    };
}
