using System.IO.Compression;
using System.Text;

namespace Unlearn.Plugins.Metrics;

/// <summary>Small aggregates used by several metrics.</summary>
public static class Aggregates
{
    /// <summary>Arithmetic mean; NaN for an empty list.</summary>
    public static double Mean(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return values.Count == 0 ? double.NaN : values.Sum() / values.Count;
    }

    /// <summary>Harmonic mean n / Σ 1/xᵢ of non-negative values; 0 when any value is 0 (the limit).</summary>
    public static double HarmonicMean(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("harmonic mean of no values");
        double inverseSum = 0;
        foreach (var v in values)
        {
            if (double.IsNaN(v) || v < 0) throw new ArgumentException($"harmonic mean needs non-negative values, got {v}");
            if (v == 0) return 0.0;
            inverseSum += 1.0 / v;
        }
        return values.Count / inverseSum;
    }

    /// <summary>Zlib's output for empty input: 2 header bytes, an empty final fixed block (2), Adler-32 (4).</summary>
    private const int EmptyZlibStreamLength = 8;

    /// <summary>Length in bytes of the zlib stream (RFC 1950, default level) of the text's UTF-8 bytes, the
    /// denominator of the ZLib membership score; equals Python's <c>len(zlib.compress(text.encode()))</c>.</summary>
    public static int ZlibLength(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // .NET writes no stream at all when nothing was written; zlib writes a complete empty stream.
        if (text.Length == 0) return EmptyZlibStreamLength;
        using var buffer = new MemoryStream();
        using (var zlib = new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            zlib.Write(bytes, 0, bytes.Length);
        }
        return (int)buffer.Length;
    }

    /// <summary>Mean of the ⌊k·n⌋ (at least one) smallest values: Min-K% over token log-probabilities.</summary>
    public static double MeanOfLowest(IReadOnlyList<float> values, double fraction)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!(fraction > 0 && fraction <= 1)) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "k must be in (0, 1]");
        if (values.Count == 0) throw new ArgumentException("Min-K% of no tokens");
        var count = Math.Max(1, (int)Math.Floor(fraction * values.Count));
        return values.Select(v => (double)v).OrderBy(v => v).Take(count).Average();
    }
}
