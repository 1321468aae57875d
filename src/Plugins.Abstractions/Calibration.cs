namespace Unlearn.Plugins;

/// <summary>What a calibrator works with. Implemented by the host.</summary>
public abstract class CalibrationContext
{
    /// <summary>θ_orig, the model before unlearning: the host may return its mixing model set to α = 0 (exactly θ_orig),
    /// so use it before the next <see cref="Original"/>, <see cref="Unlearned"/> or <see cref="Mix"/>.</summary>
    public abstract ILanguageModel Original { get; }

    /// <summary>θ_unl, the unlearned model: the host may return its mixing model set to α = 1 (exactly θ_unl), so use
    /// it before the next <see cref="Original"/>, <see cref="Unlearned"/> or <see cref="Mix"/>.</summary>
    public abstract ILanguageModel Unlearned { get; }

    /// <summary>Sets the host's preallocated mixing model to θ(α) = (1 − α)·θ_orig + α·θ_unl and returns it.
    /// The same instance is reused for every α (and may be the one <see cref="Original"/> and <see cref="Unlearned"/>
    /// return): no full copy per call.</summary>
    public abstract ILanguageModel Mix(double alpha);

    /// <summary>A metric's aggregate on a model and split; <paramref name="maxItems"/> limits the split to a probe.
    /// Tokenised batches are reused across calls.</summary>
    public abstract double Evaluate(ILanguageModel model, string metric, string split, int? maxItems = null);

    /// <summary>Cancelled when the user interrupts the run.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>Reports progress text (e.g. "α=0.5 retain=0.81").</summary>
    public abstract void Report(string message);
}

/// <summary>One visited α.</summary>
/// <param name="Alpha">The mixing coefficient.</param>
/// <param name="Retain">The calibration metric on the retain split.</param>
/// <param name="Forget">The metric on the forget split, when the calibrator measures it.</param>
/// <param name="NonMonotone">True when this point breaks monotonicity against an earlier visited point.</param>
public sealed record CalibrationPoint(double Alpha, double Retain, double? Forget, bool NonMonotone);

/// <summary>The outcome of calibration.</summary>
/// <param name="Alpha">α*, the coefficient of the final model.</param>
/// <param name="OriginalValue">M(θ_orig).</param>
/// <param name="Target">τ·M(θ_orig).</param>
/// <param name="Curve">Every visited α in visiting order.</param>
/// <param name="Evaluations">Number of metric evaluations spent.</param>
/// <param name="Note">A sentence for the report (e.g. "unlearned model already meets the bar").</param>
public sealed record CalibrationResult(double Alpha, double OriginalValue, double Target, IReadOnlyList<CalibrationPoint> Curve, int Evaluations, string Note)
{
    /// <summary>What the bar was set on, for reports and charts; null when the calibrator does not say. SDK 1.5.</summary>
    public CalibrationBar? Bar { get; init; }
}

/// <summary>What a calibration measures. SDK 1.5.</summary>
/// <param name="Metric">The metric M the bar τ·M(θ_orig) is set on (a name as the host's metric lookups take it).</param>
/// <param name="Split">The split M is measured on.</param>
/// <param name="ForgetSplit">The split M is also recorded on at every visited α (<see cref="CalibrationPoint.Forget"/>), or null.</param>
/// <param name="Tau">τ, the target fraction of M(θ_orig).</param>
public sealed record CalibrationBar(string Metric, string Split, string? ForgetSplit, double Tau);

/// <summary>Turns θ_orig and θ_unl into the final model; the host then builds θ(α*).</summary>
public interface ICalibrator
{
    /// <summary>Finds α*. Throws <see cref="CalibrationException"/> when no α meets the bar.</summary>
    CalibrationResult Calibrate(CalibrationContext context);
}

/// <summary>Calibration cannot succeed (for instance even θ_orig misses the bar); the message says why.</summary>
public sealed class CalibrationException(string message) : Exception(message);
