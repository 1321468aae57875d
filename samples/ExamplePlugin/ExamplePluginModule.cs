using Unlearn.Plugins;
using Unlearn.Samples.ExamplePlugin;

// The one attribute the host looks for: it names the type that registers this assembly's plugins.
// An assembly without it is refused with a message saying so.
[assembly: UnlearnPlugin(typeof(ExamplePluginModule))]

namespace Unlearn.Samples.ExamplePlugin;

/// <summary>Registers the example's two plugins: the <c>ga-clipped</c> objective and the <c>mean-nll</c> metric.</summary>
/// <remarks>The host creates this type once per process with its public parameterless constructor and calls
/// <see cref="Register"/>. Keep both cheap: no model loading, no file reading here. Work belongs in the
/// factories (called once per run with the bound options) or in the plugin objects themselves.</remarks>
public sealed class ExamplePluginModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);

        // An objective: used as `unlearn: { method: ga-clipped, options: { max_nll: 4 } }` in a pipeline.
        // The factory receives a ClippedAscentOptions already bound from defaults, the pipeline file and
        // --set overrides, and already validated (ClippedAscentOptions.Validate returned no message).
        catalog.AddObjective<ClippedAscentOptions>(
            new PluginInfo("ga-clipped", "Gradient ascent whose per-token answer NLL is clamped at max_nll, so tokens already forgotten stop pushing.")
            {
                Aliases = ["clipped-ga"],
            },
            options => new ClippedAscentObjective(options.MaxNll));

        // A metric: used as `evaluate: { metrics: [mean-nll] }` or with options
        // `- { name: mean-nll, options: { question: paraphrased } }`.
        catalog.AddMetric<MeanNllOptions>(
            new PluginInfo("mean-nll", "Mean answer-token NLL (nats per token, EOS included); per item its own mean, in aggregate token-weighted."),
            options => new MeanNllMetric(options.Question));
    }
}
