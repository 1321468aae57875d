using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NuGet.Frameworks;
using NuGet.Versioning;

namespace Unlearn.Host.Plugins;

/// <summary>A package's nuspec: id, version and the dependencies of the group nearest to the host's framework.</summary>
/// <param name="Id">The package id.</param>
/// <param name="Version">The package version.</param>
/// <param name="Dependencies">Dependency ids and version ranges, those whose runtime assets are excluded left out.</param>
internal sealed record Nuspec(string Id, NuGetVersion Version, IReadOnlyList<(string Id, VersionRange Range)> Dependencies)
{
    /// <summary>Reads a nuspec document.</summary>
    /// <exception cref="InvalidDataException">The nuspec lacks an id or version, or a version does not parse.</exception>
    public static Nuspec Read(Stream stream, string origin)
    {
        var metadata = XDocument.Load(stream).Root?.Elements().FirstOrDefault(e => e.Name.LocalName == "metadata")
            ?? throw new InvalidDataException($"{origin}: the nuspec has no <metadata>");
        string? Value(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value.Trim();
        var id = Value("id") ?? throw new InvalidDataException($"{origin}: the nuspec has no <id>");
        if (!NuGetVersion.TryParse(Value("version"), out var version))
            throw new InvalidDataException($"{origin}: the nuspec's <version> '{Value("version")}' is not a NuGet version");
        var dependencies = metadata.Elements().FirstOrDefault(e => e.Name.LocalName == "dependencies");
        var chosen = dependencies == null ? [] : NearestGroup(dependencies);
        var list = new List<(string, VersionRange)>();
        foreach (var dependency in chosen)
        {
            var dependencyId = dependency.Attribute("id")?.Value ?? throw new InvalidDataException($"{origin}: a <dependency> has no id");
            var exclude = dependency.Attribute("exclude")?.Value ?? "";
            if (exclude.Split(',', StringSplitOptions.TrimEntries).Any(a => a.Equals("Runtime", StringComparison.OrdinalIgnoreCase) || a.Equals("All", StringComparison.OrdinalIgnoreCase)))
                continue;
            var text = dependency.Attribute("version")?.Value ?? "0.0.0";
            if (!VersionRange.TryParse(text, out var range))
                throw new InvalidDataException($"{origin}: the dependency {dependencyId} has the version range '{text}', which does not parse");
            list.Add((dependencyId, range));
        }
        return new Nuspec(id, version, list);
    }

    // Dependencies are either grouped by target framework (the group nearest the host's framework applies) or, in old
    // packages, listed directly (they apply to every framework).
    private static IEnumerable<XElement> NearestGroup(XElement dependencies)
    {
        var groups = dependencies.Elements().Where(e => e.Name.LocalName == "group").ToList();
        if (groups.Count == 0) return dependencies.Elements().Where(e => e.Name.LocalName == "dependency");
        var byFramework = groups.ToLookup(g => g.Attribute("targetFramework") is { } tfm ? NuGetFramework.Parse(tfm.Value) : NuGetFramework.AnyFramework);
        var nearest = new FrameworkReducer().GetNearest(PackageClosure.HostFramework, byFramework.Select(g => g.Key));
        return nearest == null ? [] : byFramework[nearest].SelectMany(g => g.Elements().Where(e => e.Name.LocalName == "dependency"));
    }
}

/// <summary>The dependency closure of a <c>.nupkg</c> plugin: its nuspec dependencies, transitively, taken from
/// <c>.nupkg</c> files in the plugin's folder and from the NuGet packages folder; their <c>lib/</c> assemblies for
/// the host's framework are copied next to the plugin's own, where its load context finds them.</summary>
/// <remarks>The packages the host shares with every plugin (the SDK, TorchSharp and its backend bundles, which bring
/// TorchSharp's own dependencies) are skipped, as the SDK package's build targets leave them out of a plugin's build
/// output; so are packages whose assembly the .NET runtime itself provides.</remarks>
internal sealed partial class PackageClosure
{
    /// <summary>The framework the host runs on, as NuGet names it (from the runtime's version: the entry assembly's
    /// target framework is the test host's under <c>dotnet test</c>).</summary>
    public static NuGetFramework HostFramework { get; } =
        new(FrameworkConstants.FrameworkIdentifiers.NetCoreApp, new Version(Environment.Version.Major, Environment.Version.Minor));

    private static readonly string[] SharedPackages = ["Unlearn.Plugins.Abstractions", "TorchSharp", "TorchSharp-cpu", "TorchSharp-cuda-linux", "TorchSharp-cuda-windows"];

    private readonly string _pluginFolder;
    private readonly string _packagesFolder;
    private readonly Lazy<IReadOnlyList<(Nuspec Nuspec, string Path)>> _folderPackages;

    /// <summary>Resolves packages from the <c>.nupkg</c> files in <paramref name="pluginFolder"/>, then from
    /// <paramref name="packagesFolder"/> (NuGet's global packages folder layout, <c>id/version/</c>).</summary>
    public PackageClosure(string pluginFolder, string packagesFolder)
    {
        _pluginFolder = pluginFolder;
        _packagesFolder = packagesFolder;
        _folderPackages = new(() => FolderPackages(pluginFolder));
    }

    /// <summary>Whether a package id names one the host shares with plugins (or the runtime provides): never copied.</summary>
    public static bool IsShared(string id) =>
        SharedPackages.Contains(id, StringComparer.OrdinalIgnoreCase) || id.StartsWith("libtorch-", StringComparison.OrdinalIgnoreCase) ||
        File.Exists(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, id + ".dll"));

    /// <summary>The ids of the packages in <paramref name="folder"/> that another package there depends on: dependencies
    /// brought along with a plugin, not plugins of their own.</summary>
    public static HashSet<string> DependenciesIn(string folder) =>
        FolderPackages(folder).SelectMany(p => p.Nuspec.Dependencies.Select(d => d.Id)).ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Copies the <c>lib/</c> assemblies of every package <paramref name="plugin"/> depends on, transitively,
    /// into <paramref name="loadFolder"/> (an assembly of that name already there, the plugin's own, is kept).</summary>
    /// <exception cref="MissingPackageException">A dependency is in neither place.</exception>
    public void BringInto(Nuspec plugin, string loadFolder)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { plugin.Id };
        var queue = new Queue<(Nuspec Parent, string Id, VersionRange Range)>(plugin.Dependencies.Select(d => (plugin, d.Id, d.Range)));
        while (queue.TryDequeue(out var next))
        {
            if (IsShared(next.Id) || !seen.Add(next.Id)) continue; // the nearest requirement wins, as in NuGet
            if (!SafeId().IsMatch(next.Id)) throw new InvalidDataException($"the dependency id '{next.Id}' of {next.Parent.Id} is not a valid package id");
            var found = Find(next.Id, next.Range)
                ?? throw new MissingPackageException($"{next.Parent.Id} {next.Parent.Version} depends on {next.Id} {next.Range.PrettyPrint()}, which is neither " +
                    $"a .nupkg in {_pluginFolder} nor restored in the NuGet packages folder {_packagesFolder}. Put {next.Id}.{next.Range.MinVersion?.ToNormalizedString() ?? "VERSION"}.nupkg " +
                    "beside the plugin package, or restore it (e.g. `dotnet restore` of the plugin's project, with NUGET_PACKAGES naming that folder).");
            found.Copy(loadFolder);
            foreach (var (id, range) in found.Nuspec.Dependencies) queue.Enqueue((found.Nuspec, id, range));
        }
    }

    private Found? Find(string id, VersionRange range)
    {
        var candidates = new List<Found>();
        candidates.AddRange(_folderPackages.Value.Where(p => p.Nuspec.Id.Equals(id, StringComparison.OrdinalIgnoreCase))
            .Select(p => new Found(p.Nuspec, CopyFromPackage(p.Path))));
        var root = Path.Combine(_packagesFolder, id.ToLowerInvariant());
        if (Directory.Exists(root))
        {
            foreach (var dir in Directory.EnumerateDirectories(root))
            {
                var nuspecFile = Path.Combine(dir, id.ToLowerInvariant() + ".nuspec");
                // NuGet writes .nupkg.metadata last: without it the folder is an interrupted extraction.
                if (!File.Exists(nuspecFile) || !File.Exists(Path.Combine(dir, ".nupkg.metadata"))) continue;
                using var stream = File.OpenRead(nuspecFile);
                candidates.Add(new Found(Nuspec.Read(stream, nuspecFile), CopyFromFolder(dir)));
            }
        }
        var best = range.FindBestMatch(candidates.Select(c => c.Nuspec.Version));
        return best == null ? null : candidates.First(c => c.Nuspec.Version == best);
    }

    private sealed record Found(Nuspec Nuspec, Action<string> Copy);

    /// <summary>The <c>lib/</c> folder (as a zip entry prefix or a relative path, '/'-separated) nearest the host's framework among <paramref name="paths"/>.</summary>
    public static string? NearestLibFolder(IEnumerable<string> paths)
    {
        var folders = paths.Select(p => p.Replace('\\', '/').Split('/')).Where(parts => parts.Length == 3 && parts[0] == "lib" && parts[2].EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(parts => parts[1]).Distinct(StringComparer.Ordinal).ToList();
        var nearest = new FrameworkReducer().GetNearest(HostFramework, folders.Select(NuGetFramework.ParseFolder));
        return nearest == null ? null : "lib/" + folders.First(f => NuGetFramework.ParseFolder(f).Equals(nearest)) + "/";
    }

    private static Action<string> CopyFromPackage(string nupkg) => loadFolder =>
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var lib = NearestLibFolder(zip.Entries.Select(e => e.FullName));
        if (lib == null) return;
        foreach (var entry in zip.Entries.Where(e => e.FullName.StartsWith(lib, StringComparison.Ordinal) && e.FullName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && e.FullName.IndexOf('/', lib.Length) < 0))
        {
            var destination = Path.Combine(loadFolder, Path.GetFileName(entry.FullName));
            if (!File.Exists(destination)) entry.ExtractToFile(destination);
        }
    };

    private static Action<string> CopyFromFolder(string packageDir) => loadFolder =>
    {
        var libRoot = Path.Combine(packageDir, "lib");
        if (!Directory.Exists(libRoot)) return;
        var lib = NearestLibFolder(Directory.EnumerateFiles(libRoot, "*.dll", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(packageDir, f)));
        if (lib == null) return;
        foreach (var dll in Directory.EnumerateFiles(Path.Combine(packageDir, lib), "*.dll"))
        {
            var destination = Path.Combine(loadFolder, Path.GetFileName(dll));
            if (!File.Exists(destination)) File.Copy(dll, destination);
        }
    };

    private static IReadOnlyList<(Nuspec Nuspec, string Path)> FolderPackages(string folder)
    {
        var list = new List<(Nuspec, string)>();
        foreach (var package in Directory.EnumerateFiles(folder, "*.nupkg").Order(StringComparer.Ordinal))
        {
            try
            {
                using var zip = ZipFile.OpenRead(package);
                var entry = NuspecEntry(zip);
                if (entry == null) continue;
                using var stream = entry.Open();
                list.Add((Nuspec.Read(stream, package), package));
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or System.Xml.XmlException) { } // reported when loaded as a plugin
        }
        return list;
    }

    /// <summary>The package's top-level <c>.nuspec</c> entry, if any.</summary>
    public static ZipArchiveEntry? NuspecEntry(ZipArchive zip) =>
        zip.Entries.FirstOrDefault(e => e.FullName.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase) && !e.FullName.Contains('/'));

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]
    private static partial Regex SafeId();
}

/// <summary>A dependency of a .nupkg plugin is in neither the plugin's folder nor the NuGet packages folder.</summary>
internal sealed class MissingPackageException(string message) : Exception(message);
