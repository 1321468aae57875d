using System.ComponentModel;
using Unlearn.Plugins;

namespace Unlearn.Training;

/// <summary>Learning-rate schedule after warm-up.</summary>
public enum LearningRateSchedule
{
    /// <summary>Linear decay to zero at the last step.</summary>
    Linear,
    /// <summary>Half-cosine decay to zero at the last step.</summary>
    Cosine,
    /// <summary>Constant after warm-up.</summary>
    Constant,
}

/// <summary>The optimiser of a training loop.</summary>
public enum OptimizerKind
{
    /// <summary>AdamW with float32 moments (two float32 copies of the trained weights).</summary>
    Adamw,
    /// <summary>AdamW with bfloat16 moments: half the optimiser memory, updates computed in float32.</summary>
    AdamwBf16State,
    /// <summary>Plain SGD with decoupled weight decay: no optimiser memory.</summary>
    Sgd,
}

/// <summary>Ordinary trainer settings (pipeline key <c>trainer</c>). Reference defaults follow spec §3.</summary>
public sealed class TrainerSettings : IValidatableOptions
{
    /// <summary>Peak learning rate.</summary>
    [Description("Peak learning rate (AdamW).")] public double Lr { get; init; } = 1e-5;

    /// <summary>Passes over the training split.</summary>
    [Description("Passes over the training split.")] public double Epochs { get; init; } = 5;

    /// <summary>Sequences per micro-batch.</summary>
    [Description("Sequences per micro-batch.")] public int BatchSize { get; init; } = 16;

    /// <summary>Micro-batches per optimiser step (effective batch = batch_size × this).</summary>
    [Description("Micro-batches per optimiser step (effective batch = batch_size x this).")] public int GradientAccumulation { get; init; } = 1;

    /// <summary>Decoupled weight decay.</summary>
    [Description("AdamW decoupled weight decay.")] public double WeightDecay { get; init; } = 0.01;

    /// <summary>Warm-up length in epochs (ignored when warmup_steps is set).</summary>
    [Description("Warm-up length in epochs (ignored when warmup_steps is set).")] public double WarmupEpochs { get; init; } = 1;

    /// <summary>Warm-up length in optimiser steps.</summary>
    [Description("Warm-up length in optimiser steps (overrides warmup_epochs).")] public int? WarmupSteps { get; init; }

    /// <summary>Schedule after warm-up.</summary>
    [Description("Schedule after warm-up: linear, cosine or constant.")] public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Linear;

    /// <summary>Gradient clipping by global L2 norm (0 = off).</summary>
    [Description("Clip gradients to this global L2 norm (0 = off).")] public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Stop after this many optimiser steps (null = epochs decide).</summary>
    [Description("Stop after this many optimiser steps (null = epochs decide).")] public int? MaxSteps { get; init; }

    /// <summary>AdamW β1.</summary>
    [Description("AdamW beta1.")] public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW β2.</summary>
    [Description("AdamW beta2.")] public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW ε.</summary>
    [Description("AdamW epsilon.")] public double Epsilon { get; init; } = 1e-8;

    /// <summary>Batch sequences of similar length together (less padding); the batch order stays seeded and random. Off by
    /// default, as in Hugging Face's Trainer: on a split smaller than one window of batches every epoch repeats the same
    /// length-sorted batches, and the built-in world's target model then learns far less in the same steps.</summary>
    [Description("Batch sequences of similar length together (less padding, faster; on small splits each epoch repeats the same batches, which can slow learning); the batch order stays seeded and random.")] public bool GroupByLength { get; init; }

    /// <summary>Write a resumable checkpoint every this many steps (0 = only at the end).</summary>
    [Description("Write a resumable checkpoint every this many steps (0 = never during training).")] public int CheckpointEvery { get; init; } = 0;

    /// <summary>The optimiser.</summary>
    [Description("Optimiser: adamw, adamw-bf16-state (bfloat16 moments, half the memory) or sgd (no state).")] public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adamw;

    /// <summary>Recompute each decoder layer's activations in the backward pass instead of keeping them: less memory
    /// for the same gradients, at the cost of one more forward pass.</summary>
    [Description("Keep only each decoder layer's input during the forward pass and recompute the layer in backward (less activation memory, one more forward pass).")] public bool GradientCheckpointing { get; init; }

    /// <summary>The most epochs a trainer may plan (more is a typo, and would overflow the step count).</summary>
    public const double MaxEpochs = 1000;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        foreach (var (name, value) in new[] { ("lr", Lr), ("epochs", Epochs), ("weight_decay", WeightDecay), ("warmup_epochs", WarmupEpochs),
                     ("max_grad_norm", MaxGradNorm), ("beta1", Beta1), ("beta2", Beta2), ("epsilon", Epsilon) })
            if (!double.IsFinite(value)) yield return $"{name} must be a finite number, got {value}";
        if (!(Lr > 0)) yield return $"lr must be > 0, got {Lr}";
        if (!(Epochs > 0)) yield return $"epochs must be > 0, got {Epochs}";
        if (Epochs > MaxEpochs) yield return $"epochs must be at most {MaxEpochs}, got {Epochs} (use max_steps to bound a long run)";
        if (!(Epsilon > 0)) yield return $"epsilon must be > 0, got {Epsilon}";
        if (BatchSize < 1) yield return $"batch_size must be >= 1, got {BatchSize}";
        if (GradientAccumulation < 1) yield return $"gradient_accumulation must be >= 1, got {GradientAccumulation}";
        if (WeightDecay < 0) yield return $"weight_decay must be >= 0, got {WeightDecay}";
        if (WarmupEpochs < 0) yield return $"warmup_epochs must be >= 0, got {WarmupEpochs}";
        if (WarmupSteps < 0) yield return $"warmup_steps must be >= 0, got {WarmupSteps}";
        if (MaxGradNorm < 0) yield return $"max_grad_norm must be >= 0, got {MaxGradNorm}";
        if (MaxSteps < 1) yield return $"max_steps must be >= 1, got {MaxSteps}";
        if (Beta1 is < 0 or >= 1) yield return $"beta1 must be in [0, 1), got {Beta1}";
        if (Beta2 is < 0 or >= 1) yield return $"beta2 must be in [0, 1), got {Beta2}";
        if (CheckpointEvery < 0) yield return $"checkpoint_every must be >= 0, got {CheckpointEvery}";
    }

    /// <summary>Optimiser steps for a split of <paramref name="items"/> rows.</summary>
    public int TotalSteps(int items)
    {
        var perEpoch = StepsPerEpoch(items);
        var total = Math.Max(1, (int)Math.Ceiling(perEpoch * Epochs));
        return MaxSteps is { } max ? Math.Min(max, total) : total;
    }

    /// <summary>Optimiser steps in one epoch.</summary>
    public int StepsPerEpoch(int items) => Math.Max(1, (int)Math.Ceiling(items / (double)(BatchSize * GradientAccumulation)));

    /// <summary>Warm-up steps for a split of <paramref name="items"/> rows.</summary>
    public int WarmupStepCount(int items) => WarmupSteps ?? (int)Math.Round(StepsPerEpoch(items) * WarmupEpochs);

    /// <summary>The scheduled learning rate at a 0-based step.</summary>
    public double LearningRateAt(int step, int totalSteps, int warmupSteps)
    {
        if (warmupSteps > 0 && step < warmupSteps) return Lr * (step + 1) / warmupSteps;
        var decaySteps = Math.Max(1, totalSteps - warmupSteps);
        var progress = Math.Clamp((step - warmupSteps) / (double)decaySteps, 0, 1);
        return Schedule switch
        {
            LearningRateSchedule.Linear => Lr * (1 - progress),
            LearningRateSchedule.Cosine => Lr * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => Lr,
        };
    }
}
