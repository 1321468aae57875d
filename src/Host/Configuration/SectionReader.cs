using System.Globalization;

namespace Unlearn.Host.Configuration;

/// <summary>Reads one mapping of a pipeline with typed getters; every error names the file position and key path,
/// and unknown keys are reported with the nearest valid key.</summary>
public sealed class SectionReader
{
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    /// <summary>Wraps a mapping found at <paramref name="path"/> (null when the section is absent).</summary>
    public SectionReader(ConfigMap? map, string path, SourceLocation fallback)
    {
        Map = map;
        Path = path;
        Location = map?.Location ?? fallback;
    }

    /// <summary>Reads a section of a parent that must be a mapping when present.</summary>
    public static SectionReader Of(ConfigMap parent, string key, string parentPath)
    {
        var path = parentPath.Length == 0 ? key : parentPath + "." + key;
        return parent[key] switch
        {
            null or ConfigScalar { Value: null } => new SectionReader(null, path, parent.LocationOf(key)),
            ConfigMap map => new SectionReader(map, path, map.Location),
            var other => throw new PipelineException(other.Location, path, $"expected a mapping (indented 'key: value' lines), found {other.KindName}."),
        };
    }

    /// <summary>The mapping, or null.</summary>
    public ConfigMap? Map { get; }

    /// <summary>Dotted key path of the section.</summary>
    public string Path { get; }

    /// <summary>Where the section is.</summary>
    public SourceLocation Location { get; }

    /// <summary>True when the section was written.</summary>
    public bool Present => Map != null;

    private string KeyPath(string key) => Path.Length == 0 ? key : Path + "." + key;

    /// <summary>The raw node of a key (marks it known).</summary>
    public ConfigNode? Node(string key)
    {
        _known.Add(key);
        var node = Map?[key];
        return node is ConfigScalar { Value: null } ? null : node;
    }

    /// <summary>Location of a key, or the section.</summary>
    public SourceLocation LocationOf(string key) => Map?.LocationOf(key) ?? Location;

    /// <summary>A nested section.</summary>
    public SectionReader Section(string key)
    {
        _known.Add(key);
        return Map == null ? new SectionReader(null, KeyPath(key), Location) : Of(Map, key, Path);
    }

    /// <summary>Text value.</summary>
    public string? String(string key, string? fallback = null) =>
        Node(key) switch
        {
            null => fallback,
            ConfigScalar s => s.Value,
            var n => throw new PipelineException(n.Location, KeyPath(key), $"expected a value, found {n.KindName}."),
        };

    /// <summary>Required text value.</summary>
    public string RequiredString(string key, string hint) =>
        String(key) ?? throw new PipelineException(Location, KeyPath(key), $"missing required key '{key}'. {hint}");

    /// <summary>Integer value.</summary>
    public int Int(string key, int fallback, int min = int.MinValue)
    {
        var node = Node(key);
        if (node == null) return fallback;
        if (node is ConfigScalar s && int.TryParse(s.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            if (v < min) throw new PipelineException(node.Location, KeyPath(key), $"must be >= {min}, got {v}.");
            return v;
        }
        throw new PipelineException(node.Location, KeyPath(key), $"expected an integer, found {Describe(node)}.");
    }

    /// <summary>Optional integer value.</summary>
    public int? OptionalInt(string key, int min = int.MinValue) => Node(key) == null ? null : Int(key, 0, min);

    /// <summary>Number value.</summary>
    public double Double(string key, double fallback)
    {
        var node = Node(key);
        if (node == null) return fallback;
        if (node is ConfigScalar s && s.TryGetDouble(out var v)) return v;
        throw new PipelineException(node.Location, KeyPath(key), $"expected a number, found {Describe(node)}.");
    }

    /// <summary>Boolean value.</summary>
    public bool Bool(string key, bool fallback)
    {
        var node = Node(key);
        if (node == null) return fallback;
        return (OptionsBinder.ConvertNode(node, typeof(bool), KeyPath(key)) as bool?)!.Value;
    }

    /// <summary>A list of text values (a single value counts as a list of one; "a, b" is split on commas).</summary>
    public IReadOnlyList<string>? StringList(string key)
    {
        var node = Node(key);
        return node switch
        {
            null => null,
            ConfigScalar s => s.Value!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            ConfigList l => l.Items.Select((i, n) => i is ConfigScalar { Value: { } v } ? v : throw new PipelineException(i.Location, $"{KeyPath(key)}.{n}", $"expected a value, found {i.KindName}.")).ToList(),
            _ => throw new PipelineException(node.Location, KeyPath(key), $"expected a list, found {node.KindName}."),
        };
    }

    /// <summary>One of a fixed set of words.</summary>
    public string Choice(string key, string fallback, params string[] choices)
    {
        var value = String(key, fallback)!;
        if (!choices.Contains(value, StringComparer.Ordinal))
            throw new PipelineException(LocationOf(key), KeyPath(key), NameSuggestions.Unknown("value", value, choices));
        return value;
    }

    /// <summary>Throws for any key that no getter asked for.</summary>
    public void RejectUnknownKeys()
    {
        if (Map == null) return;
        foreach (var key in Map.Entries.Keys)
        {
            if (!_known.Contains(key))
                throw new PipelineException(Map.LocationOf(key), KeyPath(key), NameSuggestions.Unknown("key", key, _known.ToList()));
        }
    }

    private static string Describe(ConfigNode node) => node is ConfigScalar s ? $"'{s.Value}'" : node.KindName;
}
