using Unlearn.Plugins;
using Unlearn.TestPlugins.DuplicatePlugin;

[assembly: UnlearnPlugin(typeof(DuplicateModule))]

namespace Unlearn.TestPlugins.DuplicatePlugin;

/// <summary>Registers an objective named <c>ga</c>, clashing with the built-in one, and one uniquely named objective.</summary>
public sealed class DuplicateModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        catalog.AddObjective<NoOptions>(new PluginInfo("ga", "A second objective claiming the name ga."), _ => new ZeroObjective());
        catalog.AddObjective<NoOptions>(new PluginInfo("duplicate-unique", "An objective whose name nobody else claims."), _ => new ZeroObjective());
    }
}

/// <summary>An objective whose loss is always zero.</summary>
public sealed class ZeroObjective : IObjective
{
    /// <inheritdoc />
    public ObjectiveNeeds Needs => ObjectiveNeeds.None;

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch) =>
        new(TorchSharp.torch.zeros(1).sum(), new Dictionary<string, double>());
}
