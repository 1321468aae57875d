using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>Build outputs the host tests load: the host's own output (with its bundled plugins/ folder), the example
/// plugin and the test plugins, all under the configuration this test assembly was built with.</summary>
public static class HostTestPaths
{
    /// <summary>"Debug" or "Release": the folder above net10.0 in this assembly's output path.</summary>
    public static string Configuration { get; } = DetectConfiguration();

    /// <summary>The host as this test project's build copied it: dotnet-unlearn.dll with its dependencies and natives, and
    /// the host's bundled plugins/ folder (copied by the CopyHostBundledPlugins target). Only this project's build writes
    /// here, so the tool's files cannot change under a test while others rebuild src/Host.</summary>
    public static string HostOutput => AppContext.BaseDirectory;

    /// <summary>The built-in plugins as the tool bundles them.</summary>
    public static string BuiltInPlugins => Path.Combine(HostOutput, "plugins");

    /// <summary>The example third-party plugin's build output.</summary>
    public static string ExamplePlugin => Output("samples/ExamplePlugin");

    /// <summary>The example plugin's assembly.</summary>
    public static string ExamplePluginDll => Path.Combine(ExamplePlugin, "Unlearn.Samples.ExamplePlugin.dll");

    /// <summary>The build output of a test plugin under tests/TestPlugins.</summary>
    public static string TestPlugin(string name) => Output("tests/TestPlugins/" + name);

    /// <summary>The tests' own pipeline files.</summary>
    public static string Pipeline(string file) => Path.Combine(TestPaths.RepoRoot, "tests", "Unlearn.Host.Tests", "Pipelines", file);

    /// <summary>The main pipeline of the repository.</summary>
    public static string Quickstart => Path.Combine(TestPaths.RepoRoot, "pipelines", "quickstart.yaml");

    private static string Output(string project) =>
        Path.Combine(TestPaths.RepoRoot, project, "bin", Configuration, Path.GetFileName(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)));

    private static string DetectConfiguration()
    {
        // .../bin/<Configuration>/<tfm>/
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return tfm.Parent?.Name ?? throw new InvalidOperationException("cannot read the build configuration from " + AppContext.BaseDirectory);
    }
}
