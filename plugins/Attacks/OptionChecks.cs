using System.Globalization;

namespace Unlearn.Plugins.Attacks;

/// <summary>Validation messages shared by the options classes of this assembly; each names the option in snake_case
/// as it is written in pipeline files.</summary>
internal static class OptionChecks
{
    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static IEnumerable<string> AtLeast(string name, int? value, int minimum)
    {
        if (value < minimum) yield return $"{name} must be >= {minimum}, got {value}";
    }

    public static IEnumerable<string> Positive(string name, double value)
    {
        if (!(value > 0) || double.IsInfinity(value)) yield return $"{name} must be a finite number > 0, got {Format(value)}";
    }

    public static IEnumerable<string> Fraction(string name, double value)
    {
        if (!(value > 0 && value <= 1)) yield return $"{name} must be in (0, 1], got {Format(value)}";
    }

    public static IEnumerable<string> NotEmpty(string name, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) yield return $"{name} must not be empty, got '{value}'";
    }
}
