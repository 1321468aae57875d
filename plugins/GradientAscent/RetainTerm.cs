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
        var answer = AnswerLogits.Of(context.Model, retain);
        if (term == RetainTerm.Nll)
        {
            var nll = AnswerLoss.MeanNll(answer);
            logs["retain_nll"] = nll.item<float>();
            return weight * nll;
        }

        var reference = context.Reference ?? throw new InvalidOperationException("the KL retain term needs the reference model (ObjectiveNeeds.ReferenceModel) but the host passed none");
        AnswerLogits referenceAnswer;
        using (no_grad())
            referenceAnswer = AnswerLogits.Of(reference, retain).Detach();
        var kl = AnswerKl(referenceAnswer, answer);
        logs["kl"] = kl.item<float>();
        using (no_grad())
            logs["retain_nll"] = AnswerLoss.MeanNll(answer.Detach()).item<float>();
        return weight * kl;
    }

    /// <summary>Mean over answer tokens of KL(p_ref ‖ p_θ) = Σ_v p_ref(v)·(log p_ref(v) − log p_θ(v)), at the positions
    /// that predict an answer token (see <see cref="AnswerLogits"/>): padding and question positions carry no weight.
    /// Both arguments come from the same batch.</summary>
    public static Tensor AnswerKl(AnswerLogits reference, AnswerLogits current)
    {
        using var scope = NewDisposeScope();
        var logP = nn.functional.log_softmax(current.Logits, -1);
        var logRef = nn.functional.log_softmax(reference.Logits, -1);
        var perToken = (logRef.exp() * (logRef - logP)).sum(-1);
        var kl = perToken.sum() / Math.Max(1L, perToken.shape[0]);
        return kl.MoveToOuterDisposeScope();
    }
}
