using System.Text.Json;
using Unlearn.Plugins;

namespace Unlearn.Host.Reporting;

/// <summary>One aggregate of a finished run, as summary.json holds it.</summary>
/// <param name="Model">Model role: original, unlearned, calibrated or retain.</param>
/// <param name="Split">Logical split (forget, retain, ...).</param>
/// <param name="Metric">Metric name as the pipeline wrote it (es, es-paraphrased, ...).</param>
/// <param name="Value">The aggregate, rounded as <see cref="ResultWriter.Round"/> does.</param>
/// <param name="Attack">The attack label the model was evaluated under, "none" for clean (schema 1 folders: all clean).</param>
public sealed record SummaryMetric(string Model, string Split, string Metric, double Value, string Attack = Configuration.AttacksBinder.None);

/// <summary>The calibration of a finished run, as summary.json holds it.</summary>
/// <param name="Method">Calibrator name (model-mixing).</param>
/// <param name="Alpha">α*.</param>
/// <param name="Original">M(θ_orig) of the calibration metric.</param>
/// <param name="Target">τ·M(θ_orig).</param>
/// <param name="Curve">Every visited α, in visiting order.</param>
public sealed record CalibrationSummary(string Method, double Alpha, double Original, double Target, IReadOnlyList<CalibrationPoint> Curve);

/// <summary>A finished run read back from its folder (summary.json).</summary>
/// <param name="Folder">The run folder (absolute).</param>
/// <param name="Name">Pipeline name.</param>
/// <param name="SweepLabel">Sweep label ("" for a single run), e.g. <c>unlearn.options.beta=0.5</c>.</param>
/// <param name="Method">Unlearning method, or null for an evaluation-only run.</param>
/// <param name="Calibration">Calibration, or null.</param>
/// <param name="CalibrationSettings">What the calibration measured (metric, splits, τ), as the calibrator returned it.</param>
/// <param name="Metrics">Every aggregate of the clean models.</param>
/// <param name="Failure">Why the run failed although its report was written (summary.json's <c>failure</c>), or null.</param>
public sealed record RunSummary(string Folder, string Name, string SweepLabel, string? Method, CalibrationSummary? Calibration,
    CalibrationSettings CalibrationSettings, IReadOnlyList<SummaryMetric> Metrics, string? Failure = null)
{
    /// <summary>Every aggregate under an attack (schema 2), in file order.</summary>
    public IReadOnlyList<SummaryMetric> AttackMetrics { get; init; } = [];

    /// <summary>The τ the run was calibrated at: as the calibrator returned it, else target / original.</summary>
    public double? Tau => Calibration == null ? null
        : CalibrationSettings.Tau ?? (Calibration.Original != 0 && double.IsFinite(Calibration.Original) ? Calibration.Target / Calibration.Original : null);

    /// <summary>An aggregate, or null when the run did not compute it.</summary>
    public double? Value(string model, string split, string metric) =>
        Metrics.FirstOrDefault(m => m.Model == model && m.Split == split && m.Metric == metric)?.Value;
}

/// <summary>Reads finished run folders for <c>compare</c>. A path is a run folder (it has summary.json) or a sweep folder
/// (its sub-folders with summary.json, in name order). Anything else is refused with an
/// <see cref="InvalidDataException"/> that names the folder and says what is missing.</summary>
public static class RunSummaries
{
    /// <summary>The summary file of a finished run.</summary>
    public const string SummaryFile = "summary.json";

    /// <summary>Reads every run under the given paths, in argument order. Sub-runs of a sweep that failed (error.txt
    /// and no summary.json) are skipped and named in <paramref name="warnings"/>.</summary>
    public static IReadOnlyList<RunSummary> Load(IEnumerable<string> paths, ICollection<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(warnings);
        var runs = new List<RunSummary>();
        foreach (var path in paths) runs.AddRange(Load(path, warnings));
        return runs;
    }

    /// <summary>Reads a run folder or a sweep folder.</summary>
    public static IReadOnlyList<RunSummary> Load(string path, ICollection<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(warnings);
        var folder = Path.GetFullPath(path);
        if (File.Exists(folder))
            throw new InvalidDataException($"'{path}' is a file, not a run folder: pass the folder that 'dotnet unlearn run' printed (it holds {SummaryFile}).");
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"'{path}' does not exist: pass a run folder or a sweep folder.");
        if (File.Exists(Path.Combine(folder, SummaryFile))) return [Read(folder)];

        var subfolders = Directory.GetDirectories(folder).OrderBy(d => d, StringComparer.Ordinal).ToList();
        var finished = subfolders.Where(IsFinished).ToList();
        if (finished.Count == 0)
        {
            var why = File.Exists(Path.Combine(folder, "pipeline.yaml"))
                ? $"it has pipeline.yaml but no {SummaryFile}: the run did not finish (resume it with 'dotnet unlearn run --resume {path}', or see run.log)"
                : NestedRun(subfolders) is { } nested
                    ? $"it has no {SummaryFile}; it holds run or sweep folders such as '{nested}': pass those"
                : subfolders.Count > 0
                    ? $"it has no {SummaryFile}, and none of its {subfolders.Count} sub-folders has one either (a sweep folder holds one finished run per sub-folder)"
                    : $"it has no {SummaryFile} and no sub-folders (a run folder holds {SummaryFile}; a sweep folder holds one run per sub-folder)";
            throw new InvalidDataException($"'{path}' is not a finished run or sweep folder: {why}.");
        }
        foreach (var unfinished in subfolders.Except(finished).Where(d => File.Exists(Path.Combine(d, "pipeline.yaml"))))
        {
            var reason = File.Exists(Path.Combine(unfinished, "error.txt")) ? "it failed (see its error.txt)"
                : File.Exists(Path.Combine(unfinished, SummaryFile)) ? $"it was interrupted while writing its results (no {RunFolder.CommitMarker}; resume the sweep)"
                : "it did not finish";
            warnings.Add($"skipped sweep run '{Path.GetFileName(unfinished)}' in '{path}': {reason}.");
        }
        return finished.Select(Read).ToList();
    }

    /// <summary>A sub-folder that is itself a run or sweep folder (the caller passed runs/&lt;pipeline-name&gt;), or null.</summary>
    private static string? NestedRun(IEnumerable<string> subfolders) => subfolders.FirstOrDefault(d =>
        Directory.GetDirectories(d).Any(s => File.Exists(Path.Combine(s, SummaryFile))) || File.Exists(Path.Combine(d, "run.log")));

    // A run is finished when its commit marker, written after every result file, is there.
    private static bool IsFinished(string folder) =>
        File.Exists(Path.Combine(folder, SummaryFile)) && File.Exists(Path.Combine(folder, RunFolder.CommitMarker));

    /// <summary>Reads one finished run folder.</summary>
    public static RunSummary Read(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!File.Exists(Path.Combine(folder, RunFolder.CommitMarker)))
            throw new InvalidDataException($"'{folder}' is not finished: it has no {RunFolder.CommitMarker} (the run was interrupted while writing its results). Finish it with 'dotnet unlearn run --resume {folder}'.");
        var file = Path.Combine(folder, SummaryFile);
        JsonDocument document;
        try { document = JsonDocument.Parse(File.ReadAllText(file)); }
        catch (JsonException e) { throw new InvalidDataException($"'{file}' is not valid JSON: {e.Message}"); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{file}' is not a run summary: expected a JSON object.");
            var version = Get(root, "schema_version") is { ValueKind: JsonValueKind.Number } v ? v.GetInt32() : 0;
            if (version > ResultWriter.SchemaVersion)
                throw new InvalidDataException($"'{file}' has schema_version {version}, newer than this tool reads ({ResultWriter.SchemaVersion}); update dotnet-unlearn.");
            if (version < 1) throw new InvalidDataException($"'{file}' is not a run summary: it has no schema_version.");
            if (Get(root, "metrics") is not { ValueKind: JsonValueKind.Array } metricsNode)
                throw new InvalidDataException($"'{file}' is not a run summary: it has no 'metrics' list.");

            var metrics = new List<SummaryMetric>();
            foreach (var m in metricsNode.EnumerateArray())
            {
                var model = Text(m, "model");
                var split = Text(m, "split");
                var metric = Text(m, "metric");
                if (model == null || split == null || metric == null)
                    throw new InvalidDataException($"'{file}': a metrics entry lacks model, split or metric.");
                metrics.Add(new SummaryMetric(model, split, metric, Number(m, "value") ?? double.NaN, Text(m, "attack") ?? Configuration.AttacksBinder.None));
            }
            CalibrationSummary? calibration = null;
            var settings = CalibrationSettings.Unknown;
            if (Get(root, "calibration") is { ValueKind: JsonValueKind.Object } c)
            {
                settings = new CalibrationSettings(Text(c, "metric"), Text(c, "split"), Text(c, "forget_split"), Number(c, "tau"));
                var curve = Get(c, "curve") is { ValueKind: JsonValueKind.Array } points
                    ? points.EnumerateArray().Select(p => new CalibrationPoint(Number(p, "alpha") ?? double.NaN, Number(p, "retain") ?? double.NaN,
                        Number(p, "forget"), Get(p, "non_monotone") is { ValueKind: JsonValueKind.True })).ToList()
                    : [];
                calibration = new CalibrationSummary(Text(c, "method") ?? "", Number(c, "alpha") ?? double.NaN,
                    Number(c, "original") ?? double.NaN, Number(c, "target") ?? double.NaN, curve);
            }
            var clean = metrics.Where(m => m.Attack == Configuration.AttacksBinder.None).ToList();
            return new RunSummary(Path.GetFullPath(folder), Text(root, "name") ?? Path.GetFileName(folder), Text(root, "sweep") ?? "",
                Text(root, "method"), calibration, settings, clean, Text(root, "failure"))
            {
                AttackMetrics = metrics.Except(clean).ToList(),
            };
        }
    }

    private static JsonElement? Get(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : null;

    private static string? Text(JsonElement e, string name) => Get(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    private static double? Number(JsonElement e, string name) => Get(e, name) switch
    {
        { ValueKind: JsonValueKind.Number } v => v.GetDouble(),
        // Non-finite values are written as the named literals "NaN", "Infinity", "-Infinity".
        { ValueKind: JsonValueKind.String } v when double.TryParse(v.GetString(), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };
}
