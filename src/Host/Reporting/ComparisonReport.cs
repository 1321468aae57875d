using System.Globalization;
using System.Text;
using CsvHelper;

namespace Unlearn.Host.Reporting;

/// <summary>Writes a <see cref="ComparisonTable"/>: <c>comparison.md</c> (the Markdown tables <c>compare</c> prints),
/// <c>comparison.csv</c> (one line per run and τ) and <c>comparison.png</c>.</summary>
public static class ComparisonReport
{
    /// <summary>The Markdown file.</summary>
    public const string MarkdownFile = "comparison.md";

    /// <summary>The CSV file.</summary>
    public const string CsvFile = "comparison.csv";

    /// <summary>Writes the Markdown, the CSV and (when <paramref name="charts"/>) the chart at each τ into
    /// <paramref name="folder"/>; returns the Markdown. Refuses to overwrite (the folder's files are never replaced).</summary>
    public static string Write(RunFolder folder, ComparisonTable table, IReadOnlyList<string> warnings, bool charts = true)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(warnings);
        var chartFiles = new List<ChartFile>();
        if (charts && table.Rows.Count > 0)
        {
            var taus = table.Taus.Count > 0 ? table.Taus : [double.NaN];
            for (var i = 0; i < taus.Count; i++)
            {
                var tau = taus[i];
                var name = i == 0 ? Charts.ComparisonFile : $"comparison-tau{tau.ToString("0.###", CultureInfo.InvariantCulture)}.png";
                chartFiles.Add(Charts.TryWrite(folder, name, Caption(tau), () => Charts.Comparison(table, tau)));
            }
        }
        var markdown = Markdown(table, warnings, chartFiles);
        folder.Write(MarkdownFile, markdown);
        folder.Write(CsvFile, stream => WriteCsv(stream, table));
        return markdown;
    }

    private static string Caption(double tau) => double.IsNaN(tau)
        ? "extraction strength per method, raw"
        : $"extraction strength per method, raw and calibrated at τ = {tau.ToString("0.###", CultureInfo.InvariantCulture)}";

    /// <summary>The Markdown: ES before calibration (with θ_orig for reference), then one table per τ with α* and the
    /// selected setting per method marked.</summary>
    public static string Markdown(ComparisonTable table, IReadOnlyList<string> warnings, IReadOnlyList<ChartFile>? charts = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(warnings);
        var sb = new StringBuilder();
        sb.Append("# Comparison\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"{table.Rows.Count} run{(table.Rows.Count == 1 ? "" : "s")}. ");
        sb.Append("Extraction strength (ES): *exact* on the original questions (`es`), *perturb* on the paraphrased questions (`es-paraphrased`); higher retain and lower forget is better.\n\n");
        foreach (var w in warnings) sb.Append("> warning: ").Append(w).Append("\n\n");

        sb.Append("## Before calibration (the unlearned model)\n\n");
        sb.Append("| method | setting | run | exact retain | exact forget | perturb retain | perturb forget |\n|---|---|---|---:|---:|---:|---:|\n");
        var originals = table.Rows.Where(r => !r.Original.IsEmpty).GroupBy(r => r.Original).ToList();
        foreach (var group in originals)
        {
            var run = originals.Count == 1 ? "" : string.Join(", ", group.Select(r => r.Run).Distinct(StringComparer.Ordinal));
            sb.Append("| θ_orig (original) | | ").Append(run).Append(" | ").Append(Cells(group.Key)).Append(" |\n");
        }
        foreach (var row in table.Rows)
            sb.Append("| ").Append(row.Method).Append(" | ").Append(Escape(row.Setting)).Append(" | ").Append(row.Run).Append(" | ").Append(Cells(row.Raw)).Append(" |\n");
        sb.Append('\n');

        var curveUsed = false;
        // Selection only means something for a method compared over several settings; without one, no column for it.
        var selecting = table.Rows.GroupBy(r => r.Method, StringComparer.Ordinal).Any(g => g.Count() >= 2);
        for (var t = 0; t < table.Taus.Count; t++)
        {
            var tau = table.Taus[t];
            sb.Append(CultureInfo.InvariantCulture, $"## Calibrated at τ = {tau:0.###}\n\n");
            sb.Append("Each unlearned model mixed back toward θ_orig until its retain ES is τ × that of θ_orig (model mixing, α*).");
            if (selecting)
            {
                sb.Append(" **best**: the setting hyper-parameter selection picks for its method (lowest calibrated exact forget ES).\n\n");
                sb.Append("| method | setting | run | α* | exact retain | exact forget | perturb retain | perturb forget | selected |\n|---|---|---|---:|---:|---:|---:|---:|---|\n");
            }
            else
            {
                sb.Append("\n\n| method | setting | run | α* | exact retain | exact forget | perturb retain | perturb forget |\n|---|---|---|---:|---:|---:|---:|---:|\n");
            }
            foreach (var row in table.Rows)
            {
                var c = row.Calibrated[t];
                var mark = c.Source == CalibrationSource.Curve ? " †" : "";
                curveUsed |= c.Source == CalibrationSource.Curve;
                sb.Append("| ").Append(row.Method).Append(" | ").Append(Escape(row.Setting)).Append(" | ").Append(row.Run).Append(" | ")
                  .Append(Alpha(c)).Append(mark).Append(" | ")
                  .Append(Cells(c.Values))
                  .Append(selecting ? (c.Selected ? " | **best**" : " | ") : "").Append(" |\n");
            }
            sb.Append('\n');
        }
        if (table.Taus.Count == 0) sb.Append("No run was calibrated, so there is no calibrated table.\n\n");
        if (curveUsed)
        {
            sb.Append("† Read off the calibration curve the run visited (the run was calibrated at another τ): α* is the largest visited α ");
            sb.Append("whose calibration metric meets τ·M(θ_orig), shown with the next visited α above it (the true α* lies in between when the metric falls monotonically in α); ");
            sb.Append("and only the calibration metric (retain and forget) is known there, measured on the calibrator's items.\n\n");
        }
        foreach (var chart in charts ?? [])
        {
            if (chart.Written) sb.Append("![").Append(chart.Caption).Append("](").Append(chart.RelativePath).Append(")\n\n")
            .Append(chart.Warning == null ? "" : $"Chart `{chart.RelativePath}` {chart.Warning}\n\n");
            else sb.Append("Chart `").Append(chart.RelativePath).Append("` ").Append(chart.Problem).Append("\n\n");
        }
        return sb.ToString();
    }

    /// <summary>The CSV: one line per run and τ (one line per run when no run was calibrated).</summary>
    public static void WriteCsv(Stream stream, ComparisonTable table)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(table);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture, NewLine = "\n" }, true);
        string[] header =
        [
            "method", "setting", "run", "folder", "tau", "calibration_source", "alpha", "alpha_upper",
            "original_exact_retain", "original_exact_forget", "original_perturb_retain", "original_perturb_forget",
            "raw_exact_retain", "raw_exact_forget", "raw_perturb_retain", "raw_perturb_forget",
            "calibrated_exact_retain", "calibrated_exact_forget", "calibrated_perturb_retain", "calibrated_perturb_forget", "selected",
        ];
        foreach (var h in header) csv.WriteField(h);
        csv.EndRecord();
        foreach (var row in table.Rows)
        {
            var entries = row.Calibrated.Count > 0 ? row.Calibrated.Cast<CalibratedCells?>() : [null];
            foreach (var c in entries)
            {
                csv.WriteField(row.Method);
                csv.WriteField(row.Setting);
                csv.WriteField(row.Run);
                csv.WriteField(row.Folder);
                csv.WriteField(Number(c?.Tau));
                csv.WriteField((c?.Source ?? CalibrationSource.None).ToString().ToLowerInvariant());
                csv.WriteField(Number(c?.Alpha));
                csv.WriteField(Number(c?.AlphaUpper));
                foreach (var cells in new[] { row.Original, row.Raw, c?.Values ?? EsCells.Empty })
                {
                    csv.WriteField(Number(cells.ExactRetain));
                    csv.WriteField(Number(cells.ExactForget));
                    csv.WriteField(Number(cells.PerturbRetain));
                    csv.WriteField(Number(cells.PerturbForget));
                }
                csv.WriteField(c?.Selected == true ? "true" : "false");
                csv.EndRecord();
            }
        }
        csv.Flush();
    }

    private static string Number(double? v) => v is { } d ? ResultWriter.Round(d).ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Cells(EsCells c) => $"{F(c.ExactRetain)} | {F(c.ExactForget)} | {F(c.PerturbRetain)} | {F(c.PerturbForget)}";

    private static string F(double? v) => v is { } d ? (double.IsFinite(d) ? d.ToString("0.000", CultureInfo.InvariantCulture) : d.ToString(CultureInfo.InvariantCulture)) : "";

    private static string Alpha(CalibratedCells c) => c.Alpha is not { } a ? ""
        : c.Source == CalibrationSource.Curve && c.AlphaUpper is { } up && up > a
            ? a.ToString("0.0000", CultureInfo.InvariantCulture) + "–" + up.ToString("0.0000", CultureInfo.InvariantCulture)
            : a.ToString("0.0000", CultureInfo.InvariantCulture);

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
