using System.Buffers.Binary;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Plugins;

namespace Unlearn.Host.Tests;

/// <summary>Plugin discovery and loading through <see cref="PluginLoader.LoadInto"/> and <see cref="PluginRegistry"/>:
/// the built-ins, the example plugin from its build folder, and every kind of broken plugin.</summary>
public sealed class PluginLoadingTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static readonly SourceLocation At = new("test.yaml", 3, 5);

    private PluginRegistry Load(params PluginSource[] sources)
    {
        var registry = new PluginRegistry();
        new PluginLoader(Path.Combine(_files.Dir, "package-cache")).LoadInto(registry, sources);
        return registry;
    }

    private static PluginSource BuiltIn => new(HostTestPaths.BuiltInPlugins, "built-in");

    private static PluginSource Folder(string path) => new(path, "--plugins");

    private static string Problems(PluginRegistry r) => string.Join("\n", r.Problems);

    [Fact]
    public void BuiltInFolderListsTheBundledPlugins()
    {
        var registry = Load(BuiltIn);
        Assert.True(registry.Problems.Count == 0, Problems(registry));
        string[] Names(PluginKind kind) => registry.Plugins.Where(p => p.Kind == kind).Select(p => p.Name).ToArray();

        Assert.Subset(Names(PluginKind.Objective).ToHashSet(), new HashSet<string> { "ga", "gd", "kl", "npo", "npo-gd", "npo-kl", "simnpo", "po", "dpo", "rmu" });
        Assert.Subset(Names(PluginKind.Metric).ToHashSet(), new HashSet<string> { "es", "es-paraphrased", "probability", "truth-ratio", "perplexity" });
        Assert.Contains("model-mixing", Names(PluginKind.Calibrator));
        Assert.Contains("early-stopping", Names(PluginKind.Controller));
        Assert.Equal(["jailbreak", "noise", "probe", "quantize", "relearn"], Names(PluginKind.Attack).Order());
        Assert.All(registry.Plugins, p => Assert.Equal("built-in", p.Assembly.Origin));
        Assert.Equal(4, registry.Plugins.Select(p => p.Assembly.Path).Distinct().Count());

        // Aliases resolve to the plugin that declares them.
        Assert.Equal("gd", registry.Resolve(PluginKind.Objective, "graddiff", At, "unlearn.method").Name);
        Assert.Equal("npo", registry.Resolve(PluginKind.Objective, "NPO", At, "unlearn.method").Name);
    }

    [Fact]
    public void PluginFolderCanAlsoHoldTheBuildOutputsDirectly()
    {
        // The four plugin projects' own build outputs, named as --plugins would name them.
        var registry = Load(
            Folder(Output("plugins/GradientAscent")), Folder(Output("plugins/Controls")), Folder(Output("plugins/Metrics")), Folder(Output("plugins/Attacks")));
        Assert.True(registry.Problems.Count == 0, Problems(registry));
        Assert.Equal(Load(BuiltIn).Plugins.Select(p => (p.Kind, p.Name)).Order(), registry.Plugins.Select(p => (p.Kind, p.Name)).Order());
        Assert.All(registry.Plugins, p => Assert.Equal("--plugins", p.Assembly.Origin));
    }

    private static string Output(string project) =>
        Path.Combine(Unlearn.Tests.TestPaths.RepoRoot, project, "bin", HostTestPaths.Configuration, "net10.0");

    [Fact]
    public void ExamplePluginIsDiscoveredFromItsBuildFolder()
    {
        var registry = Load(BuiltIn, Folder(HostTestPaths.ExamplePlugin));
        Assert.True(registry.Problems.Count == 0, Problems(registry));

        var objective = registry.Resolve(PluginKind.Objective, "ga-clipped", At, "unlearn.method");
        var metric = registry.Resolve(PluginKind.Metric, "mean-nll", At, "evaluate.metrics.0");
        Assert.Same(objective, registry.Resolve(PluginKind.Objective, "clipped-ga", At, "unlearn.method"));
        Assert.Equal("Unlearn.Samples.ExamplePlugin", objective.Assembly.Name);
        Assert.Equal("--plugins", objective.Assembly.Origin);
        Assert.Equal(HostTestPaths.ExamplePluginDll, objective.Assembly.Path);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(HostTestPaths.ExamplePluginDll))), objective.Assembly.Sha256);
        Assert.Equal(SdkVersion.Current, objective.Assembly.SdkVersion);
        Assert.Same(objective.Assembly.Path, metric.Assembly.Path);

        // Options are typed: listing shows key, type and default; binding validates.
        var option = Assert.Single(OptionsBinder.Describe(objective.OptionsType));
        Assert.Equal(("max_nll", "a number", "5"), (option.Key, option.Type, option.Default));
        var created = registry.Create<IObjective>(objective, OptionMap("max_nll: 2"), "unlearn.options", At);
        Assert.Equal(ObjectiveNeeds.None, created.Needs);
        var e = Assert.Throws<PipelineException>(() => registry.Create<IObjective>(objective, OptionMap("max_nll: -1"), "unlearn.options", At));
        Assert.Contains("unlearn.options.max_nll: max_nll must be a finite number > 0, got -1.", e.Message);
        var mean = registry.Create<IMetric>(metric, OptionMap("question: paraphrased"), "evaluate.metrics.0.options", At);
        Assert.Equal(MetricDirection.Neutral, mean.Direction);
    }

    internal static ConfigMap OptionMap(string yaml) =>
        (ConfigMap)PipelineDocument.ParseText(new StringReader("o:\n  " + yaml + "\n"), "test.yaml")["o"]!;

    [Fact]
    public void APluginGetsItsOwnVersionOfADependencyTheHostAlsoHas()
    {
        // The host runs YamlDotNet 18; the plugin ships 15.3 next to it. Only the SDK and TorchSharp are shared, so
        // the plugin's code runs against its own copy (and registering through the shared SDK still works).
        var host = typeof(YamlDotNet.Serialization.Deserializer).Assembly.GetName().Version!;
        Assert.Equal(18, host.Major);
        var registry = Load(Folder(HostTestPaths.TestPlugin("PrivateDependencyPlugin")));
        Assert.True(registry.Problems.Count == 0, Problems(registry));
        var plugin = registry.Resolve(PluginKind.Objective, "yaml-version", At, "unlearn.method");
        Assert.StartsWith("Runs with YamlDotNet 15.", plugin.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void PluginOutputsLeaveWhatTheHostSharesOut()
    {
        // Neither the SDK nor TorchSharp nor what TorchSharp brings along (SkiaSharp's natives: 40 MB a plugin) is
        // copied next to a plugin; the plugin's own dependency is.
        var folders = Directory.GetDirectories(HostTestPaths.BuiltInPlugins).Append(HostTestPaths.TestPlugin("PrivateDependencyPlugin")).ToList();
        Assert.True(folders.Count >= 4, string.Join(", ", folders));
        foreach (var folder in folders)
        {
            Assert.False(Directory.Exists(Path.Combine(folder, "runtimes")), $"{folder} has a runtimes folder");
            foreach (var shared in new[] { "Unlearn.Plugins.Abstractions.dll", "TorchSharp.dll", "SkiaSharp.dll", "Google.Protobuf.dll", "ICSharpCode.SharpZipLib.dll" })
                Assert.False(File.Exists(Path.Combine(folder, shared)), $"{folder} holds {shared}");
        }
        Assert.True(File.Exists(Path.Combine(HostTestPaths.TestPlugin("PrivateDependencyPlugin"), "YamlDotNet.dll")));
    }

    [Fact]
    public void TwoPluginsClaimingOneNameAreBothRefusedUnderThatName()
    {
        var duplicateDll = Path.Combine(HostTestPaths.TestPlugin("DuplicatePlugin"), "Unlearn.TestPlugins.DuplicatePlugin.dll");
        var registry = Load(BuiltIn, Folder(HostTestPaths.TestPlugin("DuplicatePlugin")));

        var problem = Assert.Single(registry.Problems);
        Assert.Equal(duplicateDll, problem.Path);
        Assert.Contains("two plugins claim the objective name 'ga'", problem.Message);
        Assert.Contains(Path.Combine(HostTestPaths.BuiltInPlugins, "Unlearn.Plugins.GradientAscent", "Unlearn.Plugins.GradientAscent.dll"), problem.Message);
        Assert.Contains(duplicateDll, problem.Message);

        var e = Assert.Throws<PipelineException>(() => registry.Resolve(PluginKind.Objective, "ga", At, "unlearn.method"));
        Assert.Contains("two plugins claim the objective name 'ga'", e.Message);
        Assert.StartsWith("test.yaml:3:5: unlearn.method: ", e.Message);
        // The clash does not take down the rest of either assembly.
        Assert.Equal("duplicate-unique", registry.Resolve(PluginKind.Objective, "duplicate-unique", At, "unlearn.method").Name);
        Assert.Equal("npo", registry.Resolve(PluginKind.Objective, "npo", At, "unlearn.method").Name);
    }

    /// <summary>Copies the example plugin into a new folder and rewrites the version of its reference to the SDK.</summary>
    private string ExampleBuiltAgainstSdk(ushort major, ushort minor)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_files.Dir, $"sdk-{major}.{minor}")).FullName;
        var bytes = File.ReadAllBytes(HostTestPaths.ExamplePluginDll);
        using (var pe = new PEReader(new MemoryStream(bytes)))
        {
            var reader = pe.GetMetadataReader();
            var handle = reader.AssemblyReferences.Single(h => reader.GetString(reader.GetAssemblyReference(h).Name) == "Unlearn.Plugins.Abstractions");
            var rowIndex = MetadataTokens.GetRowNumber(handle) - 1;
            var offset = pe.PEHeaders.MetadataStartOffset + reader.GetTableMetadataOffset(TableIndex.AssemblyRef)
                + rowIndex * reader.GetTableRowSize(TableIndex.AssemblyRef);
            // An AssemblyRef row starts with MajorVersion, MinorVersion, BuildNumber, RevisionNumber (2 bytes each).
            Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(offset)));
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset), major);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset + 2), minor);
        }
        var dll = Path.Combine(folder, Path.GetFileName(HostTestPaths.ExamplePluginDll));
        File.WriteAllBytes(dll, bytes);
        File.Copy(Path.ChangeExtension(HostTestPaths.ExamplePluginDll, ".deps.json"), Path.ChangeExtension(dll, ".deps.json"));
        using (var check = new PEReader(File.OpenRead(dll)))
        {
            var reader = check.GetMetadataReader();
            var version = reader.AssemblyReferences.Select(reader.GetAssemblyReference).Single(r => reader.GetString(r.Name) == "Unlearn.Plugins.Abstractions").Version;
            Assert.Equal(new Version(major, minor, 0, 0), version);
        }
        return dll;
    }

    [Fact]
    public void PluginBuiltAgainstAnotherMajorSdkIsRefused()
    {
        var dll = ExampleBuiltAgainstSdk(2, 0);
        var registry = Load(Folder(Path.GetDirectoryName(dll)!));
        var problem = Assert.Single(registry.Problems);
        Assert.Equal(dll, problem.Path);
        Assert.Contains($"built against plugin SDK 2.0, which is incompatible with this tool's SDK {SdkVersion.Current.ToString(2)}", problem.Message);
        Assert.Contains("Rebuild the plugin", problem.Message);
        Assert.Empty(registry.Plugins);

        // Naming one of its plugins then says why it is missing.
        var e = Assert.Throws<PipelineException>(() => registry.Resolve(PluginKind.Objective, "ga-clipped", At, "unlearn.method"));
        Assert.Contains("unknown objective 'ga-clipped'", e.Message);
        Assert.Contains($"{dll}: built against plugin SDK 2.0", e.Message);
    }

    [Fact]
    public void PluginBuiltBelowTheLastPossiblyBreakingSdkLoadsWithAWarning()
    {
        var older = new Version(SdkVersion.LastPossiblyBreaking.Major, SdkVersion.LastPossiblyBreaking.Minor - 1);
        var dll = ExampleBuiltAgainstSdk((ushort)older.Major, (ushort)older.Minor);
        var registry = Load(Folder(Path.GetDirectoryName(dll)!));
        Assert.True(registry.Problems.Count == 0, Problems(registry));
        Assert.Contains(registry.Plugins, p => p.Name == "ga-clipped" && p.Assembly.Path == dll);
        var warning = Assert.Single(registry.Warnings);
        Assert.Equal(dll, warning.Path);
        Assert.Contains($"built against plugin SDK {older.ToString(2)}, below {SdkVersion.LastPossiblyBreaking.ToString(2)}, the last possibly-breaking change", warning.Message);

        // At or above it: no warning.
        var current = ExampleBuiltAgainstSdk((ushort)SdkVersion.Current.Major, (ushort)SdkVersion.Current.Minor);
        var clean = Load(Folder(Path.GetDirectoryName(current)!));
        Assert.True(clean.Problems.Count == 0, Problems(clean));
        Assert.Empty(clean.Warnings);
    }

    [Fact]
    public void PluginBuiltAgainstANewerMinorSdkIsRefused()
    {
        var newer = new Version(SdkVersion.Current.Major, SdkVersion.Current.Minor + 1);
        var dll = ExampleBuiltAgainstSdk((ushort)newer.Major, (ushort)newer.Minor);
        var registry = Load(Folder(Path.GetDirectoryName(dll)!));
        var problem = Assert.Single(registry.Problems);
        Assert.Equal(dll, problem.Path);
        Assert.Contains($"built against plugin SDK {newer.ToString(2)}, newer than this tool's SDK {SdkVersion.Current.ToString(2)}", problem.Message);
    }

    [Fact]
    public void RandomBytesNamedDllAreNotAnAssembly()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_files.Dir, "junk")).FullName;
        var bytes = new byte[4096];
        new Random(1234).NextBytes(bytes);
        var dll = Path.Combine(folder, "x.dll");
        File.WriteAllBytes(dll, bytes);

        var registry = Load(Folder(folder));
        var problem = Assert.Single(registry.Problems);
        Assert.Equal(dll, problem.Path);
        Assert.Contains("not a .NET assembly", problem.Message);
    }

    [Fact]
    public void ManagedDllThatDoesNotReferenceTheSdkIsNotAPlugin()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_files.Dir, "yaml")).FullName;
        var dll = Path.Combine(folder, "YamlDotNet.dll");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "YamlDotNet.dll"), dll);

        var problem = Assert.Single(Load(Folder(folder)).Problems);
        Assert.Equal(dll, problem.Path);
        Assert.Contains("not a dotnet-unlearn plugin: it does not reference Unlearn.Plugins.Abstractions", problem.Message);
    }

    [Fact]
    public void ManagedDllReferencingTheSdkWithoutTheAttributeIsNotAPlugin()
    {
        // Unlearn.Data references the SDK (for QaItem) but is a library, not a plugin.
        var folder = Directory.CreateDirectory(Path.Combine(_files.Dir, "library")).FullName;
        var dll = Path.Combine(folder, "Unlearn.Data.dll");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Unlearn.Data.dll"), dll);

        var problem = Assert.Single(Load(Folder(folder)).Problems);
        Assert.Equal(dll, problem.Path);
        Assert.Contains("has no [assembly: UnlearnPlugin(typeof(YourModule))] attribute", problem.Message);
    }

    [Fact]
    public void ModuleConstructorThatThrowsBecomesAProblemNamingTheFile()
    {
        var dll = Path.Combine(HostTestPaths.TestPlugin("ThrowingPlugin"), "Unlearn.TestPlugins.ThrowingPlugin.dll");
        var registry = Load(BuiltIn, Folder(HostTestPaths.TestPlugin("ThrowingPlugin")));

        var problem = Assert.Single(registry.Problems);
        Assert.Equal(dll, problem.Path);
        Assert.Contains("the plugin module Unlearn.TestPlugins.ThrowingPlugin.ThrowingModule threw in its constructor: InvalidOperationException: module constructor failed on purpose", problem.Message);
        Assert.StartsWith(dll + ": ", problem.ToString());
        Assert.DoesNotContain(registry.Plugins, p => p.Name == "never-registered");
        Assert.Contains(registry.Plugins, p => p.Name == "ga"); // the built-ins still load
    }

    [Fact]
    public void FactoryThatThrowsGivesAPluginExceptionNamingTheFile()
    {
        var dll = Path.Combine(HostTestPaths.TestPlugin("ThrowingFactoryPlugin"), "Unlearn.TestPlugins.ThrowingFactoryPlugin.dll");
        var registry = Load(Folder(HostTestPaths.TestPlugin("ThrowingFactoryPlugin")));
        Assert.Empty(registry.Problems);

        var descriptor = registry.Resolve(PluginKind.Objective, "throwing-factory", At, "unlearn.method");
        var e = Assert.Throws<PluginException>(() => registry.Create<IObjective>(descriptor, null, "unlearn.options", At));
        Assert.Equal($"{dll}: the objective 'throwing-factory' threw while being created: InvalidOperationException: factory failed on purpose", e.Message);
        Assert.IsType<InvalidOperationException>(e.InnerException);
    }

    [Fact]
    public void UnknownNameListsValidNamesAndTheNearest()
    {
        var registry = Load(BuiltIn);
        var e = Assert.Throws<PipelineException>(() => registry.Resolve(PluginKind.Objective, "npoo", At, "unlearn.method"));
        Assert.Equal("unlearn.method", e.KeyPath);
        Assert.Contains("unknown objective 'npoo'. Did you mean 'npo'? Valid: ", e.Message);
        foreach (var name in new[] { "dpo", "ga", "gd", "npo", "rmu", "simnpo" }) Assert.Contains(name, e.Message);

        var far = Assert.Throws<PipelineException>(() => registry.Resolve(PluginKind.Calibrator, "zzzzzzzz", At, "calibrate"));
        Assert.DoesNotContain("Did you mean", far.Message);
        Assert.Contains("model-mixing", far.Message);
    }

    [Fact]
    public void MissingFolderIsAProblem()
    {
        var missing = Path.Combine(_files.Dir, "not-there");
        var problem = Assert.Single(Load(Folder(missing)).Problems);
        Assert.Equal(missing, problem.Path);
        Assert.Contains("plugin folder not found (named by --plugins)", problem.Message);
    }

    [Fact]
    public void FolderWithoutPluginsWarnsNoPluginsFound()
    {
        var empty = Path.Combine(_files.Dir, "empty-plugins");
        Directory.CreateDirectory(empty);
        File.WriteAllText(Path.Combine(empty, "README.txt"), "not a plugin");
        var problem = Assert.Single(Load(Folder(empty)).Problems);
        Assert.Equal(empty, problem.Path);
        Assert.Contains("no plugins found (named by --plugins)", problem.Message);
    }

    [Fact]
    public void PackageThatUnpacksBeyondTheLimitIsRefusedAndLeavesNothingBehind()
    {
        var folder = Path.Combine(_files.Dir, "bomb");
        Directory.CreateDirectory(folder);
        var package = Path.Combine(folder, "Bomb.Plugin.1.0.0.nupkg");
        using (var zip = System.IO.Compression.ZipFile.Open(package, System.IO.Compression.ZipArchiveMode.Create))
        {
            using var stream = zip.CreateEntry("lib/net10.0/Bomb.Plugin.dll").Open();
            stream.Write(new byte[3 << 20]); // 3 MiB of zeros, a few KiB compressed
        }
        var cache = Path.Combine(_files.Dir, "bomb-cache");
        var registry = new PluginRegistry();
        new PluginLoader(cache, maxUnpackedBytes: 1 << 20).LoadInto(registry, [Folder(folder)]);

        var problem = Assert.Single(registry.Problems, p => p.Path == package);
        Assert.Contains("not a readable NuGet package: Bomb.Plugin.1.0.0.nupkg unpacks to more than 1 MiB", problem.Message);
        Assert.Empty(Directory.Exists(cache) ? Directory.EnumerateFileSystemEntries(cache) : []);
    }

    [Fact]
    public void NativeStackFramesAreCutFromErrorMessages()
    {
        const string torch = "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1\n" +
            "Exception raised from infer_size_impl at ../aten/src/ATen/ExpandUtils.cpp:31 (most recent call first):\n" +
            "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x9b (0x7f in libc10.so)\n";
        Assert.Equal("The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1", ErrorText.WithoutNativeFrames(torch));
        Assert.Equal("plain message", ErrorText.WithoutNativeFrames("plain message"));
    }
}
