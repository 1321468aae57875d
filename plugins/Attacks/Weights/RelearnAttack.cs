using static TorchSharp.torch;

namespace Unlearn.Plugins.Attacks.Weights;

/// <summary>The relearning attack: fine-tunes the model with Adam on a seeded subset of a split (by default half of
/// the forget split) for a few steps, minimising the mean answer-token NLL. Knowledge that unlearning only hid comes
/// back after a few steps; knowledge the model never had does not.</summary>
public sealed class RelearnAttack(RelearnOptions options) : IAttack
{
    /// <inheritdoc />
    public bool ChangesWeights => true;

    /// <inheritdoc />
    public void AttackWeights(AttackSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        var items = Subset(setup.GetSplit(options.Split).Items, options.Fraction, setup.Seed);
        var steps = options.Steps ?? (items.Count + options.BatchSize - 1) / options.BatchSize;
        var module = setup.Model.Module;
        var wasTraining = module.training;
        module.train();
        using var optimizer = optim.Adam(module.parameters(), options.LearningRate);
        try
        {
            for (var step = 0; step < steps; step++)
            {
                setup.CancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var batch = Enumerable.Range(step * options.BatchSize, options.BatchSize).Select(i => items[i % items.Count])
                    .Select(i => (i.Question, i.Answer)).ToList();
                var (nll, mask) = AnswerLoss.TokenNll(setup.Model, setup.Encoder.Encode(batch));
                var loss = (nll * mask).sum() / mask.sum().clamp_min(1);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }
        }
        finally
        {
            if (!wasTraining) module.eval();
        }
    }

    /// <summary>A seeded subset of <paramref name="fraction"/> of the items (at least one), in split order.</summary>
    public static IReadOnlyList<QaItem> Subset(IReadOnlyList<QaItem> items, double fraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("the relearning split has no items", nameof(items));
        var count = Math.Max(1, (int)Math.Round(items.Count * fraction));
        var random = new Random(seed);
        return Enumerable.Range(0, items.Count).OrderBy(_ => random.Next()).Take(count).Order().Select(i => items[i]).ToList();
    }
}
