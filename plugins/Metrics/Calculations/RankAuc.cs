namespace Unlearn.Plugins.Metrics;

/// <summary>Area under the ROC curve as the Mann–Whitney statistic: P(X &gt; Y) + ½·P(X = Y).</summary>
public static class RankAuc
{
    /// <summary>The probability that a value drawn from <paramref name="positives"/> exceeds one drawn from
    /// <paramref name="negatives"/>, ties counting one half. Computed by sorting, O((n+m) log(n+m)).</summary>
    public static double Compute(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        ArgumentNullException.ThrowIfNull(positives);
        ArgumentNullException.ThrowIfNull(negatives);
        if (positives.Count == 0 || negatives.Count == 0)
            throw new ArgumentException("AUC needs at least one value in each group");
        if (positives.Any(double.IsNaN) || negatives.Any(double.IsNaN))
            throw new ArgumentException("AUC scores must not be NaN");
        var all = positives.Select(v => (Value: v, Positive: true))
            .Concat(negatives.Select(v => (Value: v, Positive: false)))
            .OrderBy(p => p.Value)
            .ToArray();
        // Sum of mid-ranks (1-based) of the positives; tied values share the mean of their ranks.
        double positiveRankSum = 0;
        var i = 0;
        while (i < all.Length)
        {
            var j = i;
            while (j + 1 < all.Length && all[j + 1].Value == all[i].Value) j++;
            var midRank = (i + j) / 2.0 + 1.0;
            for (var k = i; k <= j; k++)
                if (all[k].Positive) positiveRankSum += midRank;
            i = j + 1;
        }
        double n = positives.Count, m = negatives.Count;
        var u = positiveRankSum - n * (n + 1) / 2.0;
        return u / (n * m);
    }
}
