namespace Unlearn.Plugins.Metrics;

/// <summary>How a two-sample KS p-value was computed.</summary>
public enum KsMethod
{
    /// <summary>Exact lattice-path count (Hodges; Viehmann's recursion for 1 − p).</summary>
    Exact,
    /// <summary>The two-sided one-sample Kolmogorov distribution at n = round(n₁n₂/(n₁+n₂)).</summary>
    Asymptotic,
}

/// <summary>Result of a two-sided two-sample Kolmogorov–Smirnov test.</summary>
/// <param name="Statistic">D = sup |F₁ − F₂| (after the exact branch, rounded to a multiple of 1/lcm(n₁, n₂)).</param>
/// <param name="PValue">The two-sided p-value.</param>
/// <param name="Method">Which computation produced it.</param>
public sealed record KsTestResult(double Statistic, double PValue, KsMethod Method);

/// <summary>The two-sided two-sample Kolmogorov–Smirnov test with scipy's <c>ks_2samp(method='auto')</c> rule: exact when
/// max(n₁, n₂) ≤ 10000 (falling back to the asymptotic form if the exact computation fails numerically), otherwise
/// <c>kstwo.sf(D, round(n₁n₂/(n₁+n₂)))</c>.</summary>
public static class KolmogorovSmirnov
{
    /// <summary>The largest sample size for which the exact method is tried.</summary>
    public const int MaxExactSize = 10000;

    /// <summary>Runs the test. Samples must be non-empty and free of NaN.</summary>
    public static KsTestResult TwoSample(IReadOnlyList<double> first, IReadOnlyList<double> second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Count == 0 || second.Count == 0) throw new ArgumentException("KS test needs two non-empty samples");
        if (first.Any(double.IsNaN) || second.Any(double.IsNaN)) throw new ArgumentException("KS test samples must not contain NaN");
        var d = Statistic(first, second);
        int n1 = first.Count, n2 = second.Count;
        if (Math.Max(n1, n2) <= MaxExactSize)
        {
            var (ok, dRounded, p) = TryExactPValue(n1, n2, d);
            if (ok) return new KsTestResult(dRounded, Math.Clamp(p, 0.0, 1.0), KsMethod.Exact);
            d = dRounded;
        }
        return new KsTestResult(d, AsymptoticPValue(n1, n2, d), KsMethod.Asymptotic);
    }

    /// <summary>D = max over the pooled values of |F₁(x) − F₂(x)| with right-continuous empirical CDFs (ties handled).</summary>
    public static double Statistic(IReadOnlyList<double> first, IReadOnlyList<double> second)
    {
        var a = first.OrderBy(v => v).ToArray();
        var b = second.OrderBy(v => v).ToArray();
        double max = 0, min = 0;
        foreach (var x in a.Concat(b))
        {
            var diff = (double)UpperBound(a, x) / a.Length - (double)UpperBound(b, x) / b.Length;
            max = Math.Max(max, diff);
            min = Math.Min(min, diff);
        }
        return Math.Max(max, -min);
    }

    /// <summary>The exact two-sided p-value P(D ≥ d) for sizes n₁, n₂. Returns false when the computation
    /// is not usable (overflow, or a value outside [0, 1]); <c>Statistic</c> is d rounded to h/lcm.</summary>
    public static (bool Success, double Statistic, double PValue) TryExactPValue(int n1, int n2, double d)
    {
        if (n1 < 1 || n2 < 1) throw new ArgumentOutOfRangeException(nameof(n1), "sample sizes must be >= 1");
        long g = Gcd(n1, n2);
        long lcm = (n1 / g) * n2;
        var h = (long)Math.Round(d * lcm, MidpointRounding.ToEven);
        var dRounded = (double)h / lcm;
        if (h == 0) return (true, dRounded, 1.0);
        var p = n1 == n2 ? ProbabilityOutsideSquare(n1, h) : OuterProbabilityInside(n1, n2, g, h);
        if (double.IsNaN(p) || double.IsInfinity(p) || p < 0 || p > 1) return (false, dRounded, p);
        return (true, dRounded, p);
    }

    /// <summary>The asymptotic two-sided p-value: <c>kstwo.sf(d, round(en))</c> with en = n₁n₂/(n₁+n₂).</summary>
    public static double AsymptoticPValue(int n1, int n2, double d)
    {
        double m = Math.Max(n1, n2), n = Math.Min(n1, n2);
        var en = m * n / (m + n);
        var effective = (int)Math.Round(en, MidpointRounding.ToEven);
        return Math.Clamp(KolmogorovDistribution.Survival(Math.Max(effective, 1), d), 0.0, 1.0);
    }

    /// <summary>P(D_{n,n} ≥ h/n): the share of lattice paths leaving the band |x − y| &lt; h (alternating reflection
    /// sum evaluated Horner-style to avoid cancellation).</summary>
    internal static double ProbabilityOutsideSquare(long n, long h)
    {
        double p = 0;
        var k = n / h;
        while (k >= 0)
        {
            double p1 = 1;
            for (long j = 0; j < h; j++)
                p1 = (n - k * h - j) * p1 / (n + k * h + j + 1);
            p = p1 * (1.0 - p);
            k--;
        }
        return 2 * p;
    }

    /// <summary>The share of lattice paths from (0,0) to (m,n) that do not stay strictly inside |x/m − y/n| &lt; h/lcm,
    /// computed directly as 1 − p column by column (Viehmann 2021) over a sliding window.</summary>
    internal static double OuterProbabilityInside(long m, long n, long g, long h)
    {
        if (m < n) (m, n) = (n, m);
        var mg = m / g;
        var ng = n / g;
        long minj = 0;
        var maxj = Math.Min(CeilDiv(h, mg), n + 1);
        var curlen = maxj - minj;
        var lenA = Math.Min(2 * maxj + 2, n + 1);
        var a = new double[lenA];
        Array.Fill(a, 1.0);
        for (var j = minj; j < maxj; j++) a[j] = 0.0;
        for (long i = 1; i <= m; i++)
        {
            var lastminj = minj;
            var lastlen = curlen;
            minj = Math.Max(FloorDiv(ng * i - h, mg) + 1, 0);
            minj = Math.Min(minj, n);
            maxj = Math.Min(CeilDiv(ng * i + h, mg), n + 1);
            if (maxj <= minj) return 1.0;
            var val = minj == 0 ? 0.0 : 1.0;
            for (long jj = 0; jj < maxj - minj; jj++)
            {
                var j = jj + minj;
                val = (a[jj + minj - lastminj] * i + val * j) / (i + j);
                a[jj] = val;
            }
            curlen = maxj - minj;
            if (lastlen > curlen)
            {
                var end = Math.Min(maxj - minj + (lastlen - curlen), lenA);
                for (var j = maxj - minj; j < end; j++) a[j] = 1.0;
            }
        }
        return a[maxj - minj - 1];
    }

    private static int UpperBound(double[] sorted, double x)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    private static long FloorDiv(long a, long b) => (long)Math.Floor((double)a / b);

    private static long CeilDiv(long a, long b) => (long)Math.Ceiling((double)a / b);
}
