using System.IO.Compression;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using McMaster.NETCore.Plugins;
using Unlearn.Host.Native;
using Unlearn.Plugins;

namespace Unlearn.Host.Plugins;

/// <summary>A folder to look for plugins in, and how it was named.</summary>
/// <param name="Path">The folder.</param>
/// <param name="Origin">"built-in", "--plugins", "UNLEARN_PLUGIN_PATH" or "pipeline".</param>
public sealed record PluginSource(string Path, string Origin);

/// <summary>Discovers plugin assemblies in folders and loads each into its own load context, sharing the SDK and
/// TorchSharp with the host so contracts and tensors cross the boundary without copies.</summary>
/// <remarks>A folder may hold plugins as <c>Name/Name.dll</c> (the tool's layout), as build outputs
/// (<c>Name.dll</c> next to <c>Name.deps.json</c>), or as NuGet packages (<c>*.nupkg</c>, unpacked into a cache).
/// A broken assembly is recorded as a <see cref="PluginProblem"/>, never thrown: listing skips it with a warning,
/// and a pipeline that names one of its plugins fails with the reason.</remarks>
public sealed class PluginLoader
{
    /// <summary>The environment variable listing extra plugin folders (separated by the path separator).</summary>
    public const string PathVariable = "UNLEARN_PLUGIN_PATH";

    private const string SdkAssemblyName = "Unlearn.Plugins.Abstractions";
    private readonly HashSet<string> _loaded = new(StringComparer.Ordinal);
    private readonly string _packageCache;
    private readonly long _maxUnpackedBytes;
    private readonly string _nugetPackages;

    /// <summary>Creates a loader; <paramref name="packageCache"/> is where .nupkg plugins are unpacked, at most
    /// <paramref name="maxUnpackedBytes"/> bytes each (default <see cref="MaxUnpackedBytes"/>), with the dependencies
    /// their nuspec names taken from .nupkg files beside them or from <paramref name="nugetPackages"/> (default: the
    /// NuGet global packages folder, <c>NUGET_PACKAGES</c> or <c>~/.nuget/packages</c>).</summary>
    public PluginLoader(string? packageCache = null, long maxUnpackedBytes = MaxUnpackedBytes, string? nugetPackages = null)
    {
        _packageCache = packageCache ?? Path.Combine(HostPaths.CacheRoot, "plugin-packages");
        _maxUnpackedBytes = maxUnpackedBytes;
        _nugetPackages = nugetPackages ?? TorchNativeBootstrap.PackagesFolder();
    }

    /// <summary>The tool's own plugins folder, next to the host assembly.</summary>
    public static string BuiltInFolder => Path.Combine(AppContext.BaseDirectory, "plugins");

    /// <summary>Folders from <see cref="PathVariable"/>.</summary>
    public static IReadOnlyList<string> FoldersFromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(PathVariable);
        return string.IsNullOrWhiteSpace(value) ? [] : value.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>A registry of the built-in plugins and those in the folders of <c>--plugins</c>, <see cref="PathVariable"/>
    /// and the pipeline's <c>plugins:</c> list (already allowed by the caller), in that order.</summary>
    public static PluginRegistry LoadRegistry(IReadOnlyList<string> plugins, IReadOnlyList<string> pipelineFolders)
    {
        var sources = new List<PluginSource> { new(BuiltInFolder, "built-in") };
        sources.AddRange(plugins.Select(p => new PluginSource(p, "--plugins")));
        sources.AddRange(FoldersFromEnvironment().Select(p => new PluginSource(p, PathVariable)));
        sources.AddRange(pipelineFolders.Select(p => new PluginSource(p, "pipeline")));
        var registry = new PluginRegistry();
        new PluginLoader().LoadInto(registry, sources);
        return registry;
    }

    /// <summary>Loads every plugin found in the sources into <paramref name="registry"/>.</summary>
    public void LoadInto(PluginRegistry registry, IEnumerable<PluginSource> sources)
    {
        foreach (var source in sources)
        {
            var folder = Path.GetFullPath(source.Path);
            if (!Directory.Exists(folder))
            {
                registry.AddProblem(new PluginProblem(folder, $"plugin folder not found (named by {source.Origin}). Check the path."));
                continue;
            }
            var (plugins, problems) = (registry.Plugins.Count, registry.Problems.Count);
            foreach (var candidate in Candidates(folder, registry))
                LoadAssembly(registry, candidate, source.Origin);
            if (registry.Plugins.Count == plugins && registry.Problems.Count == problems)
                registry.AddProblem(new PluginProblem(folder, $"no plugins found (named by {source.Origin}): the folder holds no plugin assembly " +
                    "(Name.dll with its Name.deps.json, a Name/Name.dll subfolder, or a .nupkg). Point it at the plugin's build output or package folder."));
        }
    }

    private IEnumerable<string> Candidates(string folder, PluginRegistry registry)
    {
        foreach (var sub in Directory.EnumerateDirectories(folder).Order(StringComparer.Ordinal))
        {
            var main = Path.Combine(sub, Path.GetFileName(sub) + ".dll");
            if (File.Exists(main)) yield return main;
        }
        foreach (var dll in Directory.EnumerateFiles(folder, "*.dll").Order(StringComparer.Ordinal))
        {
            // In a build output only the plugin's own assembly has a .deps.json; its dependencies do not.
            if (File.Exists(Path.ChangeExtension(dll, ".deps.json"))) yield return dll;
            else if (!LooksLikeDependency(dll)) yield return dll;
        }
        var packages = Directory.EnumerateFiles(folder, "*.nupkg").Order(StringComparer.Ordinal).ToList();
        // A package that another one in the folder depends on is brought along with that one, not loaded as a plugin.
        var dependencies = packages.Count > 0 ? PackageClosure.DependenciesIn(folder) : [];
        foreach (var package in packages)
        {
            string? main;
            try
            {
                if (IsDependencyPackage(package, dependencies)) continue;
                main = UnpackPackage(package, folder);
            }
            catch (MissingPackageException e)
            {
                registry.AddProblem(new PluginProblem(package, $"a dependency is missing: {e.Message}"));
                continue;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or System.Xml.XmlException)
            {
                registry.AddProblem(new PluginProblem(package, $"not a readable NuGet package: {e.Message}"));
                continue;
            }
            if (main == null) registry.AddProblem(new PluginProblem(package, "the package has no lib/net*/ assembly to load as a plugin."));
            else yield return main;
        }
    }

    // A loose DLL without a deps.json next to others that have one is a dependency copy, not a plugin.
    private static bool LooksLikeDependency(string dll) =>
        Directory.EnumerateFiles(Path.GetDirectoryName(dll)!, "*.deps.json").Any();

    private static bool IsDependencyPackage(string package, HashSet<string> dependencies)
    {
        if (dependencies.Count == 0) return false;
        using var zip = ZipFile.OpenRead(package);
        var entry = PackageClosure.NuspecEntry(zip);
        return entry != null && dependencies.Contains(Path.GetFileNameWithoutExtension(entry.FullName));
    }

    // Unpacks a plugin package into the cache, with the assemblies of its dependency closure next to its own; returns
    // the plugin assembly (the package id's DLL, else the first one), or null when the package has no lib/ assembly.
    private string? UnpackPackage(string package, string folder)
    {
        using var zip = ZipFile.OpenRead(package);
        var nuspecEntry = PackageClosure.NuspecEntry(zip);
        var id = nuspecEntry != null ? Path.GetFileNameWithoutExtension(nuspecEntry.FullName) : Path.GetFileNameWithoutExtension(package);
        var lib = PackageClosure.NearestLibFolder(zip.Entries.Select(e => e.FullName));
        if (lib == null) return null;
        var own = zip.Entries.Where(e => e.FullName.StartsWith(lib, StringComparison.Ordinal) && e.FullName.IndexOf('/', lib.Length) < 0 && e.FullName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(e => e.FullName).Order(StringComparer.Ordinal).ToList();
        var main = own.FirstOrDefault(e => e == lib + id + ".dll") ?? own[0];
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(package)))[..16];
        var target = Path.Combine(_packageCache, id + "-" + hash);
        if (!Directory.Exists(target))
        {
            RemoveAbandonedStaging(target);
            var staging = target + ".partial-" + Guid.NewGuid().ToString("N")[..8];
            try
            {
                Extract(zip, staging, package);
                if (nuspecEntry != null)
                {
                    Nuspec nuspec;
                    using (var stream = nuspecEntry.Open()) nuspec = Nuspec.Read(stream, package);
                    new PackageClosure(folder, _nugetPackages).BringInto(nuspec, Path.Combine(staging, lib));
                }
                Directory.Move(staging, target);
            }
            catch (IOException) when (Directory.Exists(target)) { } // another process unpacked it first
            finally { if (Directory.Exists(staging)) Directory.Delete(staging, true); }
        }
        return Path.Combine(target, main);
    }

    /// <summary>By default at most this many bytes are unpacked from one plugin package (a zip bomb is refused, not unpacked).</summary>
    public const long MaxUnpackedBytes = 1L << 30;

    private void Extract(ZipArchive zip, string staging, string package)
    {
        var root = Path.GetFullPath(staging) + Path.DirectorySeparatorChar;
        var budget = _maxUnpackedBytes;
        var buffer = new byte[81920];
        foreach (var entry in zip.Entries)
        {
            var destination = Path.GetFullPath(Path.Combine(root, entry.FullName));
            if (!destination.StartsWith(root, StringComparison.Ordinal))
                throw new InvalidDataException($"the entry '{entry.FullName}' would unpack outside the package folder");
            if (entry.FullName.EndsWith('/')) { Directory.CreateDirectory(destination); continue; }
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            using var input = entry.Open();
            using var output = File.Create(destination);
            int read;
            while ((read = input.Read(buffer)) > 0)
            {
                budget -= read;
                if (budget < 0)
                    throw new InvalidDataException($"{Path.GetFileName(package)} unpacks to more than {_maxUnpackedBytes >> 20} MiB; a plugin package holds its assemblies, not data");
                output.Write(buffer, 0, read);
            }
        }
    }

    // Unpack folders left by a killed process (older than an hour) are removed before unpacking again.
    private static void RemoveAbandonedStaging(string target)
    {
        var parent = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(parent)) return;
        foreach (var dir in Directory.EnumerateDirectories(parent, Path.GetFileName(target) + ".partial-*"))
        {
            if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) < TimeSpan.FromHours(1)) continue;
            try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private void LoadAssembly(PluginRegistry registry, string path, string origin)
    {
        if (!_loaded.Add(path)) return;
        Version sdkVersion;
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata) { registry.AddProblem(new PluginProblem(path, "not a .NET assembly (no metadata). Only managed plugin DLLs belong in a plugin folder.")); return; }
            var md = pe.GetMetadataReader();
            if (!md.IsAssembly) { registry.AddProblem(new PluginProblem(path, "not a .NET assembly (a module without a manifest).")); return; }
            // Look for the handle: a default AssemblyReference (no match) has no reader and throws on access.
            var sdkHandle = md.AssemblyReferences.FirstOrDefault(h => md.GetString(md.GetAssemblyReference(h).Name) == SdkAssemblyName);
            if (sdkHandle.IsNil)
            {
                registry.AddProblem(new PluginProblem(path, $"not a dotnet-unlearn plugin: it does not reference {SdkAssemblyName}. Build plugins against the SDK (see docs/plugin-authoring.md), or keep other DLLs out of plugin folders."));
                return;
            }
            sdkVersion = md.GetAssemblyReference(sdkHandle).Version;
        }
        catch (BadImageFormatException)
        {
            registry.AddProblem(new PluginProblem(path, "not a .NET assembly (bad image format). Only managed plugin DLLs belong in a plugin folder."));
            return;
        }
        catch (IOException e)
        {
            registry.AddProblem(new PluginProblem(path, "cannot be read: " + e.Message));
            return;
        }

        var host = SdkVersion.Current;
        if (sdkVersion.Major != host.Major || sdkVersion < SdkVersion.LastBreaking)
        {
            registry.AddProblem(new PluginProblem(path, $"built against plugin SDK {sdkVersion.ToString(2)}, which is incompatible with this tool's SDK {host.ToString(2)} (last breaking change: {SdkVersion.LastBreaking.ToString(2)}). Rebuild the plugin against Unlearn.Plugins.Abstractions {host.ToString(2)}."));
            return;
        }
        if (sdkVersion.Minor > host.Minor)
        {
            registry.AddProblem(new PluginProblem(path, $"built against plugin SDK {sdkVersion.ToString(2)}, newer than this tool's SDK {host.ToString(2)}. Update dotnet-unlearn, or rebuild the plugin against SDK {host.ToString(2)}."));
            return;
        }
        if (sdkVersion < SdkVersion.LastPossiblyBreaking)
            registry.AddWarning(new PluginProblem(path, $"built against plugin SDK {sdkVersion.ToString(2)}, below {SdkVersion.LastPossiblyBreaking.ToString(2)}, the last possibly-breaking change (docs/plugin-authoring.md, the SDK version gate); it loads, but rebuild it against SDK {host.ToString(2)} and rerun its tests to be sure it still does what it did."));

        Assembly assembly;
        try
        {
            var loader = PluginLoader_Create(path);
            assembly = loader.LoadDefaultAssembly();
        }
        catch (Exception e)
        {
            registry.AddProblem(new PluginProblem(path, $"could not be loaded: {e.GetType().Name}: {e.Message}"));
            return;
        }
        var attribute = assembly.GetCustomAttribute<UnlearnPluginAttribute>();
        if (attribute == null)
        {
            registry.AddProblem(new PluginProblem(path, "not a dotnet-unlearn plugin: it has no [assembly: UnlearnPlugin(typeof(YourModule))] attribute naming its registration type."));
            return;
        }
        var info = new PluginAssembly(path, assembly.GetName().Name ?? Path.GetFileNameWithoutExtension(path),
            assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? assembly.GetName().Version?.ToString() ?? "0.0.0",
            Sha256Of(path), sdkVersion, origin);
        RegisterModule(registry, attribute.ModuleType, info);
    }

    /// <summary>Instantiates a module type and lets it register; failures become problems naming the file.</summary>
    public static void RegisterModule(PluginRegistry registry, Type moduleType, PluginAssembly info)
    {
        if (!typeof(IPluginModule).IsAssignableFrom(moduleType))
        {
            registry.AddProblem(new PluginProblem(info.Path, $"the UnlearnPlugin attribute names {moduleType.FullName}, which does not implement IPluginModule."));
            return;
        }
        IPluginModule module;
        try { module = (IPluginModule)Activator.CreateInstance(moduleType)!; }
        catch (Exception e)
        {
            var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
            registry.AddProblem(new PluginProblem(info.Path, $"the plugin module {moduleType.FullName} threw in its constructor: {inner.GetType().Name}: {inner.Message}"));
            return;
        }
        try { module.Register(registry.CatalogFor(info)); }
        catch (Exception e)
        {
            registry.AddProblem(new PluginProblem(info.Path, $"the plugin module {moduleType.FullName} threw while registering: {e.GetType().Name}: {e.Message}"));
        }
    }

    private static McMaster.NETCore.Plugins.PluginLoader PluginLoader_Create(string path) =>
        McMaster.NETCore.Plugins.PluginLoader.CreateFromAssemblyFile(
            path,
            // Exactly the SDK and TorchSharp are shared (contracts and tensors cross the boundary); every other
            // assembly a plugin ships is its own, whatever version the host has. One it does not ship comes from the host.
            sharedTypes: [typeof(IPluginModule), typeof(TorchSharp.torch)],
            configure: config => config.PreferSharedTypes = false);

    /// <summary>SHA-256 of a file, lower-case hex.</summary>
    public static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
