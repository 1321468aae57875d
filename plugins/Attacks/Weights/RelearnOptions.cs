using System.ComponentModel;

namespace Unlearn.Plugins.Attacks.Weights;

/// <summary>Options of the <c>relearn</c> attack.</summary>
public sealed class RelearnOptions : IValidatableOptions
{
    /// <summary>The split fine-tuned on.</summary>
    [Description("Split fine-tuned on (e.g. forget, or a split that is not the evaluated one such as holdout).")]
    public string Split { get; init; } = "forget";

    /// <summary>Fraction of the split's items fine-tuned on (a seeded subset).</summary>
    [Description("Fraction of the split's items fine-tuned on: a subset drawn with the run's seed.")]
    public double Fraction { get; init; } = 0.5;

    /// <summary>Optimiser steps; null for one epoch over the subset.</summary>
    [Description("Optimiser steps; null for one epoch over the subset.")]
    public int? Steps { get; init; }

    /// <summary>Learning rate of Adam.</summary>
    [Description("Learning rate (Adam).")]
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Items per step.</summary>
    [Description("Items per optimiser step.")]
    public int BatchSize { get; init; } = 4;

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        OptionChecks.NotEmpty("split", Split)
            .Concat(OptionChecks.Fraction("fraction", Fraction))
            .Concat(OptionChecks.AtLeast("steps", Steps, 1))
            .Concat(OptionChecks.Positive("learning_rate", LearningRate))
            .Concat(OptionChecks.AtLeast("batch_size", BatchSize, 1));
}
