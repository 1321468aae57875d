using Unlearn.Plugins;
using Unlearn.TestPlugins.PrivateDependencyPlugin;

[assembly: UnlearnPlugin(typeof(PrivateDependencyModule))]

namespace Unlearn.TestPlugins.PrivateDependencyPlugin;

/// <summary>Registers an objective whose description names the YamlDotNet version this plugin's code runs against.</summary>
public sealed class PrivateDependencyModule : IPluginModule
{
    /// <summary>The version of YamlDotNet loaded for this plugin.</summary>
    public static string YamlVersion => typeof(YamlDotNet.Serialization.Deserializer).Assembly.GetName().Version!.ToString();

    /// <inheritdoc />
    public void Register(IPluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        catalog.AddObjective<NoOptions>(new PluginInfo("yaml-version", $"Runs with YamlDotNet {YamlVersion}."), _ => new ZeroObjective());
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
