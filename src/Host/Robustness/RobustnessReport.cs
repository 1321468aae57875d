using System.Globalization;
using System.Text;
using CsvHelper;
using Unlearn.Host.Reporting;

namespace Unlearn.Host.Robustness;

/// <summary>Writes the meta-evaluation: robustness.md (a table per attack, the faithfulness table, the scatter plots),
/// robustness.csv (one line per metric × attack) and charts/robustness-&lt;attack&gt;.png.</summary>
public static class RobustnessReport
{
    /// <summary>The Markdown file.</summary>
    public const string MarkdownFile = "robustness.md";

    /// <summary>The CSV file.</summary>
    public const string CsvFile = "robustness.csv";

    /// <summary>The scatter plot of one attack.</summary>
    public static string ChartFileOf(string attack) => $"charts/robustness-{attack}.png";

    /// <summary>Writes every file into <paramref name="folder"/> and returns the Markdown.</summary>
    public static string Write(RunFolder folder, RobustnessTable table, IReadOnlyList<string> warnings, bool charts = true)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(warnings);
        var chartFiles = charts
            ? table.Rows.GroupBy(r => r.Attack).Select(g => Charts.TryWrite(folder, ChartFileOf(g.Key),
                $"metric before (x) and under the attack {g.Key} (y) per unlearned model, identity dashed", () => Charts.Robustness(g.Key, g.ToList()))).ToList()
            : [];
        var markdown = Markdown(table, warnings, chartFiles);
        folder.Write(MarkdownFile, markdown);
        folder.Write(CsvFile, stream => WriteCsv(stream, table));
        return markdown;
    }

    /// <summary>The Markdown report.</summary>
    public static string Markdown(RobustnessTable table, IReadOnlyList<string> warnings, IReadOnlyList<ChartFile>? charts = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(warnings);
        var sb = new StringBuilder("# Metric robustness\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"{table.Models} unlearned models (raw and calibrated) on split `{table.Split}`. A metric is robust when an attack that ")
            .Append("does not change what a model knows leaves the ranking of the models unchanged: Pearson r of the metric under the attack against the clean metric, ")
            .Append(CultureInfo.InvariantCulture, $"and the least-squares slope (1 = the attack shifts nothing). Brackets: 95 % percentile bootstrap over models ({table.Resamples} resamples, seed {table.Seed}).\n\n");
        foreach (var w in warnings) sb.Append("> warning: ").Append(w).Append("\n\n");
        foreach (var attack in table.Rows.GroupBy(r => r.Attack))
        {
            sb.Append("## Attack `").Append(attack.Key).Append("`\n\n| metric | models | Pearson r | 95 % interval | slope | 95 % interval |\n|---|---:|---:|---|---:|---|\n");
            foreach (var row in attack.OrderByDescending(r => double.IsFinite(r.Pearson.Value) ? r.Pearson.Value : double.NegativeInfinity))
                sb.Append(CultureInfo.InvariantCulture, $"| {row.Metric} | {row.Points.Count} | {F(row.Pearson.Value)} | {Interval(row.Pearson)} | {F(row.Slope.Value)} | {Interval(row.Slope)} |\n");
            sb.Append('\n');
            if (charts?.FirstOrDefault(c => c.RelativePath == ChartFileOf(attack.Key)) is { } chart)
                sb.Append(chart.Written ? $"![{chart.Caption}]({chart.RelativePath})\n\n{(chart.Warning == null ? "" : $"Chart `{chart.RelativePath}` {chart.Warning}\n\n")}"
                    : $"Chart `{chart.RelativePath}` {chart.Problem}\n\n");
        }
        sb.Append("## Faithfulness\n\nAUC with which the clean metric separates the models that know the forget data (")
            .Append(string.Join(", ", table.Pools.Knowing.Select(p => $"`{p}`"))).Append(") from those that never saw it (")
            .Append(string.Join(", ", table.Pools.NeverSaw.Select(p => $"`{p}`")))
            .Append("): P(knowing > never saw), ties half; 0.5 is no separation, below 0.5 the metric is lower on the knowing models.\n\n")
            .Append("| metric | AUC | knowing | never saw |\n|---|---:|---:|---:|\n");
        foreach (var row in table.Faithfulness)
            sb.Append(CultureInfo.InvariantCulture, $"| {row.Metric} | {F(row.Auc)} | {row.Knowing.Count} | {row.NeverSaw.Count} |\n");
        return sb.Append('\n').ToString();
    }

    /// <summary>The CSV: one line per metric × attack, with the metric's faithfulness AUC.</summary>
    public static void WriteCsv(Stream stream, RobustnessTable table)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(table);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture, NewLine = "\n" }, true);
        foreach (var h in new[] { "split", "metric", "attack", "models", "pearson", "pearson_low", "pearson_high", "slope", "slope_low", "slope_high", "faithfulness_auc" })
            csv.WriteField(h);
        csv.EndRecord();
        foreach (var row in table.Rows)
        {
            csv.WriteField(table.Split);
            csv.WriteField(row.Metric);
            csv.WriteField(row.Attack);
            csv.WriteField(row.Points.Count.ToString(CultureInfo.InvariantCulture));
            foreach (var e in new[] { row.Pearson, row.Slope })
            {
                csv.WriteField(Number(e.Value));
                csv.WriteField(Number(e.Low));
                csv.WriteField(Number(e.High));
            }
            csv.WriteField(Number(table.Faithfulness.First(f => f.Metric == row.Metric).Auc));
            csv.EndRecord();
        }
        csv.Flush();
    }

    private static string Number(double v) => double.IsFinite(v) ? ResultWriter.Round(v).ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Interval(Estimate e) => double.IsFinite(e.Low) ? $"[{F(e.Low)}, {F(e.High)}]" : "";

    private static string F(double v) => double.IsFinite(v) ? v.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";
}
