using System.Text.Json;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Plugins;
using Unlearn.Training;

namespace Unlearn.Host.Running.Stages;

/// <summary>Evaluation: every metric of <c>evaluate.metrics</c> on its splits for every evaluated model role. Each
/// value is cached by what it depends on (the model's weights, the metric and its options, the split's data and the
/// evaluation settings), so a run that adds a metric computes only that metric; a model is loaded only when one of
/// its values is not in the cache.</summary>
public sealed class EvaluateStage : IStage
{
    private const string ResultFile = "result.json";

    /// <inheritdoc />
    public string Name => "evaluate";

    /// <summary>The evaluation settings every cached value depends on.</summary>
    public static object Settings(RunContext c) => new object?[]
    {
        c.Plan.Template.Text, c.Spec.Model.MaxLength, c.Spec.Evaluate.MaxItems, c.Spec.Evaluate.BatchSize, c.Spec.Evaluate.MaxNewTokens,
        c.Spec.Evaluate.RetainLogs is { } logs ? new[] { logs, File.GetLastWriteTimeUtc(logs).Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) } : null,
    };

    /// <inheritdoc />
    public void Run(RunContext context)
    {
        var (spec, plan) = (context.Spec, context.Plan);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var roles = spec.Evaluate.Models.Where(context.HasModel).ToList();
        var progress = context.Log.StartTask(Name, roles.Count * plan.Metrics.Sum(m => m.Splits(spec.Evaluate).Count));
        var (computed, reused) = (0, 0);
        foreach (var role in roles)
        {
            var roleReused = 0;
            foreach (var metric in plan.Metrics)
            foreach (var split in metric.Splits(spec.Evaluate))
            {
                context.Cancellation.ThrowIfCancellationRequested();
                if (!context.Data.Splits.ContainsKey(split)) _ = context.Data.Get(split, spec.Data);
                var (dir, wasReused) = context.Cache.GetOrBuild("evaluations", Key(context, role, metric, split), staging =>
                {
                    var result = context.Evaluator(role).Result(metric.Name, split);
                    var stored = new StoredResult(result.Value, result.Items, result.Extras);
                    AtomicFile.WriteAllText(Path.Combine(staging, ResultFile), JsonSerializer.Serialize(stored, AtomicFile.Json));
                });
                var value = JsonSerializer.Deserialize<StoredResult>(File.ReadAllText(Path.Combine(dir, ResultFile)), AtomicFile.Json)!;
                context.Metrics.Add(new MetricRecord(role, split, metric.Name, value.Value, value.Items, value.Extras));
                if (wasReused) roleReused++;
                progress?.Increment(1);
            }
            var count = plan.Metrics.Sum(m => m.Splits(spec.Evaluate).Count);
            context.Log.Info($"evaluate: {role} done ({(roleReused == count ? "every value" : roleReused > 0 ? $"{roleReused} of {count} values" : "no value")} from the cache" +
                $"{(roleReused < count ? $", {context.Evaluator(role).ScoringPasses} scoring passes" : "")})");
            (computed, reused) = (computed + count - roleReused, reused + roleReused);
        }
        progress?.StopTask();
        context.Timings.Add(new StageTiming(Name, clock.Elapsed.TotalSeconds, computed == 0 && reused > 0));
    }

    // What one value depends on: the model's weights, the metric (its options and assembly), the split's data and the
    // evaluation settings; for metrics that compare with other models, those models too.
    private static string Key(RunContext c, string role, MetricPlan metric, string split) =>
        StageCache.Key("evaluate", 1, c.ModelKeys[role], metric.Name, metric.Plugin.OptionsJson, metric.Plugin.Descriptor.Assembly.Sha256,
            split, c.Spec.Data.Splits.GetValueOrDefault(split), c.Data.Key, Settings(c),
            c.ModelKeys.GetValueOrDefault(ModelRoles.Original), c.Spec.Evaluate.Models.Contains(ModelRoles.Retain) ? c.ModelKeys.GetValueOrDefault(ModelRoles.Retain) : null,
            // A composite metric reads the metrics it depends on with the options evaluate.metrics gives them.
            PluginRegistry.CreateWithOptions<IMetric>(metric.Plugin.Descriptor, metric.Plugin.Options).Dependencies.Count > 0
                ? c.Plan.Metrics.Select(m => new[] { m.Name, m.Plugin.OptionsJson }).ToList() : null);

    private sealed record StoredResult(double Value, IReadOnlyList<double> Items, IReadOnlyDictionary<string, double> Extras);
}
