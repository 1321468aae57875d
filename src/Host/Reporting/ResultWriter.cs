using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CsvHelper;
using Unlearn.Host.Configuration;
using Unlearn.Host.Running;

namespace Unlearn.Host.Reporting;

/// <summary>Writes a finished run into its folder: the resolved pipeline, manifest, summary (JSON and CSV), per-item
/// values (long CSV), calibration curve, training trajectory and the Markdown report. Schema: docs/results-schema.md.</summary>
public static class ResultWriter
{
    /// <summary>Version of the files' schema; bumped on any incompatible change.</summary>
    public const int SchemaVersion = 2;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Rounds for files that are compared across runs (snapshots, reviews).</summary>
    public static double Round(double v) => double.IsFinite(v) ? Math.Round(v, 4) : v;

    /// <summary>Writes the resolved pipeline (first, so even a failed run documents what it tried).</summary>
    public static void WritePipeline(RunFolder folder, PipelineSpec spec)
    {
        if (!folder.Has("pipeline.yaml")) folder.Write("pipeline.yaml", PipelineDocument.ToYaml(spec.Resolved));
    }

    /// <summary>The run's results in one file, written before every file derived from them: a run whose report writing
    /// was cut short (a crash, a full disk) is finished from it by <c>--resume</c> without calibrating or evaluating again.</summary>
    public const string ResultFile = "result.json";

    /// <summary>What <see cref="ResultFile"/> holds.</summary>
    public sealed record StoredResult(RunResult Result, DateTime Started, double Seconds);

    /// <summary>Reads the stored results of an unfinished folder, or null when the run did not get that far.</summary>
    public static StoredResult? ReadStored(RunFolder folder)
    {
        if (!folder.Has(ResultFile)) return null;
        try
        {
            return JsonSerializer.Deserialize<StoredResult>(File.ReadAllText(folder.File(ResultFile)), Unlearn.Training.AtomicFile.Json)
                ?? throw new JsonException("it holds null");
        }
        catch (JsonException e)
        {
            throw new InputException($"{folder.File(ResultFile)} is not a readable result file ({e.Message}). It was written whole, so it was changed afterwards; move the run folder aside and run the pipeline again.", e);
        }
    }

    /// <summary>Writes every result file, the commit marker last. Files an earlier attempt on this folder finished are
    /// kept (see <see cref="RunFolder.Open"/>).</summary>
    public static void WriteAll(RunFolder folder, PipelineSpec spec, RunResult result, DateTime started, double seconds)
    {
        folder.Write(ResultFile, JsonSerializer.Serialize(new StoredResult(result, started, seconds), Unlearn.Training.AtomicFile.Json));
        folder.Write("manifest.json", JsonSerializer.Serialize(Manifest(spec, result, started, seconds), Json));
        folder.Write("summary.json", JsonSerializer.Serialize(Summary(spec, result), Json));
        var all = result.Metrics.Concat(result.AttackMetrics).ToList();
        WriteCsv(folder, "summary.csv", all.Select(m => new { model = m.Model, split = m.Split, metric = m.Metric, value = Round(m.Value), attack = m.Attack }));
        // Per-item values keep full precision (round-trip doubles): they are data for later analysis, not a report.
        WriteCsv(folder, "items.csv", all.SelectMany(m => m.Items.Select((v, i) => new { stage = "evaluate", model = m.Model, split = m.Split, metric = m.Metric, index = i, value = v, attack = m.Attack })));
        if (result.Calibration is { } c)
            WriteCsv(folder, "calibration.csv", c.Curve.Select((p, i) => new { order = i, alpha = p.Alpha, retain = Round(p.Retain), forget = p.Forget is { } f ? Round(f) : (double?)null, non_monotone = p.NonMonotone }));
        if (result.Unlearning is { } u)
        {
            WriteCsv(folder, "trajectory.csv", u.History.Select(h => new { step = h.Step, loss = Round(h.Loss), grad_norm = Round(h.GradientNorm), lr = h.LearningRate, skipped = h.Skipped }));
            if (u.Trajectory.Count > 0)
                WriteCsv(folder, "controls.csv", u.Trajectory.Select(t => new { step = t.Step, key = t.Key, value = Round(t.Value) }));
        }
        if (spec.Report.TofuEval) Evaluation.OpenUnlearningNames.Write(folder, result.Metrics);
        var charts = spec.Report.Charts ? Charts.WriteRunCharts(folder, result) : [];
        folder.Write("report.md", MarkdownReport.Render(spec, result, charts));
        if (spec.Report.Deterministic) folder.Write(MarkdownReport.SnapshotFile, MarkdownReport.Render(spec, result, snapshot: true));
        folder.Commit(DateTime.UtcNow);
    }

    private static void WriteCsv<T>(RunFolder folder, string name, IEnumerable<T> rows) => folder.Write(name, stream =>
    {
        // Rows are anonymous objects: their property names are the columns, in declaration order.
        var properties = typeof(T).GetProperties();
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture, NewLine = "\n" }, true);
        foreach (var p in properties) csv.WriteField(p.Name);
        csv.EndRecord();
        foreach (var row in rows)
        {
            foreach (var p in properties) csv.WriteField(Format(p.GetValue(row)));
            csv.EndRecord();
        }
        csv.Flush();
    });

    private static string Format(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The summary object (also what <c>compare</c> reads back).</summary>
    public static object Summary(PipelineSpec spec, RunResult result) => new
    {
        schema_version = SchemaVersion,
        name = result.Name,
        sweep = result.SweepLabel,
        method = result.Method,
        method_options = result.MethodOptions == null ? (JsonElement?)null : JsonDocument.Parse(result.MethodOptions).RootElement,
        seed = result.Seed,
        forget_split = spec.Data.Forget,
        failure = result.Failure,
        calibration = result.Calibration == null ? null : new
        {
            method = result.Calibration.Method,
            alpha = Round(result.Calibration.Alpha),
            original = Round(result.Calibration.OriginalValue),
            target = Round(result.Calibration.Target),
            evaluations = result.Calibration.Evaluations,
            note = result.Calibration.Note,
            // What the calibrator says it measured (null where it does not say).
            metric = result.Calibration.Settings?.Metric,
            split = result.Calibration.Settings?.Split,
            forget_split = result.Calibration.Settings?.ForgetSplit,
            tau = result.Calibration.Settings?.Tau,
            curve = result.Calibration.Curve.Select(p => new { alpha = p.Alpha, retain = Round(p.Retain), forget = p.Forget is { } f ? Round(f) : (double?)null, non_monotone = p.NonMonotone }),
        },
        unlearning = result.Unlearning == null ? null : new
        {
            steps = result.Unlearning.Steps,
            planned_steps = result.Unlearning.PlannedSteps,
            stop_reason = result.Unlearning.StopReason,
            restored_checkpoint = result.Unlearning.RestoredCheckpoint,
        },
        metrics = result.Metrics.Concat(result.AttackMetrics).Select(m => new
        {
            model = m.Model, split = m.Split, metric = m.Metric, value = Round(m.Value), attack = m.Attack,
            extras = m.Extras.ToDictionary(e => e.Key, e => Round(e.Value)),
        }),
    };

    private static object Manifest(PipelineSpec spec, RunResult result, DateTime started, double seconds) => new
    {
        schema_version = SchemaVersion,
        tool = new { name = "dotnet-unlearn", version = ToolInfo.Version, sdk = Unlearn.Plugins.SdkVersion.Current.ToString(2) },
        pipeline = spec.SourceFile,
        seed = spec.Seed,
        started_utc = started.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture),
        seconds = Math.Round(seconds, 1),
        machine = new
        {
            os = RuntimeInformation.OSDescription,
            architecture = RuntimeInformation.OSArchitecture.ToString(),
            cores = Environment.ProcessorCount,
            dotnet = RuntimeInformation.FrameworkDescription,
            torch_backend = "cpu",
            denormals_flushed = result.DenormalsFlushed,
        },
        plugins = result.Plugins.Select(p => new { kind = p.Kind, name = p.Name, assembly = p.Assembly, version = p.Version, sha256 = p.Sha256, origin = p.Origin, @as = p.As, options = JsonDocument.Parse(p.Options).RootElement }),
        stages = result.Timings.Select(t => new { stage = t.Stage, seconds = Math.Round(t.Seconds, 2), cached = t.Cached }),
        stage_keys = result.StageKeys,
        models = result.ModelFolders,
    };
}

/// <summary>Tool version information.</summary>
public static class ToolInfo
{
    /// <summary>The tool's informational version.</summary>
    public static string Version { get; } =
        typeof(ToolInfo).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
