using System.IO.Compression;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Plugins;

namespace Unlearn.Host.Tests;

/// <summary>A <c>.nupkg</c> plugin brings its dependency closure: its nuspec dependencies, transitively, from .nupkg files
/// beside it or from the NuGet packages folder, placed next to its assembly; a missing one is a problem naming it.
/// The packages are built here from the PrivateDependencyPlugin test plugin (which uses YamlDotNet 15.3 while the host
/// has 18) and its YamlDotNet.dll.</summary>
public sealed class PackageDependencyTests : IDisposable
{
    private const string PluginId = "Unlearn.TestPlugins.PrivateDependencyPlugin";
    private static readonly SourceLocation At = new("test.yaml", 3, 5);
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Built(string file) => Path.Combine(HostTestPaths.TestPlugin("PrivateDependencyPlugin"), file);

    private string NewFolder(string name) => Directory.CreateDirectory(Path.Combine(_files.Dir, name)).FullName;

    private static string Nuspec(string id, string version, string dependencies) => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
          <metadata>
            <id>{id}</id>
            <version>{version}</version>
            <authors>tests</authors>
            <description>test package</description>
            <dependencies>{dependencies}</dependencies>
          </metadata>
        </package>
        """;

    private static void WritePackage(string path, string id, string version, string dependencies, string framework, params string[] dlls)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var writer = new StreamWriter(zip.CreateEntry(id + ".nuspec").Open()))
            writer.Write(Nuspec(id, version, dependencies));
        foreach (var dll in dlls) zip.CreateEntryFromFile(dll, $"lib/{framework}/{Path.GetFileName(dll)}");
    }

    // The plugin as `dotnet pack` writes it: dependencies per framework, the SDK and TorchSharp among them (shared with
    // the host, so never looked for), YamlDotNet its own.
    private static void WritePlugin(string folder, string yamlVersion = "15.3.0") =>
        WritePackage(Path.Combine(folder, PluginId + ".1.0.0.nupkg"), PluginId, "1.0.0", $"""
            <group targetFramework=".NETStandard2.0"><dependency id="Never.Used" version="1.0.0" /></group>
            <group targetFramework="net10.0">
              <dependency id="Unlearn.Plugins.Abstractions" version="1.4.0" exclude="Build,Analyzers" />
              <dependency id="TorchSharp" version="0.107.0" exclude="Build,Analyzers" />
              <dependency id="YamlDotNet" version="{yamlVersion}" exclude="Build,Analyzers" />
            </group>
            """, "net10.0", Built(PluginId + ".dll"));

    private PluginRegistry Load(string folder, string nugetPackages)
    {
        var registry = new PluginRegistry();
        new PluginLoader(Path.Combine(_files.Dir, "package-cache"), nugetPackages: nugetPackages).LoadInto(registry, [new PluginSource(folder, "--plugins")]);
        return registry;
    }

    [Fact]
    public void DependencyPackageBesideThePluginIsBroughtAlongAndNotLoadedAsAPlugin()
    {
        var folder = NewFolder("beside");
        WritePlugin(folder);
        // YamlDotNet depends on a package of its own, found in the same folder (the closure is transitive).
        WritePackage(Path.Combine(folder, "YamlDotNet.15.3.0.nupkg"), "YamlDotNet", "15.3.0", """<dependency id="Yaml.Helper" version="[1.0.0, 2.0.0)" />""", "netstandard2.0", Built("YamlDotNet.dll"));
        var helper = Path.Combine(NewFolder("helper-build"), "Yaml.Helper.dll");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Unlearn.Data.dll"), helper);
        WritePackage(Path.Combine(folder, "Yaml.Helper.1.2.0.nupkg"), "Yaml.Helper", "1.2.0", "", "netstandard2.1", helper);

        var registry = Load(folder, NewFolder("empty-nuget"));

        Assert.True(registry.Problems.Count == 0, string.Join("\n", registry.Problems));
        var plugin = registry.Resolve(PluginKind.Objective, "yaml-version", At, "unlearn.method");
        Assert.StartsWith("Runs with YamlDotNet 15.", plugin.Description, StringComparison.Ordinal);
        var loadFolder = Path.GetDirectoryName(plugin.Assembly.Path)!;
        Assert.Equal(["Unlearn.TestPlugins.PrivateDependencyPlugin.dll", "Yaml.Helper.dll", "YamlDotNet.dll"],
            Directory.GetFiles(loadFolder, "*.dll").Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void DependencyRestoredInTheNuGetPackagesFolderIsBroughtAlong()
    {
        var folder = NewFolder("plugin-only");
        WritePlugin(folder);
        var nuget = NewFolder("nuget");
        // NuGet's layout: id/version/ in lower case, the nuspec, lib/<tfm>/, and .nupkg.metadata written last.
        foreach (var (version, complete) in new[] { ("15.3.0", true), ("15.4.0", false) })
        {
            var dir = Directory.CreateDirectory(Path.Combine(nuget, "yamldotnet", version)).FullName;
            File.WriteAllText(Path.Combine(dir, "yamldotnet.nuspec"), Nuspec("YamlDotNet", version, ""));
            Directory.CreateDirectory(Path.Combine(dir, "lib", "netstandard2.0"));
            File.Copy(Built("YamlDotNet.dll"), Path.Combine(dir, "lib", "netstandard2.0", "YamlDotNet.dll"));
            if (complete) File.WriteAllText(Path.Combine(dir, ".nupkg.metadata"), "{}");
        }

        var registry = Load(folder, nuget);

        Assert.True(registry.Problems.Count == 0, string.Join("\n", registry.Problems));
        var plugin = registry.Resolve(PluginKind.Objective, "yaml-version", At, "unlearn.method");
        Assert.StartsWith("Runs with YamlDotNet 15.", plugin.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingDependencyIsAProblemNamingThePackageAndTheFix()
    {
        var folder = NewFolder("missing");
        WritePlugin(folder, yamlVersion: "[15.3.0]");
        // Another version does not satisfy the exact range.
        WritePackage(Path.Combine(folder, "YamlDotNet.16.0.0.nupkg"), "YamlDotNet", "16.0.0", "", "netstandard2.0", Built("YamlDotNet.dll"));
        var cache = Path.Combine(_files.Dir, "package-cache");

        var registry = Load(folder, NewFolder("empty-nuget"));

        var package = Path.Combine(folder, PluginId + ".1.0.0.nupkg");
        var problem = Assert.Single(registry.Problems);
        Assert.Equal(package, problem.Path);
        Assert.Contains($"a dependency is missing: {PluginId} 1.0.0 depends on YamlDotNet (= 15.3.0)", problem.Message);
        Assert.Contains("Put YamlDotNet.15.3.0.nupkg beside the plugin package, or restore it", problem.Message);
        Assert.Empty(registry.Plugins);
        // Nothing half-resolved is left in the cache: the next load tries again.
        Assert.Empty(Directory.Exists(cache) ? Directory.EnumerateFileSystemEntries(cache) : []);
    }
}
