namespace Unlearn.Plugins.Metrics;

/// <summary>The two-sided one-sample Kolmogorov–Smirnov distribution D_n (scipy's <c>kstwo</c>), with the
/// algorithm selection of Simard and L'Ecuyer (2011) as scipy implements it: Ruben–Gambino closed forms at the
/// ends, the Durbin matrix (Marsaglia–Tsang–Wang), the Pomeranz recursion, the Pelz–Good expansion, and twice the
/// one-sided Smirnov tail where that is exact or accurate.</summary>
public static class KolmogorovDistribution
{
    private const int ScaleExponent = 128;
    private static readonly double Big = Math.ScaleB(1.0, ScaleExponent);
    private static readonly double Small = Math.ScaleB(1.0, -ScaleExponent);
    private const double MinLog = -708;
    private static readonly double[] StirlingCoefficients =
    [
        -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4,
        -5.952380952380952381e-4, 7.9365079365079365079e-4, -2.7777777777777777778e-3, 8.3333333333333333333e-2,
    ];

    /// <summary>P(D_n ≥ x), the survival function.</summary>
    public static double Survival(int n, double x)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be >= 1");
        if (double.IsNaN(x)) return double.NaN;
        if (x >= 1.0) return 0.0;
        if (x <= 0.0) return 1.0;
        var t = n * x;
        if (t <= 1.0)
        {
            if (t <= 0.5) return 1.0;
            double cdf;
            if (n <= 140)
            {
                cdf = 1.0;
                for (var i = 1; i <= n; i++) cdf *= i * (1.0 / n) * (2 * t - 1);
            }
            else cdf = Math.Exp(LogFactorialOverPower(n) + n * Math.Log(2 * t - 1));
            return Clip(1.0 - cdf);
        }
        if (t >= n - 1) return Clip(2 * Math.Pow(1.0 - x, n));
        if (x >= 0.5) return Clip(2 * SmirnovSurvival(n, x));
        var nxSquared = t * x;
        if (n <= 140)
        {
            if (nxSquared <= 0.754693) return Clip(1.0 - DurbinMatrixCdf(n, x));
            if (nxSquared <= 4) return Clip(1.0 - PomeranzCdf(n, x));
            return Clip(2 * SmirnovSurvival(n, x));
        }
        if (nxSquared >= 370.0) return 0.0;
        if (nxSquared >= 2.2) return Clip(2 * SmirnovSurvival(n, x));
        var cdfLarge = n <= 100000 && n * Math.Pow(x, 1.5) <= 1.4 ? DurbinMatrixCdf(n, x) : PelzGoodCdf(n, x);
        return Clip(1.0 - cdfLarge);
    }

    /// <summary>P(D_n⁺ ≥ x), the exact one-sided Smirnov tail by the Birnbaum–Tingey sum
    /// x·Σ_{v=0}^{⌊n(1−x)⌋} C(n,v)(x+v/n)^{v−1}(1−x−v/n)^{n−v}, each term in log space.</summary>
    public static double SmirnovSurvival(int n, double x)
    {
        if (n < 1) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be >= 1");
        if (double.IsNaN(x)) return double.NaN;
        if (x <= 0) return 1.0;
        if (x >= 1) return 0.0;
        var last = (int)Math.Floor(n * (1.0 - x));
        double logBinomial = 0, sum = 0;
        for (var v = 0; v <= last; v++)
        {
            var evn = x + (double)v / n;
            var rest = 1.0 - evn;
            if (rest > 0 || v == n)
            {
                var log = logBinomial + (v - 1) * Math.Log(evn) + (v == n ? 0.0 : (n - v) * Math.Log(rest));
                sum += Math.Exp(log);
            }
            logBinomial += Math.Log(n - v) - Math.Log(v + 1);
        }
        return Clip(x * sum);
    }

    /// <summary>log(n!/nⁿ) by Stirling's series with n·log n removed up front.</summary>
    private static double LogFactorialOverPower(int n)
    {
        var rn = 1.0 / n;
        var poly = 0.0;
        foreach (var c in StirlingCoefficients) poly = poly * (rn / n) + c;
        return Math.Log(n) / 2 - n + Math.Log(2 * Math.PI) / 2 + rn * poly;
    }

    /// <summary>P(D_n ≤ d) by Durbin's matrix, computing the k-th diagonal entry of (n!/nⁿ)·Hⁿ with rescaling.</summary>
    private static double DurbinMatrixCdf(int n, double d)
    {
        if (d >= 1.0) return 1.0;
        var nd = n * d;
        if (nd <= 0.5) return 0.0;
        var k = (int)Math.Ceiling(nd);
        var h = k - nd;
        var m = 2 * k - 1;
        var v = new double[m];
        var w = new double[m];
        var fac = 1.0;
        for (var j = 1; j <= m; j++)
        {
            v[j - 1] = 1.0 - Math.Pow(h, j);
            w[j - 1] = fac;
            fac /= j;
            v[j - 1] *= fac;
        }
        var tt = Math.Pow(Math.Max(2 * h - 1.0, 0), m) - 2 * Math.Pow(h, m);
        v[m - 1] = (1.0 + tt) * fac;
        var hm = new double[m, m];
        for (var i = 1; i < m; i++)
            for (var r = i - 1; r < m; r++)
                hm[r, i] = w[r - (i - 1)];
        for (var r = 0; r < m; r++) hm[r, 0] = v[r];
        for (var c = 0; c < m; c++) hm[m - 1, c] = v[m - 1 - c];

        var power = Identity(m);
        var nn = n;
        var exponent = 0;
        var hExponent = 0;
        while (nn > 0)
        {
            if (nn % 2 == 1)
            {
                power = Multiply(power, hm);
                exponent += hExponent;
            }
            hm = Multiply(hm, hm);
            hExponent *= 2;
            if (Math.Abs(hm[k - 1, k - 1]) > Big)
            {
                Scale(hm, Small);
                hExponent += ScaleExponent;
            }
            nn /= 2;
        }
        var p = power[k - 1, k - 1];
        for (var i = 1; i <= n; i++)
        {
            p = i * p / n;
            if (Math.Abs(p) < Small)
            {
                p *= Big;
                exponent -= ScaleExponent;
            }
        }
        if (exponent != 0) p = Math.ScaleB(p, exponent);
        return Clip(p);
    }

    /// <summary>P(D_n ≤ x) by the Pomeranz recursion (two rows of convolutions with Poisson-like weights).</summary>
    private static double PomeranzCdf(int n, double x)
    {
        var t = n * x;
        var ll = (int)Math.Floor(t);
        var f = t - ll;
        var g = Math.Min(f, 1.0 - f);
        var ceilf = f > 0 ? 1 : 0;
        var roundf = f > 0.5 ? 1 : 0;
        var npwrs = 2 * (ll + 1);
        var gpower = new double[npwrs];
        var twogpower = new double[npwrs];
        var onem2gpower = new double[npwrs];
        gpower[0] = twogpower[0] = onem2gpower[0] = 1.0;
        var exponent = 0;
        double gOverN = g / n, twoGOverN = 2 * g / n, oneMinusTwoGOverN = (1 - 2 * g) / n;
        for (var m = 1; m < npwrs; m++)
        {
            gpower[m] = gpower[m - 1] * gOverN / m;
            twogpower[m] = twogpower[m - 1] * twoGOverN / m;
            onem2gpower[m] = onem2gpower[m - 1] * oneMinusTwoGOverN / m;
        }
        var v0 = new double[npwrs];
        var v1 = new double[npwrs];
        v1[0] = 1;
        int v0s = 0, v1s = 0;
        var (j1, _) = PomeranzBounds(0, n, ll, ceilf, roundf);
        for (var i = 1; i < 2 * n + 2; i++)
        {
            var k1 = j1;
            (v0, v1) = (v1, v0);
            (v0s, v1s) = (v1s, v0s);
            Array.Clear(v1);
            (j1, var j2) = PomeranzBounds(i, n, ll, ceilf, roundf);
            var pwrs = i == 1 || i == 2 * n + 1 ? gpower : (i % 2 == 1 ? twogpower : onem2gpower);
            var ln2 = j2 - k1 + 1;
            if (ln2 > 0)
            {
                var start = k1 - v0s;
                var aLen = Math.Min(start + ln2, npwrs) - start;
                var convStart = j1 - k1;
                var convLen = j2 - j1 + 1;
                for (var c = 0; c < convLen; c++)
                {
                    // Full convolution entry (convStart + c) of v0[start..start+aLen) with pwrs[0..ln2).
                    var idx = convStart + c;
                    double s = 0;
                    var lo = Math.Max(0, idx - (ln2 - 1));
                    var hi = Math.Min(aLen - 1, idx);
                    for (var a = lo; a <= hi; a++) s += v0[start + a] * pwrs[idx - a];
                    v1[c] = s;
                }
                var max = v1.Max();
                if (max > 0 && max < Small)
                {
                    for (var c = 0; c < v1.Length; c++) v1[c] *= Big;
                    exponent -= ScaleExponent;
                }
                v1s = v0s + j1 - k1;
            }
        }
        var ans = v1[n - v1s];
        for (var m = 1; m <= n; m++)
        {
            if (Math.Abs(ans) > Big)
            {
                ans *= Small;
                exponent += ScaleExponent;
            }
            ans *= m;
        }
        if (exponent != 0) ans = Math.ScaleB(ans, exponent);
        return Clip(ans);
    }

    private static (int J1, int J2) PomeranzBounds(int i, int n, int ll, int ceilf, int roundf)
    {
        int j1, j2;
        if (i == 0)
        {
            j1 = -ll - ceilf - 1;
            j2 = ll + ceilf - 1;
        }
        else
        {
            var ip1div2 = (i + 1) / 2;
            var ip1mod2 = (i + 1) % 2;
            if (ip1mod2 == 0)
            {
                if (ip1div2 == n + 1)
                {
                    j1 = n - ll - ceilf - 1;
                    j2 = n + ll + ceilf - 1;
                }
                else
                {
                    j1 = ip1div2 - 1 - ll - roundf - 1;
                    j2 = ip1div2 + ll - 1 + ceilf - 1;
                }
            }
            else
            {
                j1 = ip1div2 - 1 - ll - 1;
                j2 = ip1div2 + ll + roundf - 1;
            }
        }
        return (Math.Max(j1 + 2, 0), Math.Min(j2, n));
    }

    /// <summary>P(D_n ≤ x) by the Pelz–Good asymptotic expansion (Li-Chien/Korolyuk terms through n^{-3/2}).</summary>
    private static double PelzGoodCdf(int n, double x)
    {
        if (x <= 0.0) return 0.0;
        if (x >= 1.0) return 1.0;
        var z = Math.Sqrt(n) * x;
        double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
        const double pi2 = Math.PI * Math.PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
        var qlog = -pi2 / 8 / z2;
        if (qlog < MinLog) return 0.0;
        var q = Math.Exp(qlog);
        var k1a = -z2;
        var k1b = pi2 / 4;
        var k2a = 6 * z6 + 2 * z4;
        var k2b = (2 * z4 - 5 * z2) * pi2 / 4;
        var k2c = pi4 * (1 - 2 * z2) / 16;
        var k3d = pi6 * (5 - 30 * z2) / 64;
        var k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
        var k3b = pi2 * (135 * z4 - 96 * z6) / 4;
        var k3a = -30 * z6 - 90 * Math.Pow(z, 8);
        var terms = new double[4];
        var maxk = (int)Math.Ceiling(16 * z / Math.PI);
        for (var k = maxk; k > 0; k--)
        {
            var m = 2 * k - 1;
            double m2 = (double)m * m, m4 = m2 * m2, m6 = m4 * m2;
            var qpower = Math.Pow(q, 8 * k);
            terms[0] = terms[0] * qpower + 1.0;
            terms[1] = terms[1] * qpower + (k1a + k1b * m2);
            terms[2] = terms[2] * qpower + (k2a + k2b * m2 + k2c * m4);
            terms[3] = terms[3] * qpower + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
        }
        var sqrt2Pi = Math.Sqrt(2 * Math.PI);
        double[] divisors = [z, 6 * z4, 72 * Math.Pow(z, 7), 6480 * Math.Pow(z, 10)];
        for (var i = 0; i < 4; i++) terms[i] = terms[i] * q * sqrt2Pi / divisors[i];

        var q2 = Math.Exp(-pi2 / 2 / z2);
        var sqrt3z = Math.Sqrt(3) * z;
        double k2extra = 0, k3extra = 0;
        for (var k = maxk; k > 0; k--)
        {
            double ksq = (double)k * k;
            var qp = Math.Pow(q2, ksq);
            var kspi = Math.PI * k;
            k2extra += ksq * qp;
            k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
        }
        terms[2] += k2extra * pi2 * sqrt2Pi / (-36 * z3);
        terms[3] += k3extra * pi2 * sqrt2Pi / (216 * z6);
        double sum = 0;
        for (var i = 0; i < 4; i++) sum += terms[i] / Math.Pow(n, i / 2.0);
        return Clip(sum);
    }

    private static double[,] Identity(int m)
    {
        var r = new double[m, m];
        for (var i = 0; i < m; i++) r[i, i] = 1.0;
        return r;
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        var m = a.GetLength(0);
        var r = new double[m, m];
        for (var i = 0; i < m; i++)
            for (var k = 0; k < m; k++)
            {
                var aik = a[i, k];
                if (aik == 0) continue;
                for (var j = 0; j < m; j++) r[i, j] += aik * b[k, j];
            }
        return r;
    }

    private static void Scale(double[,] a, double factor)
    {
        var m = a.GetLength(0);
        for (var i = 0; i < m; i++)
            for (var j = 0; j < m; j++) a[i, j] *= factor;
    }

    private static double Clip(double p) => Math.Clamp(p, 0.0, 1.0);
}
