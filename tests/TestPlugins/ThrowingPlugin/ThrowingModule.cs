using Unlearn.Plugins;
using Unlearn.TestPlugins.ThrowingPlugin;

[assembly: UnlearnPlugin(typeof(ThrowingModule))]

namespace Unlearn.TestPlugins.ThrowingPlugin;

/// <summary>A plugin module whose constructor throws: the host must record a problem naming the file.</summary>
public sealed class ThrowingModule : IPluginModule
{
    /// <summary>Always throws.</summary>
    public ThrowingModule() => throw new InvalidOperationException("module constructor failed on purpose");

    /// <inheritdoc />
    public void Register(IPluginCatalog catalog) => catalog.AddMetric<NoOptions>(new PluginInfo("never-registered", "Unreachable."), _ => throw new NotSupportedException());
}
