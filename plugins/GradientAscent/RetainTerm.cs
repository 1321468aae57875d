using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>Which regulariser an objective adds on retain inputs.</summary>
public enum RetainTerm
{
    /// <summary>No retain term.</summary>
    None,
    /// <summary>λ·NLL_θ(D_r): mean answer-token NLL of the retain batch.</summary>
    Nll,
    /// <summary>λ·KL(p_ref ‖ p_θ): per answer token of the retain batch (padding and question tokens excluded),
    /// mean over answer tokens.</summary>
    Kl,
}

/// <summary>Computes the retain regulariser of an objective.</summary>
internal static class RetainRegulariser
{
    public static ObjectiveNeeds Needs(RetainTerm term, double weight) => weight <= 0 ? ObjectiveNeeds.None : term switch
    {
        RetainTerm.Nll => ObjectiveNeeds.RetainBatch,
        RetainTerm.Kl => ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel,
        _ => ObjectiveNeeds.None,
    };

    /// <summary>The weighted retain term (null when there is none) and its logs ("retain_nll", and "kl" for KL).</summary>
    public static Tensor? Compute(RetainTerm term, double weight, ObjectiveContext context, UnlearnBatch batch, IDictionary<string, double> logs)
    {
        if (term == RetainTerm.None || weight <= 0) return null;
        var retain = batch.Retain ?? throw new InvalidOperationException("this objective needs a retain batch (ObjectiveNeeds.RetainBatch) but the host passed none");
        var logits = context.Model.Forward(retain.InputIds, retain.AttentionMask).Logits;
        if (term == RetainTerm.Nll)
        {
            var nll = AnswerLoss.MeanNll(logits, retain.Labels);
            logs["retain_nll"] = nll.item<float>();
            return weight * nll;
        }

        var reference = context.Reference ?? throw new InvalidOperationException("the KL retain term needs the reference model (ObjectiveNeeds.ReferenceModel) but the host passed none");
        Tensor referenceLogits;
        using (no_grad())
            referenceLogits = reference.Forward(retain.InputIds, retain.AttentionMask).Logits.detach();
        var kl = AnswerKl(referenceLogits, logits, retain.Labels);
        logs["kl"] = kl.item<float>();
        using (no_grad())
            logs["retain_nll"] = AnswerLoss.MeanNll(logits, retain.Labels).item<float>();
        return weight * kl;
    }

    /// <summary>Mean over answer tokens of KL(p_ref ‖ p_θ) = Σ_v p_ref(v)·(log p_ref(v) − log p_θ(v)), with the same
    /// shift as <see cref="AnswerLoss.TokenNll"/>: the logits at t are compared where the label at t + 1 is an
    /// answer token. Padding and question positions carry no weight.</summary>
    public static Tensor AnswerKl(Tensor referenceLogits, Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var t = logits.shape[1];
        var logP = nn.functional.log_softmax(logits.narrow(1, 0, t - 1).to_type(ScalarType.Float32), -1);
        var logRef = nn.functional.log_softmax(referenceLogits.narrow(1, 0, t - 1).to_type(ScalarType.Float32), -1);
        var perToken = (logRef.exp() * (logRef - logP)).sum(-1);
        var mask = labels.narrow(1, 1, t - 1).ne(TokenBatch.IgnoreIndex).to_type(ScalarType.Float32);
        var kl = (perToken * mask).sum() / mask.sum().clamp_min(1.0);
        return kl.MoveToOuterDisposeScope();
    }
}
