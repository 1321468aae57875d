using Unlearn.Plugins;
using Unlearn.Plugins.Controls;
using Unlearn.Plugins.Controls.Bounded;
using Unlearn.Plugins.Controls.Calibration;
using Unlearn.Plugins.Controls.EarlyStopping;

[assembly: UnlearnPlugin(typeof(ControlsModule))]

namespace Unlearn.Plugins.Controls;

/// <summary>Registers the controls of excessive unlearning: model-mixing calibration, early stopping and the
/// bounded-unlearning controllers (gradient ceiling, learning-rate back-off, divergence guard).</summary>
public sealed class ControlsModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        catalog.AddCalibrator<ModelMixingOptions>(
            new PluginInfo("model-mixing", "Mixes θ_unl back toward θ_orig, binary-searching the largest α whose retain metric meets τ·M(θ_orig).")
            { Aliases = ["mm"] },
            options => new ModelMixingCalibrator(options));
        catalog.AddController<EarlyStoppingOptions>(
            new PluginInfo("early-stopping", "Evaluates a retain probe every k steps and stops when it falls below τ·M(θ_orig) or the forget goal is reached, restoring a checkpoint above the bar."),
            options => new EarlyStoppingController(options));
        catalog.AddController<GradientCeilingOptions>(
            new PluginInfo("gradient-ceiling", "Caps the global gradient norm for the whole run and records the norms seen."),
            options => new GradientCeilingController(options));
        catalog.AddController<LearningRateBackoffOptions>(
            new PluginInfo("lr-backoff", "Multiplies the learning rate by a factor whenever the retain probe falls below a fraction of the original, down to a floor."),
            options => new LearningRateBackoffController(options));
        catalog.AddController<DivergenceGuardOptions>(
            new PluginInfo("divergence-guard", "Stops training on a NaN/Inf or runaway loss or gradient norm and restores the last healthy checkpoint."),
            options => new DivergenceGuardController(options));
    }
}
