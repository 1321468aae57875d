using Unlearn.Host.Reporting;
using Unlearn.Training;

namespace Unlearn.Host.Running;

/// <summary>Runs one plan: its stages in order over one <see cref="RunContext"/>, the last of them writing the run
/// folder. Every stage is cached by its key, so a re-run after a crash, or with a changed metric list, redoes only
/// what changed.</summary>
public sealed class ExperimentRunner(StageCache cache, RunLog log)
{
    /// <summary>Runs the plan into <paramref name="folder"/> and returns what it wrote.</summary>
    public RunResult Run(RunPlan plan, RunFolder folder, string sweepLabel, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(plan);
        // Gradient ascent drives probabilities toward zero; denormal floats would slow the CPU kernels many-fold.
        var denormalsFlushed = DenormalControl.TrySetFlushDenormal(true);
        if (!denormalsFlushed) log.Info("warning: denormal floats cannot be flushed to zero on this platform; gradient ascent may slow down late in a run");
        if (plan.Template.Chat is { } chat) log.Info($"prompt: chat template from {chat.Origin} ({plan.Template.Text})");
        using var context = new RunContext(plan, cache, log, folder, sweepLabel, ct) { DenormalsFlushed = denormalsFlushed };
        foreach (var stage in plan.Stages)
        {
            ct.ThrowIfCancellationRequested();
            stage.Run(context);
        }
        return context.Result();
    }
}
