using System.Globalization;

namespace Unlearn.Plugins.Controls;

/// <summary>Validation messages shared by the options classes of this assembly; each names the option in snake_case
/// as it is written in pipeline files.</summary>
internal static class OptionChecks
{
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static IEnumerable<string> Tau(double tau)
    {
        if (!(tau > 0 && tau <= 1)) yield return $"tau must be in (0, 1], got {Format(tau)}";
    }

    public static IEnumerable<string> NotEmpty(string name, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) yield return $"{name} must name a metric or split, got '{value}'";
    }

    public static IEnumerable<string> AtLeast(string name, int value, int minimum)
    {
        if (value < minimum) yield return $"{name} must be >= {minimum}, got {value}";
    }

    public static IEnumerable<string> Probe(string name, int? value)
    {
        if (value is < 1) yield return $"{name} must be >= 1 or null (all items), got {value}";
    }

    public static IEnumerable<string> Positive(string name, double value)
    {
        if (!(value > 0) || double.IsInfinity(value)) yield return $"{name} must be a finite number > 0, got {Format(value)}";
    }

    public static IEnumerable<string> Fraction(string name, double value, bool includeOne)
    {
        var ok = value > 0 && (includeOne ? value <= 1 : value < 1);
        if (!ok) yield return $"{name} must be in (0, 1{(includeOne ? "]" : ")")}, got {Format(value)}";
    }
}
