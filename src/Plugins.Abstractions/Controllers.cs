namespace Unlearn.Plugins;

/// <summary>The training loop as a controller sees it at the end of an optimiser step. Implemented by the host.</summary>
public abstract class ControllerContext
{
    /// <summary>1-based number of optimiser steps done.</summary>
    public abstract int Step { get; }

    /// <summary>Planned number of optimiser steps.</summary>
    public abstract int TotalSteps { get; }

    /// <summary>The step's loss.</summary>
    public abstract double Loss { get; }

    /// <summary>Global gradient L2 norm before clipping.</summary>
    public abstract double GradientNorm { get; }

    /// <summary>Learning rate used at this step (after any scale).</summary>
    public abstract double LearningRate { get; }

    /// <summary>Multiplier on the scheduled learning rate from the next step on (1 = unchanged).</summary>
    public abstract double LearningRateScale { get; set; }

    /// <summary>Gradient-norm ceiling applied from the next step on (null = the trainer's setting).</summary>
    public abstract double? GradientNormCeiling { get; set; }

    /// <summary>Evaluates a metric's aggregate on the current model. <paramref name="maxItems"/> limits the split to a
    /// fixed probe (its first items).</summary>
    public abstract double Evaluate(string metric, string split, int? maxItems = null);

    /// <summary>The same evaluation on the model before unlearning (cached).</summary>
    public abstract double EvaluateOriginal(string metric, string split, int? maxItems = null);

    /// <summary>Keeps a copy of the current weights under a tag (replacing an older copy with that tag).</summary>
    public abstract void SaveCheckpoint(string tag);

    /// <summary>True when a checkpoint with that tag exists.</summary>
    public abstract bool HasCheckpoint(string tag);

    /// <summary>Ends training after this step; when <paramref name="restoreCheckpoint"/> names a saved
    /// checkpoint, the run continues from those weights.</summary>
    public abstract void RequestStop(string reason, string? restoreCheckpoint = null);

    /// <summary>Adds a value to the training trajectory (shown in the report).</summary>
    public abstract void Record(string key, double value);
}

/// <summary>Observes the training loop and may stop it, adjust it, or select a checkpoint.</summary>
public interface IController
{
    /// <summary>Called once before the first step.</summary>
    void OnTrainingStart(ControllerContext context) { }

    /// <summary>Called after every optimiser step.</summary>
    void OnStepEnd(ControllerContext context);

    /// <summary>Called once after the last step, whatever ended training.</summary>
    void OnTrainingEnd(ControllerContext context) { }
}
