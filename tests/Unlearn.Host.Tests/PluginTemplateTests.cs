using System.Text.Json;
using Unlearn.Plugins;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>The `dotnet new unlearn-plugin` template (templates/UnlearnPlugin) references the SDK and testing packages at
/// the SDK version this repository builds, and the TorchSharp version the host runs. scripts/plugin-authoring-check.sh
/// (CI) creates, builds and tests a plugin from it.</summary>
public sealed class PluginTemplateTests
{
    private static JsonElement Symbol(string name)
    {
        var file = Path.Combine(TestPaths.RepoRoot, "templates", "UnlearnPlugin", "content", "unlearn-plugin", ".template.config", "template.json");
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        return document.RootElement.GetProperty("symbols").GetProperty(name).Clone();
    }

    [Fact]
    public void TemplateDefaultsAreTheVersionsThisRepositoryBuilds()
    {
        Assert.Equal(SdkVersion.Current.ToString(3), Symbol("sdk-version").GetProperty("defaultValue").GetString());
        Assert.Equal(typeof(TorchSharp.torch).Assembly.GetName().Version!.ToString(3), Symbol("torchsharp-version").GetProperty("defaultValue").GetString());
    }
}
