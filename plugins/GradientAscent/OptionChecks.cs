using System.Globalization;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>Validation messages shared by the options classes; each names the option in pipeline spelling.</summary>
internal static class OptionChecks
{
    public static IEnumerable<string> Positive(string name, double value)
    {
        if (!(value > 0) || double.IsInfinity(value)) yield return $"{name} must be > 0, got {Format(value)}";
    }

    public static IEnumerable<string> NonNegative(string name, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value)) yield return $"{name} must be >= 0, got {Format(value)}";
    }

    public static IEnumerable<string> Finite(string name, double value)
    {
        if (!double.IsFinite(value)) yield return $"{name} must be a finite number, got {Format(value)}";
    }

    public static IEnumerable<string> Tricks(double temperature, double likelihoodCap, double? bound)
    {
        foreach (var m in Positive("temperature", temperature)) yield return m;
        if (!(likelihoodCap > 0 && likelihoodCap <= 1))
            yield return $"likelihood_cap must be in (0, 1], got {Format(likelihoodCap)}";
        if (bound is { } b)
            foreach (var m in Positive("bound", b)) yield return m;
    }

    public static IEnumerable<string> ExistingFile(string name, string? path)
    {
        if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path)) yield return $"{name} must name an existing file, got '{path}'";
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
