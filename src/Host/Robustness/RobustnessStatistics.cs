namespace Unlearn.Host.Robustness;

/// <summary>A statistic with its bootstrap interval.</summary>
/// <param name="Value">The statistic on the data.</param>
/// <param name="Low">2.5th percentile of the statistic over bootstrap resamples (NaN when undefined).</param>
/// <param name="High">97.5th percentile.</param>
public sealed record Estimate(double Value, double Low, double High);

/// <summary>The statistics of the meta-evaluation: Pearson correlation and least-squares slope of metric-after on
/// metric-before across models, percentile bootstrap intervals over models (seeded), and the rank AUC with which a
/// metric separates two groups of models.</summary>
public static class RobustnessStatistics
{
    /// <summary>Pearson's r of paired values; NaN when fewer than two pairs or either side is constant.</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var (sxx, syy, sxy) = Moments(x, y);
        return sxx > 0 && syy > 0 ? Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1) : double.NaN;
    }

    /// <summary>The least-squares slope of y on x; NaN when fewer than two pairs or x is constant.</summary>
    public static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var (sxx, _, sxy) = Moments(x, y);
        return sxx > 0 ? sxy / sxx : double.NaN;
    }

    /// <summary>The statistic with its 95 % percentile bootstrap interval: <paramref name="resamples"/> resamples of the
    /// pairs with replacement, drawn from <paramref name="seed"/>; resamples where the statistic is undefined are skipped.</summary>
    public static Estimate Bootstrap(IReadOnlyList<double> x, IReadOnlyList<double> y, Func<IReadOnlyList<double>, IReadOnlyList<double>, double> statistic,
        int resamples, int seed)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(statistic);
        var value = statistic(x, y);
        var random = new Random(seed);
        var values = new List<double>(resamples);
        var (bx, by) = (new double[x.Count], new double[x.Count]);
        for (var r = 0; r < resamples && x.Count > 1; r++)
        {
            for (var i = 0; i < x.Count; i++)
            {
                var pick = random.Next(x.Count);
                (bx[i], by[i]) = (x[pick], y[pick]);
            }
            var s = statistic(bx, by);
            if (double.IsFinite(s)) values.Add(s);
        }
        if (values.Count == 0) return new Estimate(value, double.NaN, double.NaN);
        values.Sort();
        return new Estimate(value, Percentile(values, 0.025), Percentile(values, 0.975));
    }

    /// <summary>P(a model of <paramref name="positives"/> scores higher than one of <paramref name="negatives"/>), ties
    /// counted half (the Mann–Whitney U over n₊·n₋); NaN when a group is empty.</summary>
    public static double Auc(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        ArgumentNullException.ThrowIfNull(positives);
        ArgumentNullException.ThrowIfNull(negatives);
        if (positives.Count == 0 || negatives.Count == 0) return double.NaN;
        double wins = 0;
        foreach (var p in positives)
        foreach (var n in negatives)
            wins += p > n ? 1 : p == n ? 0.5 : 0;
        return wins / (positives.Count * (double)negatives.Count);
    }

    // Linear interpolation between order statistics (numpy's default percentile).
    private static double Percentile(List<double> sorted, double q)
    {
        var position = q * (sorted.Count - 1);
        var below = (int)Math.Floor(position);
        var above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    private static (double Sxx, double Syy, double Sxy) Moments(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"paired values differ in length: {x.Count} and {y.Count}", nameof(y));
        if (x.Count < 2) return (0, 0, 0);
        var (mx, my) = (x.Average(), y.Average());
        double sxx = 0, syy = 0, sxy = 0;
        for (var i = 0; i < x.Count; i++)
        {
            var (dx, dy) = (x[i] - mx, y[i] - my);
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
        }
        return (sxx, syy, sxy);
    }
}
