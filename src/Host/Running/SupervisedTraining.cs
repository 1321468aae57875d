using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Text;
using Unlearn.Training;
using static TorchSharp.torch;

namespace Unlearn.Host.Running;

/// <summary>Fine-tuning on question/answer items with the answer-only NLL (the learn stage).</summary>
public static class SupervisedTraining
{
    /// <summary>Trains <paramref name="model"/> on <paramref name="items"/>; with a checkpoint folder the run resumes.</summary>
    public static TrainingResult Train(CausalLM model, BatchEncoder encoder, IReadOnlyList<QaItem> items, TrainerSettings settings,
        int seed, string? checkpointDir, ITrainingObserver? observer, CancellationToken cancellationToken)
    {
        manual_seed(seed);
        model.train();
        model.GradientCheckpointing = settings.GradientCheckpointing;
        var trainable = model.parameters().ToList();
        var total = settings.TotalSteps(items.Count);
        using var loop = new TrainingLoop(trainable, settings, total, settings.WarmupStepCount(items.Count));
        var sequences = items.Select(i => encoder.Tokenize(i.Question, i.Answer)).ToArray();
        var batches = new EpochBatches(items.Count, settings.BatchSize, seed,
            settings.GroupByLength ? sequences.Select(s => s.Prompt.Count + s.Answer.Count).ToArray() : null);
        var result = loop.Run((step, micro) =>
        {
            var batch = encoder.Collate(batches.At(step, settings.GradientAccumulation, micro).Select(i => sequences[i]).ToList());
            var loss = AnswerLoss.MeanNll(model, batch);
            var tokens = batch.AttentionMask.sum().item<long>();
            return new StepLoss(loss, new Dictionary<string, double>(), tokens);
        }, observer, cancellationToken, checkpointDir);
        model.eval();
        model.GradientCheckpointing = false;
        return result;
    }
}
