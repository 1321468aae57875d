using Unlearn.Plugins;
using Unlearn.TestPlugins.ThrowingFactoryPlugin;

[assembly: UnlearnPlugin(typeof(ThrowingFactoryModule))]

namespace Unlearn.TestPlugins.ThrowingFactoryPlugin;

/// <summary>Registers an objective <c>throwing-factory</c> whose factory throws when the host creates it.</summary>
public sealed class ThrowingFactoryModule : IPluginModule
{
    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        catalog.AddObjective<NoOptions>(
            new PluginInfo("throwing-factory", "An objective that cannot be created."),
            _ => throw new InvalidOperationException("factory failed on purpose"));
    }
}
