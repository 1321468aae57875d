using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Training;
using static TorchSharp.torch;

namespace Unlearn.Host.Running;

/// <summary>Fine-tuning on question/answer items with the answer-only NLL (the learn stage).</summary>
public static class SupervisedTraining
{
    /// <summary>The items of a batch for a (step, micro-batch), from a per-epoch seeded shuffle: deterministic in
    /// its arguments, so a resumed run sees the same batches.</summary>
    public static IReadOnlyList<T> BatchAt<T>(IReadOnlyList<T> items, int batchSize, int accumulation, int step, int micro, int seed)
    {
        var batchesPerEpoch = Math.Max(1, (int)Math.Ceiling(items.Count / (double)batchSize));
        var global = step * accumulation + micro;
        var epoch = global / batchesPerEpoch;
        var index = global % batchesPerEpoch;
        var order = Enumerable.Range(0, items.Count).ToArray();
        new Random(unchecked(seed * 1_000_003 + epoch)).Shuffle(order);
        return order.Skip(index * batchSize).Take(batchSize).Select(i => items[i]).ToList();
    }

    /// <summary>Trains <paramref name="model"/> on <paramref name="items"/>; with a checkpoint folder the run resumes.</summary>
    public static TrainingResult Train(CausalLM model, IBatchEncoder encoder, IReadOnlyList<QaItem> items, TrainerSettings settings,
        int seed, string? checkpointDir, ITrainingObserver? observer, CancellationToken cancellationToken)
    {
        manual_seed(seed);
        model.train();
        var trainable = model.parameters().ToList();
        var total = settings.TotalSteps(items.Count);
        using var loop = new TrainingLoop(trainable, settings, total, settings.WarmupStepCount(items.Count));
        var result = loop.Run((step, micro) =>
        {
            var batchItems = BatchAt(items, settings.BatchSize, settings.GradientAccumulation, step, micro, seed);
            var batch = encoder.Encode(batchItems.Select(i => (i.Question, i.Answer)).ToList());
            var logits = model.Forward(batch.InputIds, batch.AttentionMask).Logits;
            var loss = AnswerLoss.MeanNll(logits, batch.Labels);
            var tokens = batch.AttentionMask.sum().item<long>();
            return new StepLoss(loss, new Dictionary<string, double>(), tokens);
        }, observer, cancellationToken, checkpointDir);
        model.eval();
        return result;
    }
}
