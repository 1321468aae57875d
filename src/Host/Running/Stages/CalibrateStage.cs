using System.Text.Json;
using Unlearn.Host.Configuration;
using Unlearn.Host.Evaluation;
using Unlearn.Host.Plugins;
using Unlearn.Host.Reporting;
using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Training;

namespace Unlearn.Host.Running.Stages;

/// <summary>Calibration: the calibrator finds α* for θ(α) = (1 − α)·θ_orig + α·θ_unl. Cached by what α* depends on
/// (the original and unlearned weights, the calibrator and its options, the metrics and data it measures with), so a
/// changed report setting or a new metric does not calibrate again.</summary>
public sealed class CalibrateStage : IStage
{
    private const string RecordFile = "calibration.json";

    /// <inheritdoc />
    public string Name => "calibrate";

    /// <inheritdoc />
    public void Run(RunContext context)
    {
        if (context.Failure != null) return;
        var calibrator = context.Plan.Calibrator!;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var key = Key(context);
        var (dir, reused) = context.Cache.GetOrBuild("calibrations", key, staging =>
        {
            var calibration = new HostCalibrationContext(context.Mixer(), context.Setup, context.Cancellation, context.Log);
            var outcome = PluginCall.Run(calibrator.Descriptor, "Calibrate",
                () => PluginRegistry.CreateWithOptions<ICalibrator>(calibrator.Descriptor, calibrator.Options).Calibrate(calibration));
            var record = new CalibrationRecord(calibrator.Descriptor.Name, outcome.Alpha, outcome.OriginalValue, outcome.Target, outcome.Evaluations,
                clock.Elapsed.TotalSeconds, outcome.Note, outcome.Curve, CalibrationSettings.Of(outcome.Bar));
            AtomicFile.WriteAllText(Path.Combine(staging, RecordFile), JsonSerializer.Serialize(record, AtomicFile.Json));
        });
        var record = JsonSerializer.Deserialize<CalibrationRecord>(File.ReadAllText(Path.Combine(dir, RecordFile)), AtomicFile.Json)!;
        context.Calibration = record;
        context.ModelKeys[ModelRoles.Calibrated] = key;
        context.StageKeys[Name] = key;
        context.Timings.Add(new StageTiming(Name, clock.Elapsed.TotalSeconds, reused));
        context.Log.Info(reused
            ? $"calibrate: reused α* = {record.Alpha:F4} ({dir})"
            : $"calibrate: α* = {record.Alpha:F4} ({record.Evaluations} evaluations, {record.Seconds:F1} s). {record.Note}");
    }

    private static string Key(RunContext c)
    {
        var (spec, calibrator) = (c.Spec, c.Plan.Calibrator!);
        return StageCache.Key("calibrate", 2, c.ModelKeys[ModelRoles.Original], c.ModelKeys[ModelRoles.Unlearned], c.Data.Key,
            calibrator.Descriptor.Name, calibrator.OptionsJson, calibrator.Descriptor.Assembly.Sha256,
            // The metrics its options name, with the options evaluate.metrics gives them: what the calibration measures.
            EvaluateStage.Settings(c), c.Plan.MetricsMeasuredBy(calibrator).ToList());
    }
}

/// <summary>The host's <see cref="CalibrationContext"/>: θ_orig, θ_unl and every mix are the mixer's one model, set to
/// α = 0, 1 or α (exact at both ends), so calibration holds one model in memory.</summary>
public sealed class HostCalibrationContext(IModelMixer mixer, Func<int?, EvaluationSetup> setup, CancellationToken ct, RunLog log) : CalibrationContext
{
    /// <inheritdoc />
    public override ILanguageModel Original => mixer.Mix(0);
    /// <inheritdoc />
    public override ILanguageModel Unlearned => mixer.Mix(1);
    /// <inheritdoc />
    public override CancellationToken CancellationToken => ct;

    /// <inheritdoc />
    public override ILanguageModel Mix(double alpha) => mixer.Mix(alpha);

    /// <inheritdoc />
    public override double Evaluate(ILanguageModel model, string metric, string split, int? maxItems = null) =>
        new ModelEvaluator("calibration", () => model, setup(maxItems), _ => null, ct).Result(metric, split).Value;

    private Spectre.Console.ProgressTask? _task;

    /// <inheritdoc />
    public override void Report(string message)
    {
        _task ??= log.StartTask("calibrate", 12);
        _task?.Increment(1);
        log.Info("calibrate: " + message);
    }
}
