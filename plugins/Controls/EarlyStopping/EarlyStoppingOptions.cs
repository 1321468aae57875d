using System.ComponentModel;

namespace Unlearn.Plugins.Controls.EarlyStopping;

/// <summary>Which weights early stopping keeps when it stops.</summary>
public enum CheckpointSelection
{
    /// <summary>The last evaluated weights whose retain metric met the bar.</summary>
    LastAboveBar,
    /// <summary>Among evaluated weights that met the retain bar: the lowest forget metric, or the highest retain
    /// metric when no forget metric is configured.</summary>
    Best,
    /// <summary>The current weights at the stop, whatever they score (no rollback).</summary>
    Last,
}

/// <summary>Options of the <c>early-stopping</c> controller (spec §5, early stopping).</summary>
public sealed class EarlyStoppingOptions : IValidatableOptions
{
    /// <summary>Evaluate every k optimiser steps (and at the last step).</summary>
    [Description("Evaluate the probes every k optimiser steps (and at the last step).")]
    public int Every { get; init; } = 5;

    /// <summary>The retain metric.</summary>
    [Description("Retain metric the bar is set on (higher = more retained).")]
    public string Metric { get; init; } = "es";

    /// <summary>The retain split.</summary>
    [Description("Split of the retain probe.")]
    public string Split { get; init; } = "retain";

    /// <summary>τ: the bar is τ·M(θ_orig).</summary>
    [Description("Bar as a fraction of the original's retain metric: bar = tau * M(original).")]
    public double Tau { get; init; } = 0.9;

    /// <summary>Items of each probe (the first ones of the split); null for the whole split.</summary>
    [Description("Items in each probe (the first ones of the split); null for the whole split.")]
    public int? ProbeSize { get; init; } = 32;

    /// <summary>A metric measured on the forget split at every evaluation, or null for none.</summary>
    [Description("Metric measured on the forget split at each evaluation (e.g. es); null for none.")]
    public string? ForgetMetric { get; init; }

    /// <summary>The forget split.</summary>
    [Description("Split the forget metric is measured on.")]
    public string ForgetSplit { get; init; } = "forget";

    /// <summary>Stop (keeping the current weights) once the forget metric is at or below this; null for no goal.</summary>
    [Description("Stop, keeping the current weights, once the forget metric is <= this; null for no goal.")]
    public double? ForgetGoal { get; init; }

    /// <summary>Which weights to keep when the retain metric falls below the bar.</summary>
    [Description("Weights kept when retain falls below the bar: last-above-bar, best (lowest forget metric above the bar, or highest retain) or last (no rollback).")]
    public CheckpointSelection Keep { get; init; } = CheckpointSelection.LastAboveBar;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        var problems = new List<string>();
        problems.AddRange(OptionChecks.AtLeast("every", Every, 1));
        problems.AddRange(OptionChecks.NotEmpty("metric", Metric));
        problems.AddRange(OptionChecks.NotEmpty("split", Split));
        problems.AddRange(OptionChecks.Tau(Tau));
        problems.AddRange(OptionChecks.Probe("probe_size", ProbeSize));
        if (ForgetMetric != null) problems.AddRange(OptionChecks.NotEmpty("forget_metric", ForgetMetric));
        if (ForgetMetric != null || ForgetGoal != null) problems.AddRange(OptionChecks.NotEmpty("forget_split", ForgetSplit));
        if (ForgetGoal != null && ForgetMetric == null) problems.Add("forget_goal needs forget_metric to be set");
        if (ForgetGoal is { } goal && !double.IsFinite(goal)) problems.Add($"forget_goal must be a finite number, got {OptionChecks.Format(goal)}");
        if (!Enum.IsDefined(Keep)) problems.Add($"keep must be last-above-bar, best or last, got {Keep}");
        return problems;
    }
}
