using Unlearn.Plugins;
using Unlearn.Plugins.Attacks;
using Unlearn.Plugins.Attacks.Prompts;
using Unlearn.Plugins.Attacks.Readout;
using Unlearn.Plugins.Attacks.Weights;

[assembly: UnlearnPlugin(typeof(AttacksModule))]

namespace Unlearn.Plugins.Attacks;

/// <summary>Registers the attacks of the metric-robustness meta-evaluation.</summary>
public sealed class AttacksModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        catalog.AddAttack<RelearnOptions>(
            new PluginInfo("relearn", "Fine-tunes the model with Adam for a few steps on a seeded subset of a split (default: half the forget split), the relearning attack."),
            options => new RelearnAttack(options));
        catalog.AddAttack<QuantizeOptions>(
            new PluginInfo("quantize", "Round-trips every weight matrix through symmetric int8 or 4-bit quantization, per output channel or group-wise."),
            options => new QuantizeAttack(options));
        catalog.AddAttack<PromptNoiseOptions>(
            new PluginInfo("noise", "Replaces each prompt token by a random other id with probability p, seeded per prompt."),
            options => new PromptNoiseAttack(options));
        catalog.AddAttack<JailbreakOptions>(
            new PluginInfo("jailbreak", "Wraps each question verbatim in a jailbreak template (12 built-in, more from a file)."),
            options => new JailbreakAttack(options));
        catalog.AddAttack<LogitLensOptions>(
            new PluginInfo("probe", "Reads answers through the final norm and output head from an intermediate layer (the logit lens)."),
            options => new LogitLensAttack(options));
    }
}
