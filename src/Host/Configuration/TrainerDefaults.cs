using Unlearn.Training;

namespace Unlearn.Host.Configuration;

/// <summary>The defaults of a pipeline's three trainer sections, written here and nowhere else: each is
/// <see cref="TrainerSettings"/>' own defaults with the section's values on top. docs/pipelines.md shows
/// <see cref="Describe"/> of each (checked by a test).</summary>
public static class TrainerDefaults
{
    /// <summary><c>learn.base</c>: the tiny-world base model, trained from scratch.</summary>
    public static TrainerSettings LearnBase { get; } = new()
    {
        Lr = 3e-3, Epochs = 15, BatchSize = 32, WeightDecay = 0.0, Schedule = LearningRateSchedule.Cosine, CheckpointEvery = 50,
    };

    /// <summary><c>learn.target</c>: the target and retain models, fine-tuned from the base (or from model.path).</summary>
    public static TrainerSettings LearnTarget { get; } = new()
    {
        Lr = 3e-3, Epochs = 24, BatchSize = 32, WeightDecay = 0.0, Schedule = LearningRateSchedule.Cosine, CheckpointEvery = 50,
    };

    /// <summary><c>unlearn.trainer</c>: the unlearning loop.</summary>
    public static TrainerSettings Unlearn { get; } = new() { Lr = 1e-4, BatchSize = 8 };

    /// <summary>The settings that differ from <see cref="TrainerSettings"/>' own defaults, as pipeline keys and values
    /// ("lr 0.003, epochs 24, ...") in declaration order.</summary>
    public static string Describe(TrainerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var plain = new TrainerSettings();
        return string.Join(", ", typeof(TrainerSettings).GetProperties()
            .Where(p => p.CanWrite && !Equals(p.GetValue(settings), p.GetValue(plain)))
            .Select(p => $"{OptionsBinder.ToSnakeCase(p.Name)} {OptionsBinder.FormatValue(p.GetValue(settings))}"));
    }
}
