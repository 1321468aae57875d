using System.ComponentModel;

namespace Unlearn.Plugins.Controls.Calibration;

/// <summary>Options of the <c>model-mixing</c> calibrator (spec §5, model mixing and calibration).</summary>
public sealed class ModelMixingOptions : IValidatableOptions
{
    /// <summary>The retain metric M.</summary>
    [Description("Metric the bar is set on (its aggregate, higher = more retained), e.g. es.")]
    public string Metric { get; init; } = "es";

    /// <summary>The split M is measured on.</summary>
    [Description("Split the calibration metric is measured on.")]
    public string Split { get; init; } = "retain";

    /// <summary>The split on which the same metric is recorded at every visited α; empty or null to skip.</summary>
    [Description("Split on which the metric is also recorded at every visited alpha; empty to skip.")]
    public string? ForgetSplit { get; init; } = "forget";

    /// <summary>τ: the target is τ·M(θ_orig).</summary>
    [Description("Target fraction of the original's retain metric: target = tau * M(original).")]
    public double Tau { get; init; } = 0.9;

    /// <summary>The search stops once the bracket around α* is narrower than this.</summary>
    [Description("Binary search stops when the alpha bracket is narrower than this.")]
    public double Tolerance { get; init; } = 1e-3;

    /// <summary>Upper bound on retain evaluations of mixed models θ(α), the α = 1 and α = 0 ones included
    /// (the evaluation of θ_orig that sets the target is not counted).</summary>
    [Description("Upper bound on retain evaluations of mixed models, alpha=1 and alpha=0 included (the original's evaluation is not counted).")]
    public int MaxEvaluations { get; init; } = 12;

    /// <summary>At most this many items of each split are used (their first ones); null for all.</summary>
    [Description("Use at most this many items (the first ones) of each split; null for all.")]
    public int? ProbeSize { get; init; }

    /// <summary>Slack before a larger α with a larger retain value is flagged as non-monotone.</summary>
    [Description("A larger alpha whose retain value exceeds a smaller alpha's by more than this is flagged non-monotone.")]
    public double MonotonicityTolerance { get; init; } = 1e-6;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        var problems = new List<string>();
        problems.AddRange(OptionChecks.NotEmpty("metric", Metric));
        problems.AddRange(OptionChecks.NotEmpty("split", Split));
        problems.AddRange(OptionChecks.Tau(Tau));
        if (!(Tolerance > 0 && Tolerance < 1)) problems.Add($"tolerance must be in (0, 1), got {OptionChecks.Format(Tolerance)}");
        problems.AddRange(OptionChecks.AtLeast("max_evaluations", MaxEvaluations, 2));
        problems.AddRange(OptionChecks.Probe("probe_size", ProbeSize));
        if (!(MonotonicityTolerance >= 0) || double.IsInfinity(MonotonicityTolerance))
            problems.Add($"monotonicity_tolerance must be a finite number >= 0, got {OptionChecks.Format(MonotonicityTolerance)}");
        return problems;
    }
}
