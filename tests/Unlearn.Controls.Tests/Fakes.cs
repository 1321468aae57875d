using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Controls.Tests;

/// <summary>A model whose only content is its mixing coefficient; the fake contexts score it by α.</summary>
internal sealed class AlphaModel(double alpha) : ILanguageModel
{
    public double Alpha { get; set; } = alpha;

    public ModelDescription Description { get; } = new("gpt2", 8, 1, 16, 32);

    public TorchSharp.torch.nn.Module Module => throw new NotSupportedException("the calibration tests never touch weights");

    public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false) =>
        throw new NotSupportedException("the calibration tests never run the model");

    public Tensor Head(Tensor hidden) => throw new NotSupportedException("the calibration tests never run the model");
}

/// <summary>A calibration context whose metric is a scripted function of α. Like the host, it reuses one mixing model.</summary>
internal sealed class ScriptedCalibrationContext : CalibrationContext
{
    private readonly Func<double, double> _retain;
    private readonly Func<double, double>? _forget;
    private readonly double? _originalOverride;
    private readonly AlphaModel _original = new(0.0);
    private readonly AlphaModel _unlearned = new(1.0);
    private readonly AlphaModel _mixed = new(double.NaN);
    private readonly CancellationTokenSource _cancellation = new();

    public ScriptedCalibrationContext(Func<double, double> retain, Func<double, double>? forget = null, double? originalValue = null)
    {
        _retain = retain;
        _forget = forget;
        _originalOverride = originalValue;
    }

    public List<(double Alpha, string Metric, string Split, int? MaxItems, bool IsOriginal)> Evaluations { get; } = [];

    public List<double> Mixes { get; } = [];

    public List<string> Reports { get; } = [];

    public void Cancel() => _cancellation.Cancel();

    public override ILanguageModel Original => _original;

    public override ILanguageModel Unlearned => _unlearned;

    public override ILanguageModel Mix(double alpha)
    {
        Mixes.Add(alpha);
        _mixed.Alpha = alpha;
        return _mixed;
    }

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

    public override CancellationToken CancellationToken => _cancellation.Token;

    public override void Report(string message) => Reports.Add(message);
}

/// <summary>A training loop as controllers see it, with metric values scripted per step.</summary>
internal sealed class ScriptedControllerContext(int totalSteps) : ControllerContext
{
    private int _step;

    public Dictionary<int, double> Retain { get; init; } = [];

    public Dictionary<int, double> Forget { get; init; } = [];

    public double OriginalRetain { get; init; } = 0.8;

    public Func<int, double> LossAt { get; init; } = _ => 1.0;

    public Func<int, double> GradientNormAt { get; init; } = _ => 1.0;

    /// <summary>tag → the step whose weights it holds (0 = before the first step).</summary>
    public Dictionary<string, int> Checkpoints { get; } = [];

    public List<(string Tag, int Step)> Saves { get; } = [];

    public List<(int Step, string Metric, string Split, int? MaxItems)> EvaluationLog { get; } = [];

    public List<(int Step, string Key, double Value)> Records { get; } = [];

    public (int Step, string Reason, string? Restore)? Stop { get; private set; }

    public override int Step => _step;

    public override int TotalSteps => totalSteps;

    public override double Loss => LossAt(_step);

    public override double GradientNorm => GradientNormAt(_step);

    public override double LearningRate => 1e-5 * LearningRateScale;

    public override double LearningRateScale { get; set; } = 1.0;

    public override double? GradientNormCeiling { get; set; }

    public override double Evaluate(string metric, string split, int? maxItems = null)
    {
        EvaluationLog.Add((_step, metric, split, maxItems));
        var table = split == "forget" ? Forget : Retain;
        return table.TryGetValue(_step, out var v) ? v : throw new InvalidOperationException($"no {split} value scripted for step {_step}");
    }

    public override double EvaluateOriginal(string metric, string split, int? maxItems = null) => OriginalRetain;

    public override void SaveCheckpoint(string tag)
    {
        Checkpoints[tag] = _step;
        Saves.Add((tag, _step));
    }

    public override bool HasCheckpoint(string tag) => Checkpoints.ContainsKey(tag);

    public override void RequestStop(string reason, string? restoreCheckpoint = null)
    {
        if (restoreCheckpoint != null && !Checkpoints.ContainsKey(restoreCheckpoint))
            throw new InvalidOperationException("restore of a checkpoint never saved: " + restoreCheckpoint);
        Stop ??= (_step, reason, restoreCheckpoint);
    }

    public override void Record(string key, double value) => Records.Add((_step, key, value));

    /// <summary>The step whose weights the run continues with (the restored checkpoint, or the stop step).</summary>
    public int? KeptStep => Stop is { } s ? (s.Restore is { } tag ? Checkpoints[tag] : s.Step) : null;

    public IReadOnlyList<double> Recorded(string key) => Records.Where(r => r.Key == key).Select(r => r.Value).ToList();

    /// <summary>Drives the controllers the way the host's loop does.</summary>
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
