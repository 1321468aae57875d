#!/usr/bin/env bash
# The plugin-authoring check (docs/plugin-authoring.md): a third party writes, tests, packs and ships a plugin with only
# the packages this repository publishes, outside the repository. It packs the SDK (Unlearn.Plugins.Abstractions), the
# testing package (Unlearn.Plugins.Testing) and the template package (Unlearn.Plugins.Templates) into a local feed; in a
# temporary folder outside the repository, whose nuget.config has only that feed (for Unlearn.*) and nuget.org (for
# TorchSharp, xunit, YamlDotNet...), it installs the template, creates a plugin, adds a dependency the host also has at
# another version (YamlDotNet 15.3.0; the host has 18), makes one of the plugin's metrics report the YamlDotNet version
# it runs against, builds it, runs its unit tests, packs it, and runs a tiny pipeline with the built tool that loads the
# plugin from its .nupkg through --plugins. It fails unless the plugin saw YamlDotNet 15.
#
# Usage: scripts/plugin-authoring-check.sh   (after `dotnet build Unlearn.sln -c Release`; .ci/run calls it)
# Packages already in the NuGet packages folder (NUGET_PACKAGES or ~/.nuget/packages) are used read-only; the check
# restores into its own packages folder, so no Unlearn.* package from another build can stand in for the fresh ones.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
configuration="${CONFIGURATION:-Release}"
tool="$repo/src/Host/bin/$configuration/net10.0/dotnet-unlearn.dll"
[ -f "$tool" ] || { echo "error: $tool not found: build first (dotnet build Unlearn.sln -c $configuration)" >&2; exit 2; }

step() { printf '\n-- plugin authoring: %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
fail() { echo "plugin authoring check failed: $*" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
case "$work/" in "$repo/"*) echo "error: the temporary folder $work is inside the repository; point TMPDIR elsewhere" >&2; exit 2 ;; esac
user_packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
feed="$work/feed" author="$work/author" plugins="$work/plugins"
mkdir -p "$feed" "$author" "$plugins" "$work/home"

step "pack the SDK, testing and template packages into $feed"
for project in src/Plugins.Abstractions src/Plugins.Testing templates/UnlearnPlugin; do
  dotnet pack "$project" -c "$configuration" -o "$feed" --nologo -v quiet
done
sdk_version="$(dotnet msbuild src/Plugins.Abstractions -getProperty:Version -p:Configuration="$configuration")"
for id in Unlearn.Plugins.Abstractions Unlearn.Plugins.Testing Unlearn.Plugins.Templates; do
  [ -f "$feed/$id.$sdk_version.nupkg" ] || fail "expected $feed/$id.$sdk_version.nupkg"
done

# Everything below runs as the third party would: outside the repository, with a clean HOME, its own packages folder
# (the user's is a read-only fallback, so nothing is downloaded twice) and only the feed and nuget.org as sources.
export HOME="$work/home" DOTNET_CLI_HOME="$work/home" NUGET_PACKAGES="$work/packages" UNLEARN_CACHE="$work/cache"
unset UNLEARN_PLUGIN_PATH XDG_CACHE_HOME
cat > "$author/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="local"><package pattern="Unlearn.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
  <fallbackPackageFolders>
    <add key="user" value="$user_packages" />
  </fallbackPackageFolders>
</configuration>
XML
cd "$author"

step "dotnet new unlearn-plugin -n MyLab.Methods"
dotnet new install "$feed/Unlearn.Plugins.Templates.$sdk_version.nupkg"
dotnet new unlearn-plugin -n MyLab.Methods -o MyLab.Methods
plugin="$author/MyLab.Methods/MyLab.Methods"
tests="$author/MyLab.Methods/MyLab.Methods.Tests"
[ -f "$plugin/MyLab.Methods.csproj" ] && [ -f "$tests/MyLab.Methods.Tests.csproj" ] || fail "the template did not create both projects"

step "add the plugin's own dependency (YamlDotNet 15.3.0) and a metric that reports its version"
dotnet add "$plugin/MyLab.Methods.csproj" package YamlDotNet --version 15.3.0
cat > "$plugin/YamlVersion.cs" <<'CS'
using Unlearn.Plugins;

namespace MyLab.Methods;

/// <summary>The value is the major version of the YamlDotNet this plugin runs against; the full version goes to the
/// file named by MYLAB_YAML_VERSION_FILE.</summary>
public sealed class YamlVersion : IMetric
{
    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        var version = typeof(YamlDotNet.Serialization.Deserializer).Assembly.GetName().Version!;
        if (Environment.GetEnvironmentVariable("MYLAB_YAML_VERSION_FILE") is { Length: > 0 } file) File.WriteAllText(file, version.ToString());
        return new MetricResult(version.Major, context.Split.Items.Select(_ => (double)version.Major).ToList());
    }
}
CS
sed -i 's|^\( *\)// evaluate: { metrics: \[answer-nll\] }|\1catalog.AddMetric<NoOptions>(new PluginInfo("yaml-version", "The major version of YamlDotNet the plugin runs against."), _ => new YamlVersion());\n&|' "$plugin/MethodsModule.cs"
grep -q '"yaml-version"' "$plugin/MethodsModule.cs" || fail "could not register the yaml-version metric in $plugin/MethodsModule.cs"

step "build, unit-test and pack the plugin"
dotnet build "$author/MyLab.Methods/MyLab.Methods.Tests" -c Release --nologo
[ -d "$NUGET_PACKAGES/unlearn.plugins.abstractions/$sdk_version" ] || fail "Unlearn.Plugins.Abstractions was not restored from the fresh feed"
output="$plugin/bin/Release/net10.0"
[ -f "$output/YamlDotNet.dll" ] || fail "the plugin's own dependency YamlDotNet.dll is not in $output"
for shared in Unlearn.Plugins.Abstractions.dll TorchSharp.dll SkiaSharp.dll Google.Protobuf.dll; do
  [ ! -e "$output/$shared" ] || fail "$output holds $shared, which the host shares"
done
[ ! -d "$output/runtimes" ] || fail "$output has a runtimes/ folder (natives the host shares)"
dotnet test "$author/MyLab.Methods/MyLab.Methods.Tests" -c Release --no-build --nologo
dotnet pack "$plugin" -c Release --no-build -o "$plugins" --nologo
[ -f "$plugins/MyLab.Methods.0.1.0.nupkg" ] || fail "expected $plugins/MyLab.Methods.0.1.0.nupkg"
# The plugin's dependency ships beside it, as a .nupkg (the tool's run below has an empty NuGet packages folder).
yaml_nupkg=""
for folder in "$NUGET_PACKAGES" "$user_packages"; do
  [ -f "$folder/yamldotnet/15.3.0/yamldotnet.15.3.0.nupkg" ] && { yaml_nupkg="$folder/yamldotnet/15.3.0/yamldotnet.15.3.0.nupkg"; break; }
done
[ -n "$yaml_nupkg" ] || fail "yamldotnet.15.3.0.nupkg is in neither $NUGET_PACKAGES nor $user_packages"
cp "$yaml_nupkg" "$plugins/"

step "run a tiny pipeline that loads the plugin from its .nupkg"
cat > "$author/pipeline.yaml" <<'YAML'
name: plugin-authoring
seed: 0
model:
  architecture: tiny
  max_length: 64
data:
  world:
    authors: 4
    seed: 0
  forget: forget10
learn:
  recipe: tiny-world
  base:
    epochs: 2
  target:
    epochs: 2
unlearn:
  method: scaled-ga
  options:
    scale: 0.5
  trainer:
    lr: 3e-4
    epochs: 1
    batch_size: 8
    warmup_epochs: 0
evaluate:
  splits: [forget, retain]
  metrics: [answer-nll, yaml-version]
report:
  charts: false
YAML
export MYLAB_YAML_VERSION_FILE="$work/yaml-version.txt"
mkdir -p "$work/empty-packages"
NUGET_PACKAGES="$work/empty-packages" dotnet "$tool" plugins --plugins "$plugins" > "$work/plugins.txt"
grep -Eq '^  scaled-ga( |$)' "$work/plugins.txt" && grep -Eq '^  yaml-version( |$)' "$work/plugins.txt" \
  || { cat "$work/plugins.txt" >&2; fail "'plugins --plugins $plugins' does not list scaled-ga and yaml-version"; }
NUGET_PACKAGES="$work/empty-packages" dotnet "$tool" run "$author/pipeline.yaml" --plugins "$plugins" --out "$work/runs" --quiet
[ -f "$MYLAB_YAML_VERSION_FILE" ] || fail "the plugin's yaml-version metric did not run"
seen="$(cat "$MYLAB_YAML_VERSION_FILE")"
[[ "$seen" == 15.* ]] || fail "the plugin ran against YamlDotNet $seen, not its own 15.3.0"
echo "plugin authoring: ok (the plugin, loaded from its .nupkg, ran against YamlDotNet $seen; the host has 18)"
