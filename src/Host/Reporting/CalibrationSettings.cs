using System.Text.Json;
using Unlearn.Host.Running;

namespace Unlearn.Host.Reporting;

/// <summary>What a calibration measured, read back from the calibrator's bound options (as the manifest records them):
/// the metric the bar is set on, the retain split, the split also recorded along the curve, and τ.</summary>
/// <param name="Metric">The calibration metric (e.g. <c>es</c>), or null when the options do not say.</param>
/// <param name="Split">The split the bar is measured on (e.g. <c>retain</c>), or null.</param>
/// <param name="ForgetSplit">The split also recorded at every visited α (e.g. <c>forget</c>), or null.</param>
/// <param name="Tau">The target fraction τ, or null.</param>
public sealed record CalibrationSettings(string? Metric, string? Split, string? ForgetSplit, double? Tau)
{
    /// <summary>Nothing known.</summary>
    public static CalibrationSettings Unknown { get; } = new(null, null, null, null);

    /// <summary>Reads the settings from a run's plugin records (the one of kind <c>calibrator</c>).</summary>
    public static CalibrationSettings From(IEnumerable<PluginRecord> plugins)
    {
        var calibrator = plugins.FirstOrDefault(p => p.Kind == "calibrator");
        return calibrator == null ? Unknown : FromOptionsJson(calibrator.Options);
    }

    /// <summary>Reads the settings from a calibrator's options object (property names in any case, snake_case too).</summary>
    public static CalibrationSettings FromOptionsJson(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return Unknown;
        try
        {
            using var document = JsonDocument.Parse(json);
            return FromOptions(document.RootElement);
        }
        catch (JsonException) { return Unknown; }
    }

    /// <summary>Reads the settings from a calibrator's options element.</summary>
    public static CalibrationSettings FromOptions(JsonElement options)
    {
        if (options.ValueKind != JsonValueKind.Object) return Unknown;
        string? Text(string name) => Find(options, name) is { ValueKind: JsonValueKind.String } e ? e.GetString() : null;
        double? Number(string name) => Find(options, name) is { ValueKind: JsonValueKind.Number } e ? e.GetDouble() : null;
        var forget = Text("forget_split");
        return new CalibrationSettings(Text("metric"), Text("split"), string.IsNullOrEmpty(forget) ? null : forget, Number("tau"));
    }

    private static JsonElement? Find(JsonElement map, string snakeName)
    {
        var plain = snakeName.Replace("_", "", StringComparison.Ordinal);
        foreach (var p in map.EnumerateObject())
        {
            if (string.Equals(p.Name, snakeName, StringComparison.OrdinalIgnoreCase)
                || string.Equals(p.Name.Replace("_", "", StringComparison.Ordinal), plain, StringComparison.OrdinalIgnoreCase))
                return p.Value;
        }
        return null;
    }
}
