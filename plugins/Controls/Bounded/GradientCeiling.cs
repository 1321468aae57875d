using System.ComponentModel;

namespace Unlearn.Plugins.Controls.Bounded;

/// <summary>Options of the <c>gradient-ceiling</c> controller.</summary>
public sealed class GradientCeilingOptions : IValidatableOptions
{
    /// <summary>The global gradient L2 norm is clipped to this for the whole run.</summary>
    [Description("Global gradient L2 norm ceiling applied from the first step on.")]
    public double MaxNorm { get; init; } = 1.0;

    /// <inheritdoc />
    public IEnumerable<string> Validate() => OptionChecks.Positive("max_norm", MaxNorm).ToList();
}

/// <summary>Bounded unlearning by a gradient-norm ceiling: sets <see cref="ControllerContext.GradientNormCeiling"/> before
/// the first step and records the pre-clipping norm of every step.</summary>
/// <remarks>Trajectory keys: <c>gradient_ceiling.norm</c> (every step), <c>gradient_ceiling.clipped_fraction</c> (at the
/// end: share of steps whose norm exceeded the ceiling).</remarks>
public sealed class GradientCeilingController : IController
{
    private readonly GradientCeilingOptions _options;
    private int _steps;
    private int _clipped;

    /// <summary>Creates the controller with validated options.</summary>
    public GradientCeilingController(GradientCeilingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException("invalid gradient-ceiling options: " + string.Join("; ", problems), nameof(options));
        _options = options;
    }

    /// <inheritdoc />
    public void OnTrainingStart(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.GradientNormCeiling = _options.MaxNorm;
    }

    /// <inheritdoc />
    public void OnStepEnd(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var norm = context.GradientNorm;
        _steps++;
        if (!(norm <= _options.MaxNorm)) _clipped++;
        context.Record("gradient_ceiling.norm", norm);
    }

    /// <inheritdoc />
    public void OnTrainingEnd(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_steps > 0) context.Record("gradient_ceiling.clipped_fraction", (double)_clipped / _steps);
    }
}
