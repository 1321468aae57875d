using Unlearn.Training;
using Unlearn.Plugins;

namespace Unlearn.Host.Running;

/// <summary>One metric on one split for one model, with per-item values.</summary>
public sealed record MetricRecord(string Model, string Split, string Metric, double Value, IReadOnlyList<double> Items, IReadOnlyDictionary<string, double> Extras)
{
    /// <summary>The label of the attack the model was evaluated under (an entry of <c>attacks</c>), or "none" for clean.</summary>
    public string Attack { get; init; } = Configuration.AttacksBinder.None;
}

/// <summary>Calibration outcome as the report shows it; <paramref name="Settings"/> is what the calibrator says it
/// measured (<see cref="CalibrationResult.Bar"/>), null when it does not say.</summary>
public sealed record CalibrationRecord(string Method, double Alpha, double OriginalValue, double Target, int Evaluations, double Seconds, string Note,
    IReadOnlyList<CalibrationPoint> Curve, Reporting.CalibrationSettings? Settings = null);

/// <summary>A plugin used by the run (for the manifest); <paramref name="As"/> is the name a metric use's results go by
/// when the pipeline gave one (<c>as:</c>).</summary>
public sealed record PluginRecord(string Kind, string Name, string Assembly, string Version, string Sha256, string Origin, string Options, string? As = null);

/// <summary>Everything a finished run produced.</summary>
public sealed record RunResult
{
    /// <summary>Pipeline name.</summary>
    public required string Name { get; init; }
    /// <summary>Sweep label, "" for a single run.</summary>
    public string SweepLabel { get; init; } = "";
    /// <summary>Unlearning method, or null.</summary>
    public string? Method { get; init; }
    /// <summary>Method options (JSON).</summary>
    public string? MethodOptions { get; init; }
    /// <summary>Seed.</summary>
    public required int Seed { get; init; }
    /// <summary>All metric values of the clean models.</summary>
    public required IReadOnlyList<MetricRecord> Metrics { get; init; }
    /// <summary>The metric values under each attack (<see cref="MetricRecord.Attack"/> set), in attack order.</summary>
    public IReadOnlyList<MetricRecord> AttackMetrics { get; init; } = [];
    /// <summary>The direction each metric use's metric declares (<see cref="IMetric.Direction"/>), by use name: the
    /// report marks the rows ↑ or ↓.</summary>
    public IReadOnlyDictionary<string, MetricDirection> Directions { get; init; } = new Dictionary<string, MetricDirection>();
    /// <summary>Calibration, if any.</summary>
    public CalibrationRecord? Calibration { get; init; }
    /// <summary>Unlearning record, if any.</summary>
    public UnlearnRecord? Unlearning { get; init; }
    /// <summary>Stage timings.</summary>
    public required IReadOnlyList<StageTiming> Timings { get; init; }
    /// <summary>Plugins used.</summary>
    public required IReadOnlyList<PluginRecord> Plugins { get; init; }
    /// <summary>Model folders used (role -> path).</summary>
    public required IReadOnlyDictionary<string, string> ModelFolders { get; init; }
    /// <summary>Stage cache keys (stage -> key).</summary>
    public required IReadOnlyDictionary<string, string> StageKeys { get; init; }
    /// <summary>Whether denormal floats were flushed to zero in this run's training and evaluation.</summary>
    public bool DenormalsFlushed { get; init; }

    /// <summary>Why the run failed although its report was written (unlearning diverged), or null.</summary>
    public string? Failure { get; init; }

    /// <summary>Aggregate of a metric, or null.</summary>
    public double? Value(string model, string split, string metric) =>
        Metrics.FirstOrDefault(m => m.Model == model && m.Split == split && m.Metric == metric)?.Value;
}

/// <summary>A value a controller recorded at a step.</summary>
public sealed record TrajectoryPoint(int Step, string Key, double Value);

/// <summary>The record of an unlearning run.</summary>
/// <param name="Steps">Optimiser steps done.</param>
/// <param name="PlannedSteps">Steps planned.</param>
/// <param name="StopReason">Why it stopped early, if it did.</param>
/// <param name="RestoredCheckpoint">Checkpoint restored at the end, if any.</param>
/// <param name="TokensPerSecond">Throughput.</param>
/// <param name="History">Per-step loss, gradient norm, learning rate and objective logs.</param>
/// <param name="Trajectory">Values recorded by controllers.</param>
/// <param name="Throughput">Real tokens/s next to the benchmark at the same shape, and the late/early step ratio.</param>
public sealed record UnlearnRecord(int Steps, int PlannedSteps, string? StopReason, string? RestoredCheckpoint, double TokensPerSecond,
    IReadOnlyList<StepReport> History, IReadOnlyList<TrajectoryPoint> Trajectory, StageThroughput? Throughput = null);

/// <summary>The models of a run: the target (θ_orig), the optional retain model, and their stage keys (used as
/// model identities in caches and manifests).</summary>
public sealed record LearnedModels(string TargetDir, string TargetKey, string? RetainDir, string? RetainKey, IReadOnlyList<StageTiming> Timings);

/// <summary>How long a stage took and whether it came from the cache.</summary>
public sealed record StageTiming(string Stage, double Seconds, bool Cached);
