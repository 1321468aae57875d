using static TorchSharp.torch;

namespace Unlearn.Plugins;

/// <summary>What an objective needs from the host besides the forget batch.</summary>
[Flags]
public enum ObjectiveNeeds
{
    /// <summary>Only forget batches.</summary>
    None = 0,
    /// <summary>A retain batch with every forget batch.</summary>
    RetainBatch = 1,
    /// <summary>The frozen model from before unlearning (shared, never trained, no optimiser state).</summary>
    ReferenceModel = 2,
    /// <summary>ℓ_ref(a|q) of every forget item, computed once before training (no second model in memory).</summary>
    ReferenceForgetLoss = 4,
}

/// <summary>Read-only facts an objective may use while preparing.</summary>
/// <param name="Model">The model about to be unlearned.</param>
/// <param name="Encoder">Formats and tokenizes question/answer pairs.</param>
/// <param name="Tokenizer">The model's tokenizer.</param>
/// <param name="ForgetSet">The forget split being unlearned.</param>
/// <param name="Seed">The run's seed; derive every random choice from it.</param>
public sealed record ObjectiveSetup(ILanguageModel Model, IBatchEncoder Encoder, ITokenizerView Tokenizer, IDataSplit ForgetSet, int Seed);

/// <summary>Everything an objective sees at one optimiser step.</summary>
public sealed record ObjectiveContext
{
    /// <summary>The model being trained.</summary>
    public required ILanguageModel Model { get; init; }

    /// <summary>The frozen reference model, when <see cref="ObjectiveNeeds.ReferenceModel"/> was asked for.</summary>
    public ILanguageModel? Reference { get; init; }

    /// <summary>ℓ_ref(a|q) per forget item (indexed like the forget split), when
    /// <see cref="ObjectiveNeeds.ReferenceForgetLoss"/> was asked for.</summary>
    public IReadOnlyList<double>? ReferenceForgetLoss { get; init; }

    /// <summary>Formats and tokenizes extra pairs (refusals for PO/DPO).</summary>
    public required IBatchEncoder Encoder { get; init; }

    /// <summary>A generator seeded from the run seed and the step; the only source of randomness.</summary>
    public required Random Random { get; init; }

    /// <summary>0-based optimiser step.</summary>
    public required int Step { get; init; }
}

/// <summary>The loss to minimise and values worth logging (e.g. forget NLL, retain NLL).</summary>
/// <remarks>A loss made of terms from separate forward passes (a forget term and a retain term) is best made with
/// <see cref="Sum"/>: the host then back-propagates the terms one after the other, so each pass's weight gradients are
/// added to the parameters' gradients as they come instead of waiting in the autograd engine for the other pass's (one
/// set of gradients less at the peak: 4 GiB on a 1B model). The gradients are those of the sum either way.</remarks>
public sealed record ObjectiveLoss(Tensor Loss, IReadOnlyDictionary<string, double> Logs)
{
    /// <summary>The terms whose sum is <see cref="Loss"/>, back-propagated one by one: <see cref="Loss"/> alone unless the
    /// loss was made by <see cref="Sum"/> (a <c>with</c> that replaces <see cref="Loss"/> keeps them: make a new loss instead).</summary>
    public IReadOnlyList<Tensor> Terms { get; private init; } = [Loss];

    /// <summary>The loss Σ <paramref name="terms"/> (null terms, e.g. an unused retain term, are left out), kept as its terms.</summary>
    public static ObjectiveLoss Sum(IReadOnlyDictionary<string, double> logs, params Tensor?[] terms)
    {
        var present = terms.OfType<Tensor>().ToList();
        if (present.Count == 0) throw new ArgumentException("a loss needs at least one term", nameof(terms));
        var total = present.Skip(1).Aggregate(present[0], (sum, term) => sum + term);
        return new ObjectiveLoss(total, logs) { Terms = present };
    }
}

/// <summary>An unlearning method: returns the loss the host minimises. The host owns the optimiser,
/// schedule, batching, precision and device; an objective never writes a training loop.</summary>
public interface IObjective
{
    /// <summary>What the host must provide.</summary>
    ObjectiveNeeds Needs { get; }

    /// <summary>Called once before training.</summary>
    void Prepare(ObjectiveSetup setup) { }

    /// <summary>The parameters to update, or null for all (RMU updates a few MLPs only).</summary>
    IReadOnlyList<TorchSharp.Modules.Parameter>? SelectTrainable(ILanguageModel model) => null;

    /// <summary>The scalar loss for one batch.</summary>
    ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch);
}
