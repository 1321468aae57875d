using Unlearn.Plugins;
using Unlearn.TestPlugins.ThrowingFactoryPlugin;

[assembly: UnlearnPlugin(typeof(ThrowingFactoryModule))]

namespace Unlearn.TestPlugins.ThrowingFactoryPlugin;

/// <summary>Registers an objective <c>throwing-factory</c> whose factory throws when the host creates it, and an
/// objective <c>failing-loss</c> that is created fine but throws at its first step (a run failure, not bad input).</summary>
public sealed class ThrowingFactoryModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        catalog.AddObjective<NoOptions>(
            new PluginInfo("throwing-factory", "An objective that cannot be created."),
            _ => throw new InvalidOperationException("factory failed on purpose"));
        catalog.AddObjective<NoOptions>(
            new PluginInfo("failing-loss", "An objective whose loss throws at the first step."),
            _ => new FailingLoss());
    }

    private sealed class FailingLoss : IObjective
    {
        public ObjectiveNeeds Needs => ObjectiveNeeds.None;

        public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch) =>
            throw new InvalidOperationException("loss failed on purpose");
    }
}
