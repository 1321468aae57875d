namespace Unlearn.Host.Running.Stages;

/// <summary>One step of a run (data, learn, unlearn, calibrate, save models, evaluate, attacks, report). A stage reads what earlier
/// stages put into the <see cref="RunContext"/>, reuses its result from the stage cache when its key is there, and
/// records what it produced (and its timing) in the context. Adding a stage is a class and an entry in
/// <see cref="RunPlanner"/>.</summary>
public interface IStage
{
    /// <summary>The stage's name in logs and timings.</summary>
    string Name { get; }

    /// <summary>Runs (or reuses) the stage.</summary>
    void Run(RunContext context);
}
