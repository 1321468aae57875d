using System.ComponentModel;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>Options of <c>ga</c>: plain gradient ascent with the ascent tricks.</summary>
public sealed class GaOptions : IValidatableOptions
{
    /// <summary>T: the ascent NLL is computed on logits / T.</summary>
    [Description("Temperature T: the ascent NLL is computed on logits / T (T > 1 softens it).")]
    public double Temperature { get; init; } = 1.0;

    /// <summary>q: per sequence, ascend only on the ceil(q·n) answer tokens with the lowest NLL.</summary>
    [Description("Likelihood cap q in (0, 1]: per sequence ascend only on the ceil(q*n) answer tokens with the lowest NLL; 1 = off.")]
    public double LikelihoodCap { get; init; } = 1.0;

    /// <summary>δ: bounded ascent on the mean token NLL of each sequence; null = off.</summary>
    [Description("Bound delta: a sequence whose mean answer-token NLL exceeds delta contributes nothing (term max(0, delta - nll)); unset = off.")]
    public double? Bound { get; init; }

    internal AscentTricks Tricks => new(Temperature, LikelihoodCap, Bound);

    /// <inheritdoc />
    public IEnumerable<string> Validate() => OptionChecks.Tricks(Temperature, LikelihoodCap, Bound);
}

/// <summary>Options of <c>gd</c> (GradDiff): ascent on the forget set plus λ·retain NLL.</summary>
public sealed class GdOptions : IValidatableOptions
{
    /// <summary>λ, weight of the retain NLL.</summary>
    [Description("Lambda: weight of the retain-set NLL term.")]
    public double RetainWeight { get; init; } = 1.0;

    /// <summary>T: the ascent NLL is computed on logits / T.</summary>
    [Description("Temperature T: the ascent NLL is computed on logits / T (T > 1 softens it).")]
    public double Temperature { get; init; } = 1.0;

    /// <summary>q: per sequence, ascend only on the ceil(q·n) answer tokens with the lowest NLL.</summary>
    [Description("Likelihood cap q in (0, 1]: per sequence ascend only on the ceil(q*n) answer tokens with the lowest NLL; 1 = off.")]
    public double LikelihoodCap { get; init; } = 1.0;

    /// <summary>δ: bounded ascent on the mean token NLL of each sequence; null = off.</summary>
    [Description("Bound delta: a sequence whose mean answer-token NLL exceeds delta contributes nothing (term max(0, delta - nll)); unset = off.")]
    public double? Bound { get; init; }

    internal AscentTricks Tricks => new(Temperature, LikelihoodCap, Bound);

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        OptionChecks.NonNegative("retain_weight", RetainWeight).Concat(OptionChecks.Tricks(Temperature, LikelihoodCap, Bound));
}

/// <summary>Options of <c>kl</c>: ascent on the forget set plus λ·KL(p_ref ‖ p_θ) on retain answer tokens.</summary>
public sealed class KlOptions : IValidatableOptions
{
    /// <summary>λ, weight of the KL term.</summary>
    [Description("Lambda: weight of the KL(p_ref || p_theta) term on retain answer tokens.")]
    public double RetainWeight { get; init; } = 1.0;

    /// <summary>T: the ascent NLL is computed on logits / T.</summary>
    [Description("Temperature T: the ascent NLL is computed on logits / T (T > 1 softens it).")]
    public double Temperature { get; init; } = 1.0;

    /// <summary>q: per sequence, ascend only on the ceil(q·n) answer tokens with the lowest NLL.</summary>
    [Description("Likelihood cap q in (0, 1]: per sequence ascend only on the ceil(q*n) answer tokens with the lowest NLL; 1 = off.")]
    public double LikelihoodCap { get; init; } = 1.0;

    /// <summary>δ: bounded ascent on the mean token NLL of each sequence; null = off.</summary>
    [Description("Bound delta: a sequence whose mean answer-token NLL exceeds delta contributes nothing (term max(0, delta - nll)); unset = off.")]
    public double? Bound { get; init; }

    internal AscentTricks Tricks => new(Temperature, LikelihoodCap, Bound);

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        OptionChecks.NonNegative("retain_weight", RetainWeight).Concat(OptionChecks.Tricks(Temperature, LikelihoodCap, Bound));
}

/// <summary>Options of <c>npo</c>. NPO is self-bounding (the sigmoid saturates once ℓ_θ passes ℓ_ref), and its
/// ℓ_ref is precomputed by the host on full answers at T = 1, so temperature and likelihood capping are not offered:
/// they would make ℓ_θ and ℓ_ref incomparable.</summary>
public sealed class NpoOptions : IValidatableOptions
{
    /// <summary>β, the inverse temperature of the preference.</summary>
    [Description("Beta: inverse temperature of the NPO preference.")]
    public double Beta { get; init; } = 0.5;

    /// <inheritdoc />
    public IEnumerable<string> Validate() => OptionChecks.Positive("beta", Beta);
}

/// <summary>Options of <c>npo-gd</c> and <c>npo-kl</c>: β of the NPO term and λ of the retain term are separate.</summary>
public sealed class NpoRetainOptions : IValidatableOptions
{
    /// <summary>β, the inverse temperature of the preference.</summary>
    [Description("Beta: inverse temperature of the NPO preference (independent of retain_weight).")]
    public double Beta { get; init; } = 0.5;

    /// <summary>λ, weight of the retain term.</summary>
    [Description("Lambda: weight of the retain term (retain NLL for npo-gd, KL for npo-kl).")]
    public double RetainWeight { get; init; } = 1.0;

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        OptionChecks.Positive("beta", Beta).Concat(OptionChecks.NonNegative("retain_weight", RetainWeight));
}

/// <summary>Options of <c>simnpo</c>.</summary>
public sealed class SimNpoOptions : IValidatableOptions
{
    /// <summary>β.</summary>
    [Description("Beta: inverse temperature of the length-normalised preference.")]
    public double Beta { get; init; } = 2.5;

    /// <summary>γ, the reward margin.</summary>
    [Description("Gamma: reward margin subtracted inside the sigmoid.")]
    public double Gamma { get; init; }

    /// <summary>λ, weight of an optional retain NLL term (0 = none, the spec's SimNPO).</summary>
    [Description("Lambda: weight of an optional retain-set NLL term; 0 = none.")]
    public double RetainWeight { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        OptionChecks.Positive("beta", Beta).Concat(OptionChecks.Finite("gamma", Gamma)).Concat(OptionChecks.NonNegative("retain_weight", RetainWeight));
}

/// <summary>Options of <c>po</c> (IdK): NLL of a refusal to each forget question plus λ·retain NLL.</summary>
public sealed class PoOptions : IValidatableOptions
{
    /// <summary>λ, weight of the retain NLL.</summary>
    [Description("Lambda: weight of the retain-set NLL term.")]
    public double RetainWeight { get; init; } = 1.0;

    /// <summary>A file with one refusal per line replacing the built-in list; empty = built-in.</summary>
    [Description("File with one refusal phrasing per line, replacing the built-in list of refusals; empty = built-in.")]
    public string? RefusalsFile { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        OptionChecks.NonNegative("retain_weight", RetainWeight).Concat(OptionChecks.ExistingFile("refusals_file", RefusalsFile));
}

/// <summary>Options of <c>dpo</c> (IdK): prefer a refusal over the true answer, relative to the reference model.</summary>
public sealed class DpoOptions : IValidatableOptions
{
    /// <summary>β.</summary>
    [Description("Beta: inverse temperature of the preference.")]
    public double Beta { get; init; } = 0.1;

    /// <summary>λ, weight of an optional retain NLL term (0 = none, the spec's DPO).</summary>
    [Description("Lambda: weight of an optional retain-set NLL term; 0 = none.")]
    public double RetainWeight { get; init; }

    /// <summary>A file with one refusal per line replacing the built-in list; empty = built-in.</summary>
    [Description("File with one refusal phrasing per line, replacing the built-in list of refusals; empty = built-in.")]
    public string? RefusalsFile { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        OptionChecks.Positive("beta", Beta).Concat(OptionChecks.NonNegative("retain_weight", RetainWeight))
            .Concat(OptionChecks.ExistingFile("refusals_file", RefusalsFile));
}

/// <summary>Options of <c>rmu</c> (representation misdirection). Layers are numbered 1..NumLayers like the
/// hidden-state indices: layer L is the decoder layer whose output is hidden state L.</summary>
public sealed class RmuOptions : IValidatableOptions
{
    /// <summary>The layer L whose output is steered; null = NumLayers / 2 (at least 1).</summary>
    [Description("Layer L (1-based, hidden-state index) whose output is steered; unset = NumLayers / 2.")]
    public int? Layer { get; init; }

    /// <summary>c, the steering coefficient.</summary>
    [Description("Steering coefficient c: forget activations are pushed to c*u.")]
    public double SteeringCoefficient { get; init; } = 6.5;

    /// <summary>When true, c is multiplied by the mean hidden-state norm of layer L on forget answers (measured in Prepare).</summary>
    [Description("Scale c by the mean L2 norm of layer L's hidden states on forget answer tokens, measured before training.")]
    public bool ScaleSteeringToHiddenNorm { get; init; } = true;

    /// <summary>α, weight of the retain activation term.</summary>
    [Description("Alpha: weight of the retain activation term ||h_L(x_r) - h_L^ref(x_r)||^2.")]
    public double Alpha { get; init; } = 100.0;

    /// <summary>The layers (1-based) whose MLP weights are updated; empty = L−2..L.</summary>
    [Description("Layers (1-based) whose MLP weights are trained; empty = L-2..L.")]
    public IReadOnlyList<int> UpdateLayers { get; init; } = [];

    /// <summary>How many forget items are used to measure the hidden-state norm.</summary>
    [Description("Number of forget items used to measure the typical hidden-state norm.")]
    public int NormSampleSize { get; init; } = 32;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Layer is { } l && l < 1) yield return $"layer must be >= 1, got {l}";
        foreach (var m in OptionChecks.Positive("steering_coefficient", SteeringCoefficient)) yield return m;
        foreach (var m in OptionChecks.NonNegative("alpha", Alpha)) yield return m;
        foreach (var u in UpdateLayers.Where(u => u < 1)) yield return $"update_layers entries must be >= 1, got {u}";
        if (NormSampleSize < 1) yield return $"norm_sample_size must be >= 1, got {NormSampleSize}";
    }
}

/// <summary>Options shared by the weighted-ascent objectives <c>wga</c> and <c>satimp</c>: the retain NLL weight and the
/// ascent tricks, which apply to the weighted token NLLs exactly as to plain ascent.</summary>
public abstract class WeightedAscentOptions : IValidatableOptions
{
    /// <summary>λ, weight of the retain NLL.</summary>
    [Description("Lambda: weight of the retain-set NLL term; 0 = none.")]
    public abstract double RetainWeight { get; init; }

    /// <summary>T: the ascent NLL (and the probabilities the weights are made of) on logits / T.</summary>
    [Description("Temperature T: the weighted ascent NLL and its weights are computed on logits / T.")]
    public double Temperature { get; init; } = 1.0;

    /// <summary>q: per sequence, ascend only on the ceil(q·n) answer tokens with the lowest NLL.</summary>
    [Description("Likelihood cap q in (0, 1]: per sequence ascend only on the ceil(q*n) answer tokens with the lowest NLL; 1 = off.")]
    public double LikelihoodCap { get; init; } = 1.0;

    /// <summary>δ: bounded ascent on the weighted mean token NLL of each sequence; null = off.</summary>
    [Description("Bound delta: a sequence whose weighted mean answer-token NLL exceeds delta contributes nothing; unset = off.")]
    public double? Bound { get; init; }

    internal AscentTricks Tricks => new(Temperature, LikelihoodCap, Bound, Weighting);

    /// <summary>The token weights of this objective.</summary>
    internal abstract AscentWeighting Weighting { get; }

    /// <summary>Checks of the objective's own options.</summary>
    protected abstract IEnumerable<string> ValidateWeighting();

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        ValidateWeighting().Concat(OptionChecks.NonNegative("retain_weight", RetainWeight)).Concat(OptionChecks.Tricks(Temperature, LikelihoodCap, Bound));
}

/// <summary>Options of <c>wga</c> (weighted gradient ascent, Wang et al. 2025): token weights w_t = p_t^β.</summary>
public sealed class WgaOptions : WeightedAscentOptions
{
    /// <summary>β, the exponent of the token probability.</summary>
    [Description("Beta: exponent of the token probability in the weight w_t = p_t^beta (0 = plain ascent).")]
    public double Beta { get; init; } = 1.0;

    /// <inheritdoc />
    [Description("Lambda: weight of the retain-set NLL term; 0 = none.")]
    public override double RetainWeight { get; init; } = 1.0;

    internal override AscentWeighting Weighting => new(Beta);

    /// <inheritdoc />
    protected override IEnumerable<string> ValidateWeighting() => OptionChecks.NonNegative("beta", Beta);
}

/// <summary>Options of <c>satimp</c> (Yang et al. 2025): token weights w_t = p_t^β1 · (1 − p_t)^β2.</summary>
public sealed class SatImpOptions : WeightedAscentOptions
{
    /// <summary>β1, the exponent of the token probability (saturation).</summary>
    [Description("Beta1: exponent of the token probability p_t in the weight (saturation).")]
    public double Beta1 { get; init; } = 5.0;

    /// <summary>β2, the exponent of 1 − p_t (importance).</summary>
    [Description("Beta2: exponent of 1 - p_t in the weight (importance).")]
    public double Beta2 { get; init; } = 1.0;

    /// <inheritdoc />
    [Description("Lambda: weight of the retain-set NLL term; 0 = none.")]
    public override double RetainWeight { get; init; } = 0.1;

    internal override AscentWeighting Weighting => new(Beta1, Beta2);

    /// <inheritdoc />
    protected override IEnumerable<string> ValidateWeighting() =>
        OptionChecks.NonNegative("beta1", Beta1).Concat(OptionChecks.NonNegative("beta2", Beta2));
}

/// <summary>Options of <c>ce-u</c> (cross-entropy unlearning, Yang 2025).</summary>
public sealed class CeuOptions : IValidatableOptions
{
    /// <summary>How many leading answer tokens of each sequence carry no loss.</summary>
    [Description("Number of leading answer tokens of each forget answer left out of the loss (the paper's footnote: 1).")]
    public int IgnoreFirstAnswerTokens { get; init; } = 1;

    /// <summary>λ, weight of an optional retain NLL term.</summary>
    [Description("Lambda: weight of an optional retain-set NLL term; 0 = none (the paper's loss).")]
    public double RetainWeight { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (IgnoreFirstAnswerTokens < 0) yield return $"ignore_first_answer_tokens must be >= 0, got {IgnoreFirstAnswerTokens}";
        foreach (var m in OptionChecks.NonNegative("retain_weight", RetainWeight)) yield return m;
    }
}

/// <summary>Options of <c>undial</c> (self-distillation with adjusted logits, Dong et al. 2025).</summary>
public sealed class UndialOptions : IValidatableOptions
{
    /// <summary>γ, subtracted from the reference model's logit of the true token.</summary>
    [Description("Gamma: strength subtracted from the reference model's logit of the true token to make the distillation target.")]
    public double Strength { get; init; } = 10.0;

    /// <summary>λ, weight of an optional retain NLL term.</summary>
    [Description("Lambda: weight of an optional retain-set NLL term; 0 = none (the paper's loss).")]
    public double RetainWeight { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate() =>
        OptionChecks.Positive("strength", Strength).Concat(OptionChecks.NonNegative("retain_weight", RetainWeight));
}

/// <summary>Options of <c>pdu</c> (primal-dual unlearning, Entesari et al. 2025): minimise the logit-margin flattening
/// loss on the forget set subject to retain NLL ≤ ε, with a dual variable λ updated by projected ascent.</summary>
public sealed class PduOptions : IValidatableOptions
{
    /// <summary>α: ε = (1 + α) times the reference model's retain NLL on the same batch (used when retain_bound is unset).</summary>
    [Description("Alpha: the retain constraint is epsilon = (1 + alpha) x the reference model's retain NLL on the same batch (when retain_bound is unset).")]
    public double RetainTolerance { get; init; } = 0.1;

    /// <summary>ε as an absolute retain NLL; null = relative to the reference model (retain_tolerance).</summary>
    [Description("Epsilon as an absolute mean retain-token NLL; unset = (1 + retain_tolerance) x the reference model's.")]
    public double? RetainBound { get; init; }

    /// <summary>η_λ, the step size of the dual update λ ← max(0, λ + η_λ·(L_r − ε)).</summary>
    [Description("Dual step size eta: after each batch lambda <- max(0, lambda + eta x (retain NLL - epsilon)).")]
    public double DualStepSize { get; init; } = 1.0;

    /// <summary>λ_0, the dual variable's starting value.</summary>
    [Description("Initial value of the dual variable lambda (the retain weight at the first step).")]
    public double InitialDual { get; init; } = 1.0;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        foreach (var m in OptionChecks.NonNegative("retain_tolerance", RetainTolerance)) yield return m;
        if (RetainBound is { } bound)
            foreach (var m in OptionChecks.Positive("retain_bound", bound)) yield return m;
        foreach (var m in OptionChecks.Positive("dual_step_size", DualStepSize)) yield return m;
        foreach (var m in OptionChecks.NonNegative("initial_dual", InitialDual)) yield return m;
    }
}
