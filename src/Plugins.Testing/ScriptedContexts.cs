using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Plugins.Testing;

/// <summary>A model whose only content is its mixing coefficient; the scripted calibration context scores it by α.</summary>
/// <param name="alpha">Its mixing coefficient.</param>
public sealed class AlphaModel(double alpha) : ILanguageModel
{
    /// <summary>The mixing coefficient this model stands for.</summary>
    public double Alpha { get; set; } = alpha;

    /// <inheritdoc />
    public ModelDescription Description { get; } = new("gpt2", 8, 1, 16, 32);

    /// <summary>Not available: the fake has no weights.</summary>
    public TorchSharp.torch.nn.Module Module => throw new NotSupportedException("the calibration tests never touch weights");

    /// <summary>Not available: the fake is never run.</summary>
    public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false) =>
        throw new NotSupportedException("the calibration tests never run the model");

    /// <summary>Not available: the fake is never run.</summary>
    public Tensor Head(Tensor hidden) => throw new NotSupportedException("the calibration tests never run the model");
}

/// <summary>A calibration context whose metric is a scripted function of α, for unit-testing a calibrator: it records
/// every evaluation, mix and report. Like the host, it reuses one mixing model.</summary>
public sealed class ScriptedCalibrationContext : CalibrationContext
{
    private readonly Func<double, double> _retain;
    private readonly Func<double, double>? _forget;
    private readonly double? _originalOverride;
    private readonly AlphaModel _original = new(0.0);
    private readonly AlphaModel _unlearned = new(1.0);
    private readonly AlphaModel _mixed = new(double.NaN);
    private readonly CancellationTokenSource _cancellation = new();

    /// <summary>Scripts the retain (and optionally forget) metric as a function of α; <paramref name="originalValue"/>
    /// overrides the retain value of <see cref="Original"/>, to test a metric that disagrees with itself.</summary>
    public ScriptedCalibrationContext(Func<double, double> retain, Func<double, double>? forget = null, double? originalValue = null)
    {
        _retain = retain;
        _forget = forget;
        _originalOverride = originalValue;
    }

    /// <summary>Every evaluation asked for, in order.</summary>
    public List<(double Alpha, string Metric, string Split, int? MaxItems, bool IsOriginal)> Evaluations { get; } = [];

    /// <summary>Every α mixed, in order.</summary>
    public List<double> Mixes { get; } = [];

    /// <summary>Every progress message reported.</summary>
    public List<string> Reports { get; } = [];

    /// <summary>Cancels <see cref="CancellationToken"/>.</summary>
    public void Cancel() => _cancellation.Cancel();

    /// <inheritdoc />
    public override ILanguageModel Original => _original;

    /// <inheritdoc />
    public override ILanguageModel Unlearned => _unlearned;

    /// <inheritdoc />
    public override ILanguageModel Mix(double alpha)
    {
        Mixes.Add(alpha);
        _mixed.Alpha = alpha;
        return _mixed;
    }

    /// <inheritdoc />
    public override double Evaluate(ILanguageModel model, string metric, string split, int? maxItems = null)
    {
        var alpha = ((AlphaModel)model).Alpha;
        var isOriginal = ReferenceEquals(model, _original);
        Evaluations.Add((alpha, metric, split, maxItems, isOriginal));
        if (isOriginal && _originalOverride is { } value && split == "retain") return value;
        return split switch
        {
            "retain" => _retain(alpha),
            "forget" => _forget?.Invoke(alpha) ?? throw new InvalidOperationException("no forget metric scripted"),
            _ => throw new ArgumentException("unknown split " + split),
        };
    }

    /// <inheritdoc />
    public override CancellationToken CancellationToken => _cancellation.Token;

    /// <inheritdoc />
    public override void Report(string message) => Reports.Add(message);
}

/// <summary>A training loop as controllers see it, with metric values scripted per step, for unit-testing a
/// controller: <see cref="Run"/> drives controllers as the host's loop does and records what they asked for.</summary>
/// <param name="totalSteps">The steps the scripted run has.</param>
public sealed class ScriptedControllerContext(int totalSteps) : ControllerContext
{
    private int _step;

    /// <summary>Step → the retain metric's value at that step.</summary>
    public Dictionary<int, double> Retain { get; init; } = [];

    /// <summary>Step → the forget metric's value at that step.</summary>
    public Dictionary<int, double> Forget { get; init; } = [];

    /// <summary>What <see cref="EvaluateOriginal"/> returns.</summary>
    public double OriginalRetain { get; init; } = 0.8;

    /// <summary>The loss at a step.</summary>
    public Func<int, double> LossAt { get; init; } = _ => 1.0;

    /// <summary>The gradient norm at a step.</summary>
    public Func<int, double> GradientNormAt { get; init; } = _ => 1.0;

    /// <summary>tag → the step whose weights it holds (0 = before the first step).</summary>
    public Dictionary<string, int> Checkpoints { get; } = [];

    /// <summary>Every checkpoint save, in order.</summary>
    public List<(string Tag, int Step)> Saves { get; } = [];

    /// <summary>Every evaluation asked for, in order.</summary>
    public List<(int Step, string Metric, string Split, int? MaxItems)> EvaluationLog { get; } = [];

    /// <summary>Every recorded value, in order.</summary>
    public List<(int Step, string Key, double Value)> Records { get; } = [];

    /// <summary>The first stop requested, if any.</summary>
    public (int Step, string Reason, string? Restore)? Stop { get; private set; }

    /// <inheritdoc />
    public override int Step => _step;

    /// <inheritdoc />
    public override int TotalSteps => totalSteps;

    /// <inheritdoc />
    public override double Loss => LossAt(_step);

    /// <inheritdoc />
    public override double GradientNorm => GradientNormAt(_step);

    /// <inheritdoc />
    public override double LearningRate => 1e-5 * LearningRateScale;

    /// <inheritdoc />
    public override double LearningRateScale { get; set; } = 1.0;

    /// <inheritdoc />
    public override double? GradientNormCeiling { get; set; }

    /// <inheritdoc />
    public override double Evaluate(string metric, string split, int? maxItems = null)
    {
        EvaluationLog.Add((_step, metric, split, maxItems));
        var table = split == "forget" ? Forget : Retain;
        return table.TryGetValue(_step, out var v) ? v : throw new InvalidOperationException($"no {split} value scripted for step {_step}");
    }

    /// <inheritdoc />
    public override double EvaluateOriginal(string metric, string split, int? maxItems = null) => OriginalRetain;

    /// <inheritdoc />
    public override void SaveCheckpoint(string tag)
    {
        Checkpoints[tag] = _step;
        Saves.Add((tag, _step));
    }

    /// <inheritdoc />
    public override bool HasCheckpoint(string tag) => Checkpoints.ContainsKey(tag);

    /// <inheritdoc />
    public override void RequestStop(string reason, string? restoreCheckpoint = null)
    {
        if (restoreCheckpoint != null && !Checkpoints.ContainsKey(restoreCheckpoint))
            throw new InvalidOperationException("restore of a checkpoint never saved: " + restoreCheckpoint);
        Stop ??= (_step, reason, restoreCheckpoint);
    }

    /// <inheritdoc />
    public override void Record(string key, double value) => Records.Add((_step, key, value));

    /// <summary>The step whose weights the run continues with (the restored checkpoint, or the stop step).</summary>
    public int? KeptStep => Stop is { } s ? (s.Restore is { } tag ? Checkpoints[tag] : s.Step) : null;

    /// <summary>The values recorded under a key, in order.</summary>
    public IReadOnlyList<double> Recorded(string key) => Records.Where(r => r.Key == key).Select(r => r.Value).ToList();

    /// <summary>Drives the controllers the way the host's loop does: start, one end-of-step call per step until a stop,
    /// then end.</summary>
    public ScriptedControllerContext Run(params IController[] controllers)
    {
        foreach (var c in controllers) c.OnTrainingStart(this);
        for (_step = 1; _step <= totalSteps; _step++)
        {
            foreach (var c in controllers) c.OnStepEnd(this);
            if (Stop != null) break;
        }
        if (_step > totalSteps) _step = totalSteps;
        foreach (var c in controllers) c.OnTrainingEnd(this);
        return this;
    }
}
