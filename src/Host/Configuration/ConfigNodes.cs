using System.Globalization;

namespace Unlearn.Host.Configuration;

/// <summary>Where a value came from: a file position, or a command-line override.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    /// <summary>How <see cref="File"/> starts for a value given on the command line.</summary>
    public const string CommandLinePrefix = "--set ";

    /// <summary>A value given with <c>--set</c>.</summary>
    public static SourceLocation CommandLine(string assignment) => new(CommandLinePrefix + assignment, 0, 0);

    /// <summary>A value the tool filled in.</summary>
    public static SourceLocation Default { get; } = new("(default)", 0, 0);

    /// <inheritdoc />
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}" : File;
}

/// <summary>A node of a pipeline file after includes and overrides, keeping where each value came from.</summary>
public abstract class ConfigNode(SourceLocation location)
{
    /// <summary>Where the node was written.</summary>
    public SourceLocation Location { get; set; } = location;

    /// <summary>A deep copy.</summary>
    public abstract ConfigNode Clone();

    /// <summary>A short word for error messages ("a mapping", "a list", "a value").</summary>
    public abstract string KindName { get; }
}

/// <summary>A scalar; <see cref="Value"/> is null for YAML null (<c>~</c>, <c>null</c> or empty).</summary>
public sealed class ConfigScalar(string? value, SourceLocation location, bool quoted = false) : ConfigNode(location)
{
    /// <summary>The text of the scalar.</summary>
    public string? Value { get; } = value;

    /// <summary>True when the YAML text was quoted (then it is always a string).</summary>
    public bool Quoted { get; } = quoted;

    /// <inheritdoc />
    public override ConfigNode Clone() => new ConfigScalar(Value, Location, Quoted);

    /// <inheritdoc />
    public override string KindName => "a value";

    /// <summary>The value as invariant-culture text for hashing and display.</summary>
    public override string ToString() => Value ?? "null";

    /// <summary>Parses a number with the invariant culture.</summary>
    public bool TryGetDouble(out double d) =>
        double.TryParse(Value, NumberStyles.Float, CultureInfo.InvariantCulture, out d);
}

/// <summary>An ordered mapping.</summary>
public sealed class ConfigMap(SourceLocation location) : ConfigNode(location)
{
    /// <summary>The entries in file order.</summary>
    public OrderedDictionary<string, ConfigNode> Entries { get; } = new(StringComparer.Ordinal);

    /// <summary>Where each key was written.</summary>
    public Dictionary<string, SourceLocation> KeyLocations { get; } = new(StringComparer.Ordinal);

    /// <summary>The value of a key, or null.</summary>
    public ConfigNode? this[string key] => Entries.TryGetValue(key, out var node) ? node : null;

    /// <summary>Sets a key.</summary>
    public void Set(string key, ConfigNode value, SourceLocation? keyLocation = null)
    {
        Entries[key] = value;
        KeyLocations[key] = keyLocation ?? value.Location;
    }

    /// <summary>Where a key was written (or the map itself).</summary>
    public SourceLocation LocationOf(string key) => KeyLocations.TryGetValue(key, out var l) ? l : Location;

    /// <inheritdoc />
    public override ConfigNode Clone()
    {
        var copy = new ConfigMap(Location);
        foreach (var (k, v) in Entries) copy.Set(k, v.Clone(), LocationOf(k));
        return copy;
    }

    /// <inheritdoc />
    public override string KindName => "a mapping";
}

/// <summary>A sequence.</summary>
public sealed class ConfigList(SourceLocation location) : ConfigNode(location)
{
    /// <summary>The items.</summary>
    public List<ConfigNode> Items { get; } = [];

    /// <inheritdoc />
    public override ConfigNode Clone()
    {
        var copy = new ConfigList(Location);
        copy.Items.AddRange(Items.Select(i => i.Clone()));
        return copy;
    }

    /// <inheritdoc />
    public override string KindName => "a list";
}

/// <summary>Bad input in a pipeline file or override: says where, which key, what was expected and how to fix it.</summary>
public sealed class PipelineException(SourceLocation location, string keyPath, string message) : Exception(Format(location, keyPath, message))
{
    /// <summary>Where.</summary>
    public SourceLocation Location { get; } = location;

    /// <summary>The dotted key path (e.g. "unlearn.options.beta").</summary>
    public string KeyPath { get; } = keyPath;

    private static string Format(SourceLocation location, string keyPath, string message) =>
        string.IsNullOrEmpty(keyPath) ? $"{location}: {message}" : $"{location}: {keyPath}: {message}";
}
