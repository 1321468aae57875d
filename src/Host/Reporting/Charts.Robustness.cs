using ScottPlot;
using Unlearn.Host.Robustness;

namespace Unlearn.Host.Reporting;

public static partial class Charts
{
    /// <summary>The scatter plots of one attack: per metric a panel with each unlearned model's clean metric (x) and
    /// its metric under the attack (y), and the identity line (an attack that changes nothing puts every point on it).</summary>
    public static byte[] Robustness(string attack, IReadOnlyList<RobustnessRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var panels = rows.Select(row =>
        {
            var plot = NewPlot(Invariant($"{row.Metric} under {attack}: r = {row.Pearson.Value:0.000}, slope = {row.Slope.Value:0.000} ({row.Points.Count} models)"),
                $"{row.Metric} before (clean model)", $"{row.Metric} under {attack}");
            var values = row.Points.SelectMany(p => new[] { p.Before, p.After }).ToList();
            var (low, high) = values.Count > 0 ? (values.Min(), values.Max()) : (0.0, 1.0);
            if (high <= low) (low, high) = (low - 0.5, high + 0.5);
            var identity = plot.Add.Line(low, low, high, high);
            identity.LinePattern = LinePattern.Dashed;
            identity.Color = Chosen;
            identity.LegendText = "identity (attack changes nothing)";
            var points = plot.Add.ScatterPoints(row.Points.Select(p => p.Before).ToArray(), row.Points.Select(p => p.After).ToArray(), Series[0]);
            points.MarkerSize = 8;
            points.LegendText = "unlearned model";
            plot.ShowLegend(Alignment.UpperLeft);
            return plot;
        }).ToList();
        return Png(panels);
    }
}
