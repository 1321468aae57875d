namespace Unlearn.Host.Running.Stages;

/// <summary>Evaluation under attack: for every entry of <c>attacks</c>, every evaluated model role is evaluated again
/// with the same metrics and splits, on the attacked model (<see cref="AttackedModels"/>). Each value is cached under
/// <c>evaluations/</c> like a clean one, keyed by the attacked model's key, so a rerun attacks and evaluates nothing
/// and a model is attacked only when one of its values is missing.</summary>
public sealed class AttackStage : IStage
{
    /// <inheritdoc />
    public string Name => "attack";

    /// <inheritdoc />
    public void Run(RunContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var attack in context.Plan.Attacks)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using var models = new AttackedModels(context, attack);
            var stage = $"{Name} {attack.Label}";
            var (computed, reused) = EvaluateStage.EvaluateRoles(context, stage, models.Key, models.Evaluator,
                record => context.AttackMetrics.Add(record with { Attack = attack.Label }));
            context.Timings.Add(new StageTiming(stage, clock.Elapsed.TotalSeconds, computed == 0 && reused > 0));
        }
    }
}
