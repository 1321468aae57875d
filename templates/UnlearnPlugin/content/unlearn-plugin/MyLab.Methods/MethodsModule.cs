using MyLab.Methods;
using Unlearn.Plugins;

// The one attribute the host looks for: it names the type that registers this assembly's plugins.
[assembly: UnlearnPlugin(typeof(MethodsModule))]

namespace MyLab.Methods;

/// <summary>Registers this assembly's plugins. The host creates it once per process and calls <see cref="Register"/>:
/// keep both cheap (no model or file loading here).</summary>
public sealed class MethodsModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        // unlearn: { method: scaled-ga, options: { scale: 0.5 } }
        catalog.AddObjective<ScaledAscentOptions>(
            new PluginInfo("scaled-ga", "Gradient ascent on the forget answers with a constant loss scale."),
            options => new ScaledAscent(options.Scale));
        // evaluate: { metrics: [answer-nll] }
        catalog.AddMetric<NoOptions>(
            new PluginInfo("answer-nll", "Mean answer NLL per token (EOS included), per item and averaged over items."),
            _ => new AnswerNll());
    }
}
