using Unlearn.Plugins;

namespace Unlearn.Host.Reporting;

/// <summary>What a calibration measured, as the calibrator returned it (<see cref="CalibrationResult.Bar"/>) and
/// summary.json records it: the metric the bar is set on, the retain split, the split also recorded along the curve,
/// and τ. Null parts are unknown (a calibrator that does not say).</summary>
/// <param name="Metric">The calibration metric (e.g. <c>es</c>), or null.</param>
/// <param name="Split">The split the bar is measured on (e.g. <c>retain</c>), or null.</param>
/// <param name="ForgetSplit">The split also recorded at every visited α (e.g. <c>forget</c>), or null.</param>
/// <param name="Tau">The target fraction τ, or null.</param>
public sealed record CalibrationSettings(string? Metric, string? Split, string? ForgetSplit, double? Tau)
{
    /// <summary>Nothing known.</summary>
    public static CalibrationSettings Unknown { get; } = new(null, null, null, null);

    /// <summary>The settings a calibrator returned, or <see cref="Unknown"/> when it returned none.</summary>
    public static CalibrationSettings Of(CalibrationBar? bar) => bar == null ? Unknown : new(bar.Metric, bar.Split, bar.ForgetSplit, bar.Tau);
}
