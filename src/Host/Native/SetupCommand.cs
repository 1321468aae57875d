using System.Diagnostics;
using Cocona;
using Unlearn.Host.Cli;

namespace Unlearn.Host.Native;

/// <summary><c>dotnet unlearn setup</c>: restores the TorchSharp backend package (with the libtorch natives) into the NuGet
/// global packages folder, where <see cref="TorchNativeBootstrap"/> finds it. Uses the user's own NuGet configuration
/// (feeds, proxy, <c>NUGET_PACKAGES</c>) through a throw-away project and <c>dotnet restore</c>.</summary>
public sealed class SetupCommand(CommandOutcome outcome)
{
    /// <summary>Restores the backend natives.</summary>
    [Command("setup", Description = "Download the TorchSharp CPU backend (libtorch natives, ~270 MB) into the NuGet cache for the installed tool.")]
    public int Setup([Option("source", Description = "Extra NuGet feed (repeatable), passed to dotnet restore")] string[]? source = null)
    {
        outcome.Ran = true;
        return Commands.Guard(() =>
        {
            var before = TorchNativeBootstrap.Prepare();
            if (before.Source is TorchNativeSource.AppFolder or TorchNativeSource.PackageCache)
            {
                Console.WriteLine($"libtorch is ready: {before.Detail}.");
                return ExitCodes.Success;
            }
            var packages = before.Packages;
            var work = Path.Combine(Path.GetTempPath(), "dotnet-unlearn-setup-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(work);
            try
            {
                WriteRestoreProject(work, packages);
                Console.WriteLine($"restoring {packages.BundlePackage} {packages.BundleVersion} into {TorchNativeBootstrap.PackagesFolder()} ...");
                var code = RunRestore(work, source ?? []);
                if (code != 0)
                {
                    Console.Error.WriteLine($"error: dotnet restore failed (exit {code}). Check your NuGet feeds (nuget.org must be reachable, or pass --source).");
                    return ExitCodes.RunFailure;
                }
            }
            finally
            {
                try { Directory.Delete(work, recursive: true); } catch (IOException) { } // a leftover temp folder is harmless
            }
            var after = TorchNativeBootstrap.Locate(TorchNativeBootstrap.PackagesFolder(), packages);
            if (after.Source != TorchNativeSource.PackageCache)
            {
                Console.Error.WriteLine($"error: restore finished but the natives are still missing. {after.Detail}");
                return ExitCodes.RunFailure;
            }
            Console.WriteLine($"libtorch is ready: {after.Detail}.");
            return ExitCodes.Success;
        });
    }

    /// <summary>Writes a project that references only the backend bundle, cut off from any Directory.*.props above it.</summary>
    public static void WriteRestoreProject(string folder, TorchPackages packages)
    {
        File.WriteAllText(Path.Combine(folder, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "Directory.Packages.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(folder, "TorchBackend.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net{Environment.Version.Major}.0</TargetFramework>
                <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{packages.BundlePackage}" Version="{packages.BundleVersion}" />
              </ItemGroup>
            </Project>
            """);
    }

    private static int RunRestore(string folder, IReadOnlyList<string> sources)
    {
        var start = new ProcessStartInfo(DotnetExecutable()) { WorkingDirectory = folder, UseShellExecute = false };
        start.ArgumentList.Add("restore");
        start.ArgumentList.Add(Path.Combine(folder, "TorchBackend.csproj"));
        foreach (var s in sources)
        {
            start.ArgumentList.Add("--source");
            start.ArgumentList.Add(s);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet restore");
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>The dotnet host: <c>DOTNET_HOST_PATH</c>, the running host when it is dotnet itself, <c>DOTNET_ROOT/dotnet</c>,
    /// else "dotnet" from PATH.</summary>
    private static string DotnetExecutable()
    {
        var hostPath = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(hostPath) && File.Exists(hostPath)) return hostPath;
        var process = Environment.ProcessPath;
        if (process != null && Path.GetFileNameWithoutExtension(process) == "dotnet") return process;
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        return "dotnet";
    }
}
