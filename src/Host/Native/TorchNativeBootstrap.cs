using System.Runtime.InteropServices;
using System.Text.Json;
using Unlearn.NativeSupport;

namespace Unlearn.Host.Native;

/// <summary>Where the libtorch natives of this process come from.</summary>
public enum TorchNativeSource
{
    /// <summary>Next to the tool (a build output or <c>dotnet run</c>): TorchSharp loads them itself.</summary>
    AppFolder,
    /// <summary>From the NuGet global packages folder, preloaded by <see cref="TorchNativeBootstrap"/>.</summary>
    PackageCache,
    /// <summary>Nowhere: commands that need torch fail and point to <c>dotnet unlearn setup</c>.</summary>
    NotFound,
    /// <summary>Not Linux x64: TorchSharp's own probing is left to do the work.</summary>
    NotHandled,
}

/// <summary>The TorchSharp and libtorch packages this build of the tool was compiled against (from its deps.json).</summary>
/// <param name="BundlePackage">The backend bundle package id, e.g. "TorchSharp-cpu".</param>
/// <param name="BundleVersion">Its version, e.g. "0.107.0".</param>
/// <param name="TorchSharpVersion">Version of the TorchSharp package (holds libLibTorchSharp.so).</param>
/// <param name="LibTorchPackage">The package holding the Linux x64 libtorch libraries, e.g. "libtorch-cpu-linux-x64".</param>
/// <param name="LibTorchVersion">Its version, e.g. "2.10.0".</param>
public sealed record TorchPackages(string BundlePackage, string BundleVersion, string TorchSharpVersion, string LibTorchPackage, string LibTorchVersion)
{
    /// <summary>What TorchSharp 0.107 on the CPU backend uses; the fallback when the deps.json cannot be read.</summary>
    public static TorchPackages CpuDefault { get; } = new("TorchSharp-cpu", "0.107.0", "0.107.0", "libtorch-cpu-linux-x64", "2.10.0");

    /// <summary>Reads the package versions from a deps.json file; falls back to <see cref="CpuDefault"/> for what is missing.</summary>
    public static TorchPackages FromDepsFile(string depsJsonPath)
    {
        if (!File.Exists(depsJsonPath)) return CpuDefault;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(depsJsonPath));
        if (!doc.RootElement.TryGetProperty("libraries", out var libraries)) return CpuDefault;
        var versions = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var library in libraries.EnumerateObject())
        {
            var slash = library.Name.IndexOf('/');
            if (slash > 0) versions[library.Name[..slash]] = library.Name[(slash + 1)..];
        }
        var bundle = versions.ContainsKey("TorchSharp-cuda-linux") ? "TorchSharp-cuda-linux" : CpuDefault.BundlePackage;
        var libTorch = versions.Keys.FirstOrDefault(k => k.StartsWith("libtorch-", StringComparison.OrdinalIgnoreCase)
            && k.EndsWith("-linux-x64", StringComparison.OrdinalIgnoreCase)) ?? CpuDefault.LibTorchPackage;
        return new TorchPackages(
            bundle,
            versions.GetValueOrDefault(bundle, CpuDefault.BundleVersion),
            versions.GetValueOrDefault("TorchSharp", CpuDefault.TorchSharpVersion),
            libTorch,
            versions.GetValueOrDefault(libTorch, CpuDefault.LibTorchVersion));
    }
}

/// <summary>The outcome of <see cref="TorchNativeBootstrap.Prepare"/>.</summary>
/// <param name="Source">Where the natives come from.</param>
/// <param name="Packages">The package versions looked for.</param>
/// <param name="LibTorchFolder">The folder holding libtorch_cpu.so, when found.</param>
/// <param name="LibTorchSharpPath">The libLibTorchSharp.so that was loaded (a patched copy in the cache where the system
/// libstdc++ needs it), when found.</param>
/// <param name="Detail">One sentence for messages: what was found, or where it was looked for.</param>
public sealed record TorchNativeStatus(TorchNativeSource Source, TorchPackages Packages, string? LibTorchFolder, string? LibTorchSharpPath, string Detail);

/// <summary>Makes the installed tool find libtorch. The tool package ships without the libtorch natives (about 600 MB);
/// when the tool's own folder has none, this looks for them in the NuGet global packages folder (<c>NUGET_PACKAGES</c>, else
/// <c>~/.nuget/packages</c>), writes a copy of libLibTorchSharp.so whose GLIBCXX_3.4.32 requirement is weak into the
/// cache where the system libstdc++ lacks that version (see <see cref="ElfVersionPatch"/>), and preloads the libraries in
/// dependency order before any torch call, so TorchSharp's own lookup by name finds them already loaded.</summary>
public static class TorchNativeBootstrap
{
    /// <summary>Commands that never touch torch; they work without the natives.</summary>
    public static IReadOnlyList<string> CommandsWithoutTorch { get; } = ["plugins", "validate", "setup", "tokenize"];

    // Dependency order: each library's NEEDED entries are already loaded when it is opened.
    private static readonly string[] LibTorchLoadOrder = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];

    /// <summary>Prepares the natives for the command in <paramref name="args"/>. Returns false (after printing what to do)
    /// when that command needs torch and the natives are missing.</summary>
    public static bool EnsureFor(string[] args)
    {
        var status = Prepare();
        if (status.Source != TorchNativeSource.NotFound || !NeedsTorch(args)) return true;
        Console.Error.WriteLine($"error: the libtorch native libraries were not found. {status.Detail}");
        Console.Error.WriteLine($"Run `dotnet unlearn setup` once: it restores {status.Packages.BundlePackage} {status.Packages.BundleVersion} (about 270 MB to download, 1.2 GB unpacked: the libtorch packages of every platform) into the NuGet cache.");
        return false;
    }

    /// <summary>True unless the first argument is a command from <see cref="CommandsWithoutTorch"/>, or help or version
    /// is asked for.</summary>
    public static bool NeedsTorch(IReadOnlyList<string> args) =>
        args.Count > 0 && !args[0].StartsWith('-') && !CommandsWithoutTorch.Contains(args[0], StringComparer.Ordinal)
        && !args.Any(a => a is "-h" or "--help");

    /// <summary>Finds and, where needed, patches and preloads the natives for this process.</summary>
    public static TorchNativeStatus Prepare()
    {
        var appFolder = AppContext.BaseDirectory;
        var packages = TorchPackages.FromDepsFile(Path.Combine(appFolder, "dotnet-unlearn.deps.json"));
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return new TorchNativeStatus(TorchNativeSource.NotHandled, packages, null, null, "not Linux x64: TorchSharp's own probing applies");
        if (HasAppLocalNatives(appFolder))
            return new TorchNativeStatus(TorchNativeSource.AppFolder, packages, appFolder, null, $"natives next to the tool in {appFolder}");

        var located = Locate(PackagesFolder(), packages);
        if (located.Source != TorchNativeSource.PackageCache) return located;
        try
        {
            var libTorchSharp = PatchedLibTorchSharp(located.LibTorchSharpPath!, packages.TorchSharpVersion);
            foreach (var name in LibTorchLoadOrder) NativeLibrary.Load(Path.Combine(located.LibTorchFolder!, name));
            NativeLibrary.Load(libTorchSharp);
            return located with { LibTorchSharpPath = libTorchSharp };
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException or IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return located with { Source = TorchNativeSource.NotFound, Detail = $"Found {located.LibTorchFolder} but could not load it: {e.Message}" };
        }
    }

    /// <summary>The NuGet global packages folder: <c>NUGET_PACKAGES</c>, else <c>~/.nuget/packages</c>.</summary>
    public static string PackagesFolder()
    {
        var configured = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (!string.IsNullOrWhiteSpace(configured)) return Path.GetFullPath(configured);
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
    }

    /// <summary>Looks for the libtorch and LibTorchSharp natives of <paramref name="packages"/> under a packages folder
    /// (NuGet lays packages out as lower-case <c>id/version/</c>). Loads nothing.</summary>
    public static TorchNativeStatus Locate(string packagesFolder, TorchPackages packages)
    {
        var libTorchFolder = Path.Combine(packagesFolder, packages.LibTorchPackage.ToLowerInvariant(), packages.LibTorchVersion, "runtimes", "linux-x64", "native");
        var libTorchSharp = Path.Combine(packagesFolder, "torchsharp", packages.TorchSharpVersion, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var missing = new List<string>();
        if (!LibTorchLoadOrder.All(n => File.Exists(Path.Combine(libTorchFolder, n)))) missing.Add($"{packages.LibTorchPackage} {packages.LibTorchVersion}");
        if (!File.Exists(libTorchSharp)) missing.Add($"TorchSharp {packages.TorchSharpVersion} (libLibTorchSharp.so)");
        if (missing.Count > 0)
            return new TorchNativeStatus(TorchNativeSource.NotFound, packages, null, null,
                $"Looked next to the tool and in the NuGet packages folder {packagesFolder}; missing: {string.Join(", ", missing)}.");
        return new TorchNativeStatus(TorchNativeSource.PackageCache, packages, libTorchFolder, libTorchSharp, $"natives from {libTorchFolder}");
    }

    /// <summary>True when a folder holds the libtorch natives as a build output does (flat or under runtimes/linux-x64/native).</summary>
    public static bool HasAppLocalNatives(string folder) =>
        File.Exists(Path.Combine(folder, "runtimes", "linux-x64", "native", "libtorch_cpu.so")) || File.Exists(Path.Combine(folder, "libtorch_cpu.so"));

    /// <summary>The libLibTorchSharp.so to load: the package's own file where the system libstdc++ has GLIBCXX_3.4.32,
    /// else a copy with that requirement marked weak, written once into <c>CacheRoot/native/torchsharp-VERSION/</c>.</summary>
    public static string PatchedLibTorchSharp(string original, string torchSharpVersion)
    {
        if (ElfVersionPatch.SystemLibStdCxxHasVersion(ElfVersionPatch.TorchSharpGlibcxxVersion)) return original;
        var patched = Path.Combine(HostPaths.CacheRoot, "native", "torchsharp-" + torchSharpVersion, "libLibTorchSharp.so");
        if (File.Exists(patched) && File.GetLastWriteTimeUtc(patched) >= File.GetLastWriteTimeUtc(original)) return patched;
        var outcome = ElfVersionPatch.MarkWeak(original, ElfVersionPatch.TorchSharpGlibcxxVersion, patched);
        return outcome == ElfPatchOutcome.NotRequired ? original : patched;
    }
}
