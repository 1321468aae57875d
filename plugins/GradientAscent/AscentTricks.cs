using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>The ascent term of GA, GD, KL, WGA and SatImp on one forget batch, with the tricks of spec §3.
/// Token NLLs come from <see cref="AnswerLoss.TokenNll(AnswerLogits, double)"/> on logits / <see cref="Temperature"/>; with a
/// <see cref="Weighting"/> each token's NLL is multiplied by its detached weight w_t before anything below (WGA, SatImp).
/// <list type="bullet">
/// <item>Likelihood capping keeps, per sequence with n answer tokens, the k = ceil(q·n) tokens of lowest NLL
/// (chosen on the detached NLL); q = 1 keeps all.</item>
/// <item>Without a bound the term is −(Σ kept token NLL)/(Σ kept tokens): minus the batch's mean kept-token NLL.</item>
/// <item>With a bound δ, ℓ_i is the mean kept-token NLL of sequence i and the term is
/// Σ_i k_i·max(0, δ − ℓ_i) / Σ_i k_i: sequences are weighted by their token counts, so while every ℓ_i &lt; δ
/// the gradient equals plain ascent's, and a sequence with ℓ_i ≥ δ contributes nothing.</item>
/// </list></summary>
/// <param name="Temperature">T &gt; 0.</param>
/// <param name="LikelihoodCap">q in (0, 1].</param>
/// <param name="Bound">δ &gt; 0, or null for unbounded ascent.</param>
/// <param name="Weighting">Token weights of weighted ascent, or null for plain ascent (every w_t = 1).</param>
public sealed record AscentTricks(double Temperature = 1.0, double LikelihoodCap = 1.0, double? Bound = null, AscentWeighting? Weighting = null)
{
    /// <summary>The ascent loss term (scalar, to be minimised) and its log values: "forget_nll" (mean answer-token
    /// NLL at T = 1, all tokens), with a bound "bound_active" (fraction of sequences with ℓ_i &lt; δ), and with a
    /// weighting "token_weight" (mean w_t over the kept tokens).</summary>
    public (Tensor Loss, Dictionary<string, double> Logs) Compute(AnswerLogits answer)
    {
        using var scope = NewDisposeScope();
        var logs = new Dictionary<string, double>();
        var (nll, mask) = AnswerLoss.TokenNll(answer, Temperature);
        var plainNll = Temperature == 1.0 ? nll.detach() : AnswerLoss.TokenNll(answer.Detach()).Nll;
        logs["forget_nll"] = (plainNll.sum() / mask.sum().clamp_min(1.0)).item<float>();

        var kept = LikelihoodCap < 1.0 ? CappedMask(nll.detach(), mask, LikelihoodCap) : mask;
        var weighted = nll;
        if (Weighting is { } weighting)
        {
            var weights = weighting.Weights(nll);
            weighted = nll * weights;
            logs["token_weight"] = ((weights * kept).sum() / kept.sum().clamp_min(1.0)).item<float>();
        }
        var sums = (weighted * kept).sum(1);
        var counts = kept.sum(1);
        var total = counts.sum().clamp_min(1.0);
        Tensor loss;
        if (Bound is { } delta)
        {
            var perSequence = sums / counts.clamp_min(1.0);
            var shortfall = nn.functional.relu(delta - perSequence);
            loss = (counts * shortfall).sum() / total;
            var present = counts.gt(0);
            var active = perSequence.lt(delta).logical_and(present).to_type(ScalarType.Float32).sum();
            logs["bound_active"] = (active / present.to_type(ScalarType.Float32).sum().clamp_min(1.0)).item<float>();
        }
        else
        {
            loss = -sums.sum() / total;
        }
        logs["forget_loss"] = loss.item<float>();
        return (loss.MoveToOuterDisposeScope(), logs);
    }

    /// <summary>Mask [B, T-1] of the ceil(q·n_i) answer tokens with the lowest NLL in each sequence.</summary>
    internal static Tensor CappedMask(Tensor nll, Tensor mask, double q)
    {
        using var scope = NewDisposeScope();
        var counts = mask.sum(1).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
        var keepCounts = counts.Select(n => n <= 0 ? 0L : Math.Max(1L, (long)Math.Ceiling(q * n - 1e-9))).ToArray();
        var k = tensor(keepCounts, device: nll.device).unsqueeze(1);
        var ranked = nll.masked_fill(mask.eq(0), double.PositiveInfinity);
        var (_, order) = ranked.sort(1, descending: false, stable: true);
        var width = nll.shape[1];
        var keepSorted = arange(width, device: nll.device).unsqueeze(0).lt(k).to_type(mask.dtype).expand(nll.shape);
        var kept = zeros_like(mask).scatter(1, order, keepSorted);
        return (kept * mask).MoveToOuterDisposeScope();
    }
}

/// <summary>Token weights of weighted ascent: w_t = p_t^<see cref="LikelihoodPower"/> · (1 − p_t)^<see cref="ComplementPower"/>
/// with p_t = exp(−NLL_t) the (temperature-scaled) probability of the label, detached so the weight carries no
/// gradient. WGA is (β, 0): tokens the model still predicts well weigh most; SatImp is (β1, β2).</summary>
/// <param name="LikelihoodPower">Exponent of p_t (≥ 0).</param>
/// <param name="ComplementPower">Exponent of 1 − p_t (≥ 0); 0 drops the factor.</param>
public sealed record AscentWeighting(double LikelihoodPower, double ComplementPower = 0)
{
    /// <summary>w_t for token NLLs [B, T-1] (detached; positions outside the answer get a value that the caller masks).</summary>
    public Tensor Weights(Tensor nll)
    {
        ArgumentNullException.ThrowIfNull(nll);
        using var scope = NewDisposeScope();
        var probability = (-nll.detach()).exp();
        var weights = probability.pow(LikelihoodPower);
        if (ComplementPower != 0) weights = weights * (1.0 - probability).clamp_min(0.0).pow(ComplementPower);
        return weights.MoveToOuterDisposeScope();
    }
}
