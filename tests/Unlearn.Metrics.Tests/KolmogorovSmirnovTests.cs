using System.Text.Json;
using Unlearn.Plugins.Metrics;

namespace Unlearn.Metrics.Tests;

/// <summary>Checks against scipy 1.10 values in Fixtures/ks_fixtures.json (written by scripts/fixtures/ks_fixtures.py).</summary>
public class KolmogorovSmirnovTests
{
    private static readonly JsonElement Fixtures = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "ks_fixtures.json"))).RootElement;

    /// <summary>The LCG of ks_fixtures.py: same seeds, same doubles.</summary>
    private static List<double> LcgSample(JsonElement spec)
    {
        var state = spec.GetProperty("seed").GetUInt64();
        var n = spec.GetProperty("n").GetInt32();
        var shift = spec.GetProperty("shift").GetDouble();
        var scale = spec.GetProperty("scale").GetDouble();
        var levels = spec.GetProperty("levels").GetInt32();
        var values = new List<double>(n);
        for (var i = 0; i < n; i++)
        {
            unchecked { state = state * 6364136223846793005UL + 1442695040888963407UL; }
            var u = (state >> 11) / (double)(1UL << 53);
            if (levels > 0) u = Math.Floor(u * levels) / levels;
            values.Add(shift + scale * u);
        }
        return values;
    }

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Fixtures.GetProperty("ks_2samp").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    private static void AssertClose(double expected, double actual, double relative, string what)
    {
        var tolerance = Math.Max(relative * Math.Abs(expected), 1e-15);
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected:R}, got {actual:R}");
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Two_sample_test_matches_scipy_ks_2samp_auto(string name)
    {
        var c = Fixtures.GetProperty("ks_2samp").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var result = KolmogorovSmirnov.TwoSample(LcgSample(c.GetProperty("first")), LcgSample(c.GetProperty("second")));
        Assert.Equal(c.GetProperty("method").GetString() == "exact" ? KsMethod.Exact : KsMethod.Asymptotic, result.Method);
        AssertClose(c.GetProperty("statistic").GetDouble(), result.Statistic, 1e-12, name + " statistic");
        AssertClose(c.GetProperty("pvalue").GetDouble(), result.PValue, 1e-9, name + " p-value");
    }

    [Fact]
    public void Kolmogorov_survival_matches_scipy_kstwo_sf_on_a_grid()
    {
        foreach (var c in Fixtures.GetProperty("kstwo_sf").EnumerateArray())
        {
            var n = c.GetProperty("n").GetInt32();
            var x = c.GetProperty("x").GetDouble();
            var expected = c.GetProperty("sf").GetDouble();
            var actual = KolmogorovDistribution.Survival(n, x);
            // Relative 1e-9 on meaningful values; tails below 1e-250 only need to agree in being negligible.
            if (expected < 1e-250) Assert.True(actual < 1e-240, $"kstwo.sf({x}, {n}): expected {expected:R}, got {actual:R}");
            else AssertClose(expected, actual, 1e-9, $"kstwo.sf({x}, {n})");
        }
    }

    [Fact]
    public void Smirnov_survival_matches_scipy_special_smirnov()
    {
        foreach (var c in Fixtures.GetProperty("smirnov").EnumerateArray())
        {
            var n = c.GetProperty("n").GetInt32();
            var x = c.GetProperty("x").GetDouble();
            var expected = c.GetProperty("sf").GetDouble();
            var actual = KolmogorovDistribution.SmirnovSurvival(n, x);
            if (expected < 1e-250) Assert.True(actual < 1e-240, $"smirnov({n}, {x}): expected {expected:R}, got {actual:R}");
            else AssertClose(expected, actual, 1e-9, $"smirnov({n}, {x})");
        }
    }

    [Fact]
    public void Hand_computed_small_cases()
    {
        // n = m = 2, fully separated: D = 1; of the C(4,2) = 6 orderings, 2 reach D = 1, so p = 1/3.
        var separated = KolmogorovSmirnov.TwoSample([1, 2], [3, 4]);
        Assert.Equal(1.0, separated.Statistic, 12);
        Assert.Equal(1.0 / 3, separated.PValue, 12);
        // Identical samples: D = 0, p = 1.
        Assert.Equal(1.0, KolmogorovSmirnov.TwoSample([0.1, 0.2, 0.3], [0.3, 0.2, 0.1]).PValue, 12);
        // n=1, m=2, x in the middle: F1-F2 steps give D = 1/2; every ordering has D >= 1/2, so p = 1.
        Assert.Equal(1.0, KolmogorovSmirnov.TwoSample([2], [1, 3]).PValue, 12);
    }

    [Fact]
    public void Empty_or_nan_samples_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => KolmogorovSmirnov.TwoSample([], [1]));
        Assert.Throws<ArgumentException>(() => KolmogorovSmirnov.TwoSample([double.NaN], [1]));
    }
}
