using System.ComponentModel;

namespace Unlearn.Plugins.Controls.Bounded;

/// <summary>Options of the <c>lr-backoff</c> controller.</summary>
public sealed class LearningRateBackoffOptions : IValidatableOptions
{
    /// <summary>Evaluate the retain probe every k optimiser steps.</summary>
    [Description("Evaluate the retain probe every k optimiser steps.")]
    public int Every { get; init; } = 5;

    /// <summary>The retain metric.</summary>
    [Description("Retain metric watched (higher = more retained).")]
    public string Metric { get; init; } = "es";

    /// <summary>The retain split.</summary>
    [Description("Split of the retain probe.")]
    public string Split { get; init; } = "retain";

    /// <summary>Items of the probe (the first ones of the split); null for the whole split.</summary>
    [Description("Items in the probe (the first ones of the split); null for the whole split.")]
    public int? ProbeSize { get; init; } = 32;

    /// <summary>The learning rate is backed off at every evaluation below fraction·M(θ_orig).</summary>
    [Description("Back off whenever the probe is below fraction * M(original).")]
    public double Fraction { get; init; } = 0.95;

    /// <summary>Multiplier applied to the learning-rate scale at each back-off.</summary>
    [Description("Multiplier applied to the learning-rate scale at each back-off.")]
    public double Factor { get; init; } = 0.5;

    /// <summary>The learning-rate scale never goes below this.</summary>
    [Description("Lowest learning-rate scale the back-off may reach.")]
    public double MinScale { get; init; } = 0.01;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        var problems = new List<string>();
        problems.AddRange(OptionChecks.AtLeast("every", Every, 1));
        problems.AddRange(OptionChecks.NotEmpty("metric", Metric));
        problems.AddRange(OptionChecks.NotEmpty("split", Split));
        problems.AddRange(OptionChecks.Probe("probe_size", ProbeSize));
        problems.AddRange(OptionChecks.Fraction("fraction", Fraction, includeOne: true));
        problems.AddRange(OptionChecks.Fraction("factor", Factor, includeOne: false));
        problems.AddRange(OptionChecks.Fraction("min_scale", MinScale, includeOne: true));
        return problems;
    }
}

/// <summary>Bounded unlearning by learning-rate back-off: every k steps the retain probe is compared with
/// fraction·M(θ_orig); below it, <see cref="ControllerContext.LearningRateScale"/> is multiplied by the factor, never
/// going below the floor.</summary>
/// <remarks>Trajectory keys: <c>lr_backoff.threshold</c> (at the start), <c>lr_backoff.retain</c> and
/// <c>lr_backoff.scale</c> (at each evaluation, the scale after any back-off).</remarks>
public sealed class LearningRateBackoffController : IController
{
    private readonly LearningRateBackoffOptions _options;
    private double? _threshold;

    /// <summary>Creates the controller with validated options.</summary>
    public LearningRateBackoffController(LearningRateBackoffOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException("invalid lr-backoff options: " + string.Join("; ", problems), nameof(options));
        _options = options;
    }

    /// <inheritdoc />
    public void OnTrainingStart(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var original = context.EvaluateOriginal(_options.Metric, _options.Split, _options.ProbeSize);
        _threshold = _options.Fraction * original;
        context.Record("lr_backoff.threshold", _threshold.Value);
    }

    /// <inheritdoc />
    public void OnStepEnd(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Step % _options.Every != 0) return;
        if (_threshold == null) OnTrainingStart(context);
        var retain = context.Evaluate(_options.Metric, _options.Split, _options.ProbeSize);
        context.Record("lr_backoff.retain", retain);
        var scale = context.LearningRateScale;
        if (!(retain >= _threshold!.Value) && scale > _options.MinScale)
        {
            scale = Math.Max(_options.MinScale, scale * _options.Factor);
            context.LearningRateScale = scale;
        }
        context.Record("lr_backoff.scale", scale);
    }

    /// <summary>The threshold fraction·M(θ_orig), known once training has started.</summary>
    public double? Threshold => _threshold;
}
