using Unlearn.Host.Configuration;
using Unlearn.Host.Reporting;
using Unlearn.Host.Running;
using Unlearn.Plugins;
using Unlearn.Training;

namespace Unlearn.Reports.Tests;

/// <summary>Hand-built runs: a pipeline bound from YAML and a <see cref="RunResult"/> whose records are written by hand
/// (no model is trained), so every number in the written files is known.</summary>
internal static class Fixtures
{
    public const string Yaml = """
        name: snap
        description: A hand-built run for the report snapshot tests.
        seed: 3
        model:
          architecture: tiny
        data:
          world: { authors: 10, seed: 0 }
          forget: forget10
        learn:
          recipe: tiny-world
        unlearn:
          method: ga
          trainer: { lr: 3e-4, epochs: 2, batch_size: 8 }
        calibrate:
          method: model-mixing
          options: { metric: es, split: retain, tau: 0.9 }
        evaluate:
          splits: [forget, retain]
          metrics: [es, es-paraphrased]
        report:
          charts: true
        """;

    public static readonly DateTime Started = new(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    public static PipelineSpec Spec(string yaml = Yaml) =>
        PipelineBinder.Bind(PipelineDocument.ParseText(new StringReader(yaml), "test.yaml"), "test.yaml", []);

    /// <summary>θ_orig's ES on retain is 0.96, so at τ = 0.9 the target is 0.864. The binary search visits these α in
    /// this order; α = 0.1640625 is flagged non-monotone (its retain 0.892 exceeds 0.887 at the smaller α 0.15625).</summary>
    public static IReadOnlyList<CalibrationPoint> Curve { get; } =
    [
        new(1.0, 0.08, 0.06, false),
        new(0.0, 0.96, 1.0, false),
        new(0.5, 0.17, 0.08, false),
        new(0.25, 0.71, 0.23, false),
        new(0.125, 0.913, 0.81, false),
        new(0.1875, 0.856, 0.53, false),
        new(0.15625, 0.887, 0.69, false),
        new(0.171875, 0.86, 0.6, false),
        new(0.1640625, 0.892, 0.64, true),
    ];

    public static CalibrationRecord Calibration(double alpha = 0.1640625, IReadOnlyList<CalibrationPoint>? curve = null) =>
        new("model-mixing", alpha, 0.96, 0.864, (curve ?? Curve).Count, 2.5,
            "binary search over α: α* = 0.1640625 (es on retain 0.892 >= target 0.864).", curve ?? Curve, new CalibrationSettings("es", "retain", "forget", 0.9));

    public static UnlearnRecord Unlearning()
    {
        var empty = new Dictionary<string, double>();
        StepReport Step(int step, double loss, double norm, bool skipped = false) =>
            new(step, 8, loss, norm, 3e-4 * step / 8, empty, 512, skipped);
        return new UnlearnRecord(6, 8, "early_stopping: retain es 0.80 below the bar 0.864.", "step-4", 1234.5,
            [Step(1, -0.05, 0.25), Step(2, -0.31, 1.5), Step(3, -0.9, 4.25), Step(4, -2.5, 9.0), Step(5, double.NaN, double.NaN, skipped: true), Step(6, -6.75, 17.5)],
            [
                new TrajectoryPoint(0, "early_stopping.original", 0.96),
                new TrajectoryPoint(0, "early_stopping.bar", 0.864),
                new TrajectoryPoint(2, "early_stopping.retain", 0.95),
                new TrajectoryPoint(2, "early_stopping.forget", 0.9),
                new TrajectoryPoint(4, "early_stopping.retain", 0.88),
                new TrajectoryPoint(4, "early_stopping.forget", 0.55),
                new TrajectoryPoint(6, "early_stopping.retain", 0.8),
                new TrajectoryPoint(6, "early_stopping.forget", 0.2),
                new TrajectoryPoint(6, "gradient_ceiling.norm", 17.5),
            ]);
    }

    /// <summary>A run with ES values per model role. Items are four values around each aggregate.</summary>
    public static RunResult Result(string name = "snap", string? method = "ga", string sweep = "",
        double calibratedRetain = 0.892, double calibratedForget = 0.64, double calibratedPerturbForget = 0.21,
        double rawRetain = 0.08, double rawForget = 0.06, CalibrationRecord? calibration = null, bool calibrated = true)
    {
        var metrics = new List<MetricRecord>();
        void Add(string model, string split, string metric, double value) =>
            metrics.Add(new MetricRecord(model, split, metric, value, [value + 0.01, value - 0.01, value, value],
                metric == "es" ? new Dictionary<string, double> { ["items"] = 4 } : new Dictionary<string, double>()));
        Add(ModelRoles.Original, "forget", "es", 1.0);
        Add(ModelRoles.Original, "retain", "es", 0.96);
        Add(ModelRoles.Original, "forget", "es-paraphrased", 0.47);
        Add(ModelRoles.Original, "retain", "es-paraphrased", 0.36);
        Add(ModelRoles.Unlearned, "forget", "es", rawForget);
        Add(ModelRoles.Unlearned, "retain", "es", rawRetain);
        Add(ModelRoles.Unlearned, "forget", "es-paraphrased", 0.05);
        Add(ModelRoles.Unlearned, "retain", "es-paraphrased", 0.07);
        if (calibrated)
        {
            Add(ModelRoles.Calibrated, "forget", "es", calibratedForget);
            Add(ModelRoles.Calibrated, "retain", "es", calibratedRetain);
            Add(ModelRoles.Calibrated, "forget", "es-paraphrased", calibratedPerturbForget);
            Add(ModelRoles.Calibrated, "retain", "es-paraphrased", 0.3);
        }
        return new RunResult
        {
            Name = name,
            SweepLabel = sweep,
            Method = method,
            MethodOptions = method == null ? null : """{"Temperature":1,"LikelihoodCap":1,"Bound":null}""",
            Seed = 3,
            Metrics = metrics,
            Calibration = calibrated ? calibration ?? Calibration() : null,
            Unlearning = method == null ? null : Unlearning(),
            Timings = [new StageTiming("data", 0.12, false), new StageTiming("unlearn", 12.34, true), new StageTiming("calibrate", 2.5, false), new StageTiming("evaluate", 3.21, false)],
            Plugins =
            [
                new PluginRecord("objective", method ?? "none", "Unlearn.Plugins.GradientAscent", "0.1.0", new string('a', 64), "built-in", """{"Temperature":1}"""),
                new PluginRecord("calibrator", "model-mixing", "Unlearn.Plugins.Controls", "0.1.0", new string('b', 64), "built-in", """{"metric":"es","split":"retain","forget_split":"forget","tau":0.9}"""),
            ],
            ModelFolders = new Dictionary<string, string> { [ModelRoles.Original] = "/cache/target/0000" },
            StageKeys = new Dictionary<string, string> { ["data"] = "d1", ["target"] = "t1" },
        };
    }

    /// <summary>Writes a run into <paramref name="path"/> (created) with <see cref="ResultWriter"/>.</summary>
    public static RunFolder WriteRun(string path, RunResult result, PipelineSpec? spec = null)
    {
        Directory.CreateDirectory(path);
        var folder = RunFolder.Open(path);
        spec ??= Spec();
        ResultWriter.WritePipeline(folder, spec);
        ResultWriter.WriteAll(folder, spec, result, Started, 17.0);
        return folder;
    }

    /// <summary>Text with the temporary root replaced, so snapshots hold no machine paths.</summary>
    public static string Stable(string text, string root) =>
        text.Replace(root, "<root>", StringComparison.Ordinal).Replace("\r\n", "\n", StringComparison.Ordinal);
}
