using System.ComponentModel;
using System.Globalization;

namespace Unlearn.Plugins.Controls.Bounded;

/// <summary>Options of the <c>divergence-guard</c> controller.</summary>
public sealed class DivergenceGuardOptions : IValidatableOptions
{
    /// <summary>Save the "last-good" checkpoint every k healthy steps.</summary>
    [Description("Save the last-good checkpoint every k healthy steps (it is also saved before the first step).")]
    public int Every { get; init; } = 5;

    /// <summary>A loss whose absolute value exceeds this counts as divergence; null for no bound (NaN/Inf only).</summary>
    [Description("A loss with absolute value above this counts as divergence; null for NaN/Inf only.")]
    public double? MaxAbsLoss { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        var problems = new List<string>();
        problems.AddRange(OptionChecks.AtLeast("every", Every, 1));
        if (MaxAbsLoss is { } bound) problems.AddRange(OptionChecks.Positive("max_abs_loss", bound));
        return problems;
    }
}

/// <summary>Bounded unlearning by a divergence guard: a NaN/Inf loss or gradient norm, or a loss beyond
/// <see cref="DivergenceGuardOptions.MaxAbsLoss"/>, stops training and restores the checkpoint
/// <see cref="CheckpointTag"/>, which is saved before the first step and every k steps while training is healthy.</summary>
public sealed class DivergenceGuardController : IController
{
    /// <summary>Tag of the checkpoint of the last healthy weights.</summary>
    public const string CheckpointTag = "last-good";

    private readonly DivergenceGuardOptions _options;
    private int _lastGoodStep = -1;
    private bool _stopped;

    /// <summary>Creates the controller with validated options.</summary>
    public DivergenceGuardController(DivergenceGuardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException("invalid divergence-guard options: " + string.Join("; ", problems), nameof(options));
        _options = options;
    }

    /// <inheritdoc />
    public void OnTrainingStart(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.SaveCheckpoint(CheckpointTag);
        _lastGoodStep = 0;
    }

    /// <inheritdoc />
    public void OnStepEnd(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_stopped) return;
        var problem = Diagnose(context.Loss, context.GradientNorm);
        if (problem != null)
        {
            _stopped = true;
            context.Record("divergence_guard.stop_step", context.Step);
            var step = context.Step.ToString(CultureInfo.InvariantCulture);
            if (context.HasCheckpoint(CheckpointTag))
            {
                var from = _lastGoodStep == 0 ? "before the first step" : "after step " + _lastGoodStep.ToString(CultureInfo.InvariantCulture);
                context.RequestStop($"training diverged at step {step}: {problem}; restoring checkpoint '{CheckpointTag}' (weights from {from}).", CheckpointTag);
            }
            else
            {
                context.RequestStop($"training diverged at step {step}: {problem}; no '{CheckpointTag}' checkpoint exists, so nothing is restored.");
            }
            return;
        }
        if (context.Step % _options.Every == 0)
        {
            context.SaveCheckpoint(CheckpointTag);
            _lastGoodStep = context.Step;
        }
    }

    private string? Diagnose(double loss, double gradientNorm)
    {
        if (double.IsNaN(loss)) return "the loss is NaN";
        if (double.IsInfinity(loss)) return "the loss is " + (loss > 0 ? "+Inf" : "-Inf");
        if (double.IsNaN(gradientNorm)) return "the gradient norm is NaN";
        if (double.IsInfinity(gradientNorm)) return "the gradient norm is Inf";
        if (_options.MaxAbsLoss is { } bound && Math.Abs(loss) > bound)
            return $"|loss| = {Math.Abs(loss).ToString("0.####", CultureInfo.InvariantCulture)} exceeds max_abs_loss {bound.ToString("R", CultureInfo.InvariantCulture)}";
        return null;
    }
}
