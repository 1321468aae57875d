using Unlearn.Plugins;
using Unlearn.Plugins.GradientAscent;

[assembly: UnlearnPlugin(typeof(GradientAscentModule))]

namespace Unlearn.Plugins.GradientAscent;

/// <summary>Registers the gradient-ascent family of unlearning objectives (spec §3): ga, gd, kl, npo, npo-gd,
/// npo-kl, simnpo, po, dpo and rmu; and the further methods OpenUnlearning ships: wga, satimp, ce-u, undial and pdu.</summary>
public sealed class GradientAscentModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        catalog.AddObjective<GaOptions>(
            new PluginInfo("ga", "Gradient ascent: maximise the answer NLL of the forget set."),
            o => new GradientAscentObjective(o.Tricks, RetainTerm.None, 0));
        catalog.AddObjective<GdOptions>(
            new PluginInfo("gd", "Gradient difference: ascent on the forget set plus λ times the retain-set NLL.") { Aliases = ["graddiff", "grad-diff"] },
            o => new GradientAscentObjective(o.Tricks, RetainTerm.Nll, o.RetainWeight));
        catalog.AddObjective<KlOptions>(
            new PluginInfo("kl", "Ascent on the forget set plus λ times KL(p_ref ‖ p_θ) per answer token of retain inputs."),
            o => new GradientAscentObjective(o.Tricks, RetainTerm.Kl, o.RetainWeight));
        catalog.AddObjective<NpoOptions>(
            new PluginInfo("npo", "Negative preference optimisation against precomputed reference answer losses."),
            o => new NpoObjective(o.Beta, RetainTerm.None, 0));
        catalog.AddObjective<NpoRetainOptions>(
            new PluginInfo("npo-gd", "NPO plus λ times the retain-set NLL (β and λ separate)."),
            o => new NpoObjective(o.Beta, RetainTerm.Nll, o.RetainWeight));
        catalog.AddObjective<NpoRetainOptions>(
            new PluginInfo("npo-kl", "NPO plus λ times KL(p_ref ‖ p_θ) on retain answer tokens (β and λ separate)."),
            o => new NpoObjective(o.Beta, RetainTerm.Kl, o.RetainWeight));
        catalog.AddObjective<SimNpoOptions>(
            new PluginInfo("simnpo", "Length-normalised NPO without a reference model (SimNPO)."),
            o => new SimNpoObjective(o.Beta, o.Gamma, o.RetainWeight));
        catalog.AddObjective<PoOptions>(
            new PluginInfo("po", "Preference optimisation (IdK): teach a refusal for forget questions plus λ times the retain NLL.") { Aliases = ["idk", "idk-po"] },
            o => new RefusalObjective(RefusalSet.Load(o.RefusalsFile), o.RetainWeight));
        catalog.AddObjective<DpoOptions>(
            new PluginInfo("dpo", "DPO (IdK): prefer a refusal over the true forget answer, relative to the reference model.") { Aliases = ["idk-dpo"] },
            o => new RefusalDpoObjective(RefusalSet.Load(o.RefusalsFile), o.Beta, o.RetainWeight));
        catalog.AddObjective<RmuOptions>(
            new PluginInfo("rmu", "Representation misdirection: steer forget activations of a middle layer to a random direction, keep retain activations."),
            o => new RmuObjective(o));
        catalog.AddObjective<WgaOptions>(
            new PluginInfo("wga", "Weighted gradient ascent: ascent on answer tokens weighted by p^beta (detached), plus λ times the retain NLL."),
            o => new GradientAscentObjective(o.Tricks, RetainTerm.Nll, o.RetainWeight));
        catalog.AddObjective<SatImpOptions>(
            new PluginInfo("satimp", "SatImp: ascent on answer tokens weighted by p^beta1 (1 - p)^beta2 (detached), plus λ times the retain NLL."),
            o => new GradientAscentObjective(o.Tricks, RetainTerm.Nll, o.RetainWeight));
        catalog.AddObjective<CeuOptions>(
            new PluginInfo("ce-u", "Cross-entropy unlearning: fit each forget answer position to the model's own distribution with the true token removed.") { Aliases = ["ceu"] },
            o => new CrossEntropyUnlearningObjective(o.IgnoreFirstAnswerTokens, o.RetainWeight));
        catalog.AddObjective<UndialOptions>(
            new PluginInfo("undial", "UNDIAL: self-distillation towards the reference model's distribution with the true token's logit lowered by gamma."),
            o => new UndialObjective(o.Strength, o.RetainWeight));
        catalog.AddObjective<PduOptions>(
            new PluginInfo("pdu", "Primal-dual unlearning: flatten the forget logits subject to retain NLL <= epsilon, with a dual variable as the retain weight."),
            o => new PrimalDualObjective(o));
    }
}
