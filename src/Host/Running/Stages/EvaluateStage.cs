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
        ArgumentNullException.ThrowIfNull(context);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (computed, reused) = EvaluateRoles(context, Name, role => context.ModelKeys.GetValueOrDefault(role), context.Evaluator, context.Metrics.Add);
        context.Timings.Add(new StageTiming(Name, clock.Elapsed.TotalSeconds, computed == 0 && reused > 0));
    }

    /// <summary>Every metric on its splits for every evaluated model role the run has, each value from the cache when
    /// its key is there: <paramref name="keyOf"/> says what a role's model is (the key of its weights, or of its
    /// attacked weights), <paramref name="evaluatorOf"/> builds its evaluator only when a value must be computed.
    /// Returns how many values were computed and how many reused.</summary>
    internal static (int Computed, int Reused) EvaluateRoles(RunContext context, string stage, Func<string, string?> keyOf,
        Func<string, Evaluation.ModelEvaluator> evaluatorOf, Action<MetricRecord> add)
    {
        var (spec, plan) = (context.Spec, context.Plan);
        var roles = spec.Evaluate.Models.Where(context.HasModel).ToList();
        var count = plan.Metrics.Sum(m => m.Splits(spec.Evaluate).Count);
        var progress = context.Log.StartTask(stage, roles.Count * count);
        var (computed, reused) = (0, 0);
        foreach (var role in roles)
        {
            var roleReused = 0;
            var computedByRole = false;
            foreach (var metric in plan.Metrics)
            foreach (var split in metric.Splits(spec.Evaluate))
            {
                context.Cancellation.ThrowIfCancellationRequested();
                if (!context.Data.Splits.ContainsKey(split)) _ = context.Data.Get(split, spec.Data);
                var (dir, wasReused) = context.Cache.GetOrBuild("evaluations", Key(context, keyOf, role, metric, split), staging =>
                {
                    var result = evaluatorOf(role).Result(metric.Name, split);
                    var stored = new StoredResult(result.Value, result.Items, result.Extras);
                    AtomicFile.WriteAllText(Path.Combine(staging, ResultFile), JsonSerializer.Serialize(stored, AtomicFile.Json));
                });
                var value = JsonSerializer.Deserialize<StoredResult>(File.ReadAllText(Path.Combine(dir, ResultFile)), AtomicFile.Json)!;
                add(new MetricRecord(role, split, metric.Name, value.Value, value.Items, value.Extras));
                if (wasReused) roleReused++;
                else computedByRole = true;
                progress?.Increment(1);
            }
            context.Log.Info($"{stage}: {role} done ({(roleReused == count ? "every value" : roleReused > 0 ? $"{roleReused} of {count} values" : "no value")} from the cache" +
                $"{(computedByRole ? $", {evaluatorOf(role).ScoringPasses} scoring passes" : "")})");
            (computed, reused) = (computed + count - roleReused, reused + roleReused);
        }
        progress?.StopTask();
        return (computed, reused);
    }

    // What one value depends on: the model's weights, the metric use (its name, metric, options and assembly), the
    // split's data and the evaluation settings; for metrics that compare with other models, those models too.
    private static string Key(RunContext c, Func<string, string?> keyOf, string role, MetricPlan metric, string split) =>
        StageCache.Key("evaluate", 2, keyOf(role), c.Plan.MetricIdentity(metric.Name),
            split, c.Spec.Data.Splits.GetValueOrDefault(split), c.Data.Key, Settings(c),
            keyOf(ModelRoles.Original), c.Spec.Evaluate.Models.Contains(ModelRoles.Retain) ? keyOf(ModelRoles.Retain) : null,
            // A composite metric reads the metrics it depends on with the options evaluate.metrics gives them.
            PluginRegistry.CreateWithOptions<IMetric>(metric.Plugin.Descriptor, metric.Plugin.Options).Dependencies.Count > 0
                ? c.Plan.Metrics.Select(m => c.Plan.MetricIdentity(m.Name)).ToList() : null);

    private sealed record StoredResult(double Value, IReadOnlyList<double> Items, IReadOnlyDictionary<string, double> Extras);
}
