using System.Globalization;

namespace Unlearn.Plugins.Controls.EarlyStopping;

/// <summary>Early stopping (spec §5): every k steps (and at the last step) the retain probe is evaluated against the
/// bar τ·M(θ_orig). Weights that meet the bar are checkpointed; the first evaluation below the bar stops training and
/// restores the checkpoint chosen by <see cref="EarlyStoppingOptions.Keep"/>. Reaching the forget goal stops training
/// and keeps the current weights. Every evaluated value is added to the trajectory.</summary>
/// <remarks>Trajectory keys: <c>early_stopping.original</c>, <c>early_stopping.bar</c> (at the start),
/// <c>early_stopping.retain</c>, <c>early_stopping.forget</c> (at each evaluation), <c>early_stopping.stop_step</c>.</remarks>
public sealed class EarlyStoppingController : IController
{
    /// <summary>Checkpoint tag of the last evaluated weights that met the bar.</summary>
    public const string LastAboveBarTag = "early-stopping-last-above-bar";

    /// <summary>Checkpoint tag of the best evaluated weights that met the bar.</summary>
    public const string BestTag = "early-stopping-best";

    private readonly EarlyStoppingOptions _options;
    private double _bar = double.NaN;
    private Checkpoint? _lastAboveBar;
    private Checkpoint? _best;
    private bool _started;
    private bool _stopped;

    /// <summary>Creates the controller with validated options.</summary>
    public EarlyStoppingController(EarlyStoppingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException("invalid early-stopping options: " + string.Join("; ", problems), nameof(options));
        _options = options;
    }

    /// <summary>τ·M(θ_orig), known once training has started.</summary>
    public double Bar => _bar;

    /// <inheritdoc />
    public void OnTrainingStart(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var original = context.EvaluateOriginal(_options.Metric, _options.Split, _options.ProbeSize);
        _bar = _options.Tau * original;
        _started = true;
        context.Record("early_stopping.original", original);
        context.Record("early_stopping.bar", _bar);
    }

    /// <inheritdoc />
    public void OnStepEnd(ControllerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_stopped) return;
        var step = context.Step;
        if (step % _options.Every != 0 && step != context.TotalSteps) return;
        if (!_started) OnTrainingStart(context);

        var retain = context.Evaluate(_options.Metric, _options.Split, _options.ProbeSize);
        context.Record("early_stopping.retain", retain);
        double? forget = null;
        if (_options.ForgetMetric is { } forgetMetric)
        {
            forget = context.Evaluate(forgetMetric, _options.ForgetSplit, _options.ProbeSize);
            context.Record("early_stopping.forget", forget.Value);
        }

        if (!(retain >= _bar))
        {
            Stop(context, step, BelowBarReason(step, retain), RestoreTag());
            return;
        }
        if (forget is { } f && _options.ForgetGoal is { } goal && f <= goal)
        {
            Stop(context, step, Text($"forget goal reached at step {step}: {_options.ForgetMetric} on {_options.ForgetSplit} {f:0.####} <= {goal:0.####} (retain {retain:0.####} >= bar {_bar:0.####}); keeping the current weights."), null);
            return;
        }

        var current = new Checkpoint(step, retain, forget);
        switch (_options.Keep)
        {
            case CheckpointSelection.LastAboveBar:
                context.SaveCheckpoint(LastAboveBarTag);
                _lastAboveBar = current;
                break;
            case CheckpointSelection.Best:
                if (_best == null || current.IsBetterThan(_best))
                {
                    context.SaveCheckpoint(BestTag);
                    _best = current;
                }
                if (step == context.TotalSteps && !ReferenceEquals(_best, current))
                    Stop(context, step, Text($"training finished; restoring the best checkpoint above the bar (step {_best.Step}, {Describe(_best)})."), BestTag);
                break;
            case CheckpointSelection.Last:
                break;
        }
    }

    private string? RestoreTag() => _options.Keep switch
    {
        CheckpointSelection.LastAboveBar when _lastAboveBar != null => LastAboveBarTag,
        CheckpointSelection.Best when _best != null => BestTag,
        _ => null,
    };

    private string BelowBarReason(int step, double retain)
    {
        var head = Text($"{_options.Metric} on {_options.Split} fell below the bar at step {step}: {retain:0.####} < {_options.Tau} x M(original) = {_bar:0.####}");
        return _options.Keep switch
        {
            CheckpointSelection.Last => head + "; keeping the current weights (keep: last).",
            CheckpointSelection.LastAboveBar when _lastAboveBar is { } c => head + Text($"; restoring the last checkpoint above the bar (step {c.Step}, {Describe(c)})."),
            CheckpointSelection.Best when _best is { } c => head + Text($"; restoring the best checkpoint above the bar (step {c.Step}, {Describe(c)})."),
            _ => head + "; no evaluated checkpoint met the bar, so nothing is restored and the current weights are kept.",
        };
    }

    private string Describe(Checkpoint c) => c.Forget is { } f
        ? Text($"retain {c.Retain:0.####}, forget {f:0.####}")
        : Text($"retain {c.Retain:0.####}");

    private void Stop(ControllerContext context, int step, string reason, string? restore)
    {
        _stopped = true;
        context.Record("early_stopping.stop_step", step);
        context.RequestStop(reason, restore);
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>An evaluated point that met the bar.</summary>
    private sealed record Checkpoint(int Step, double Retain, double? Forget)
    {
        /// <summary>Lower forget wins (ties: higher retain); without a forget metric, higher retain wins. Full ties keep
        /// the earlier checkpoint.</summary>
        public bool IsBetterThan(Checkpoint other)
        {
            if (Forget is { } f && other.Forget is { } g && f != g) return f < g;
            return Retain > other.Retain;
        }
    }
}
