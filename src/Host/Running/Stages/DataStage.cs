using Unlearn.Data;
using Unlearn.Host.Configuration;
using Unlearn.Plugins;

namespace Unlearn.Host.Running.Stages;

/// <summary>The data of a run: the TOFU-schema folder and every logical split that exists in it.</summary>
public sealed record RunData(string Folder, string Key, IReadOnlyDictionary<string, DataSplit> Splits)
{
    /// <summary>True when the built-in world was found in the stage cache instead of being generated.</summary>
    public bool Reused { get; init; }

    /// <summary>A split by logical name, or an error naming the folder, the file and the available files.</summary>
    public DataSplit Get(string logical, DataSpec spec)
    {
        if (Splits.TryGetValue(logical, out var split)) return split;
        var file = spec.Splits.TryGetValue(logical, out var f) ? f : logical;
        throw new DataFileException(Path.Combine(Folder, file + ".json"), null,
            $"the split '{logical}' (file '{file}') is needed but missing from {Folder}",
            $"add the file, or map data.splits.{logical} to an existing file in the pipeline");
    }
}

/// <summary>Prepares the data: the built-in world is generated once per settings into the cache and then read like
/// any TOFU folder, so every code path is shared with real TOFU.</summary>
public sealed class DataStage : IStage
{
    /// <inheritdoc />
    public string Name => "data";

    /// <inheritdoc />
    public void Run(RunContext context)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var data = context.Data = Prepare(context.Spec.Data, context.Cache);
        context.Timings.Add(new StageTiming(Name, clock.Elapsed.TotalSeconds, data.Reused));
        context.StageKeys[Name] = data.Key;
        context.Log.Info($"data: {data.Folder} ({string.Join(", ", data.Splits.Select(s => $"{s.Key}={s.Value.Items.Count}"))})");
    }

    /// <summary>Resolves and reads the splits of a pipeline.</summary>
    private static RunData Prepare(DataSpec spec, StageCache cache)
    {
        string folder;
        string key;
        var reused = false;
        if (spec.World is { } world)
        {
            var settings = new WorldSettings(world.Authors) { Seed = world.Seed };
            key = StageCache.Key("world", 1, world.Authors, world.Seed);
            (folder, reused) = cache.GetOrBuild("world", key, staging => SyntheticWorld.Generate(settings).WriteTo(staging));
        }
        else
        {
            folder = spec.Folder!; // the plan refused a folder that does not exist
            key = StageCache.Key("folder", folder, FolderStamp(folder));
        }
        var tofu = new TofuFolder(folder);
        var splits = new Dictionary<string, DataSplit>(StringComparer.Ordinal);
        foreach (var (logical, file) in spec.Splits)
            if (tofu.Contains(file)) splits[logical] = tofu.Read(file, logical);
        return new RunData(folder, key, splits) { Reused = reused };
    }

    private static string FolderStamp(string folder) =>
        string.Join(";", Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal).Select(f => $"{Path.GetFileName(f)}:{new FileInfo(f).Length}:{File.GetLastWriteTimeUtc(f).Ticks}"));

    /// <summary>The first <paramref name="maxItems"/> items of a split (all when null).</summary>
    public static IDataSplit Limit(IDataSplit split, int? maxItems) =>
        maxItems is { } n && split.Items.Count > n ? new DataSplit(split.Name, split.Source, split.Items.Take(n).ToList()) : split;
}
