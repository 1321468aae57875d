using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Unlearn.Host.Configuration;

/// <summary>Reads pipeline files into <see cref="ConfigMap"/> trees: YAML parsing with positions, <c>include:</c>
/// files merged underneath, <c>--set</c> overrides on top.</summary>
public static class PipelineDocument
{
    /// <summary>The key that lists files whose content this file extends (paths relative to the file).</summary>
    public const string IncludeKey = "include";

    /// <summary>Loads a pipeline file with its includes.</summary>
    public static ConfigMap Load(string path) => Load(Path.GetFullPath(path), new Stack<string>());

    private static ConfigMap Load(string fullPath, Stack<string> chain)
    {
        if (!File.Exists(fullPath))
        {
            var from = chain.Count > 0 ? $" (included from {chain.Peek()})" : "";
            throw new PipelineException(new SourceLocation(fullPath, 0, 0), "", $"pipeline file not found{from}. Check the path.");
        }
        if (chain.Contains(fullPath))
            throw new PipelineException(new SourceLocation(fullPath, 0, 0), IncludeKey, "include cycle: " + string.Join(" -> ", chain.Reverse().Append(fullPath)));
        var root = ParseFile(fullPath);
        chain.Push(fullPath);
        try
        {
            if (root[IncludeKey] is not { } include) return root;
            var merged = new ConfigMap(root.Location);
            foreach (var includePath in IncludePaths(include, root.LocationOf(IncludeKey)))
            {
                var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(fullPath)!, includePath.Path));
                if (!File.Exists(resolved))
                    throw new PipelineException(includePath.Location, IncludeKey, $"included file '{includePath.Path}' not found (looked for {resolved}).");
                MergeInto(merged, Load(resolved, chain));
            }
            root.Entries.Remove(IncludeKey);
            MergeInto(merged, root);
            return merged;
        }
        finally { chain.Pop(); }
    }

    private static IEnumerable<(string Path, SourceLocation Location)> IncludePaths(ConfigNode include, SourceLocation location)
    {
        switch (include)
        {
            case ConfigScalar { Value: { } single }:
                yield return (single, include.Location);
                break;
            case ConfigList list:
                foreach (var item in list.Items)
                {
                    if (item is not ConfigScalar { Value: { } p })
                        throw new PipelineException(item.Location, IncludeKey, "expected a file path.");
                    yield return (p, item.Location);
                }
                break;
            default:
                throw new PipelineException(location, IncludeKey, "expected a file path or a list of file paths.");
        }
    }

    /// <summary>Parses one YAML file (no includes).</summary>
    public static ConfigMap ParseFile(string fullPath)
    {
        using var reader = new StreamReader(fullPath, Encoding.UTF8);
        return ParseText(reader, fullPath);
    }

    /// <summary>What a YAML file holds, as its parse errors name it.</summary>
    /// <param name="Name">"pipeline file", "expectation file".</param>
    /// <param name="EmptyHint">What to do with an empty file.</param>
    /// <param name="TopLevel">What the top level must be.</param>
    public sealed record FileKind(string Name, string EmptyHint, string TopLevel);

    /// <summary>A pipeline file.</summary>
    public static FileKind PipelineFile { get; } = new("pipeline file", "start from pipelines/quickstart.yaml", "a mapping of sections (model:, data:, unlearn:, ...)");

    /// <summary>Parses YAML text; <paramref name="sourceName"/> names it in errors.</summary>
    public static ConfigMap ParseText(TextReader reader, string sourceName) => ParseText(reader, sourceName, PipelineFile);

    /// <summary>Parses the YAML text of a <paramref name="kind"/> of file (one document, a mapping at the top, positions
    /// kept, aliases budgeted); <paramref name="sourceName"/> names it in errors.</summary>
    public static ConfigMap ParseText(TextReader reader, string sourceName, FileKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var stream = new YamlStream();
        var scanner = new Scanner(reader);
        try { stream.Load(new Parser(scanner)); }
        catch (InvalidOperationException)
        {
            // YamlDotNet fails this way (instead of a YamlException) on some malformed input, e.g. an unclosed '['.
            var at = scanner.CurrentPosition;
            throw new PipelineException(new SourceLocation(sourceName, (int)at.Line, (int)at.Column), "", "YAML syntax error: malformed YAML here (look for an unclosed '[', '{' or quote above).");
        }
        catch (YamlException e)
        {
            var message = e.InnerException?.Message ?? e.Message;
            // YamlDotNet prefixes "(Line: a, Col: b, Idx: c) - (…): "; keep only the description.
            var cut = message.LastIndexOf("): ", StringComparison.Ordinal);
            if (cut >= 0) message = message[(cut + 3)..];
            throw new PipelineException(new SourceLocation(sourceName, (int)e.Start.Line, (int)e.Start.Column), "", "YAML syntax error: " + message);
        }
        if (stream.Documents.Count == 0)
            throw new PipelineException(new SourceLocation(sourceName, 1, 1), "", $"the {kind.Name} is empty (or only comments); {kind.EmptyHint}.");
        if (stream.Documents.Count > 1)
            throw new PipelineException(new SourceLocation(sourceName, 1, 1), "", $"a {kind.Name} holds one YAML document; remove the extra '---' documents.");
        var node = new AliasBudgetConverter(sourceName).Convert(stream.Documents[0].RootNode, "", stream.Documents[0].RootNode.Start, expanding: false);
        return node as ConfigMap ?? throw new PipelineException(node.Location, "", $"the top level must be {kind.TopLevel}, found {node.KindName}.");
    }

    /// <summary>How many nodes YAML aliases may add to a file when expanded: a few hundred keeps shared blocks usable,
    /// and refuses an alias bomb (nested anchors whose expansion grows exponentially) before it takes the memory.</summary>
    public const int AliasExpansionBudget = 1000;

    /// <summary>Converts a loaded YAML document. YamlDotNet resolves an alias to the anchored node itself, so a node seen
    /// a second time is an alias use: its nodes count against <see cref="AliasExpansionBudget"/>.</summary>
    private sealed class AliasBudgetConverter(string source)
    {
        private readonly HashSet<YamlNode> _seen = new(ReferenceEqualityComparer.Instance);
        private int _expanded;

        public ConfigNode Convert(YamlNode node, string path, Mark usedAt, bool expanding)
        {
            expanding |= !_seen.Add(node);
            if (expanding && ++_expanded > AliasExpansionBudget)
                throw new PipelineException(new SourceLocation(source, (int)usedAt.Line, (int)usedAt.Column), path,
                    $"YAML aliases here expand to more than {AliasExpansionBudget} nodes (nested anchors and aliases grow exponentially); write the values out or use include: files instead.");
            var location = new SourceLocation(source, (int)node.Start.Line, (int)node.Start.Column);
            switch (node)
            {
                case YamlScalarNode scalar:
                    var quoted = scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded;
                    var value = scalar.Value;
                    if (!quoted && (value is null or "" or "~" or "null" or "Null" or "NULL")) value = null;
                    return new ConfigScalar(value, location, quoted);
                case YamlSequenceNode sequence:
                    var list = new ConfigList(location);
                    var i = 0;
                    foreach (var child in sequence.Children) list.Items.Add(Convert(child, $"{path}.{i++}", expanding ? usedAt : child.Start, expanding));
                    return list;
                case YamlMappingNode mapping:
                    var map = new ConfigMap(location);
                    foreach (var (k, v) in mapping.Children)
                    {
                        if (k is not YamlScalarNode { Value: { } key })
                            throw new PipelineException(location, path, "mapping keys must be plain names.");
                        var keyLocation = new SourceLocation(source, (int)k.Start.Line, (int)k.Start.Column);
                        var childPath = path.Length == 0 ? key : path + "." + key;
                        if (map.Entries.ContainsKey(key))
                            throw new PipelineException(keyLocation, childPath, $"key '{key}' appears twice in the same mapping (first at {map.LocationOf(key)}).");
                        map.Set(key, Convert(v, childPath, expanding ? usedAt : k.Start, expanding), keyLocation);
                    }
                    return map;
                default:
                    throw new PipelineException(location, path, "YAML tags are not supported in pipeline files.");
            }
        }
    }

    /// <summary>Deep-merges <paramref name="overlay"/> into <paramref name="target"/>: mappings merge key by key,
    /// anything else replaces.</summary>
    public static void MergeInto(ConfigMap target, ConfigMap overlay)
    {
        foreach (var (key, value) in overlay.Entries)
        {
            if (target[key] is ConfigMap existing && value is ConfigMap incoming) MergeInto(existing, incoming);
            else target.Set(key, value.Clone(), overlay.LocationOf(key));
        }
    }

    /// <summary>Applies one <c>key.path=value</c> override. The value is read as YAML (so <c>[1, 2]</c> is a list,
    /// <c>2e-5</c> a number). Intermediate mappings are created; list items are addressed by index.</summary>
    public static void ApplyOverride(ConfigMap root, string assignment)
    {
        var eq = assignment.IndexOf('=');
        if (eq <= 0)
            throw new PipelineException(SourceLocation.CommandLine(assignment), "", "expected --set key.path=value (for example --set unlearn.options.lr=2e-5).");
        var path = assignment[..eq].Trim();
        var text = assignment[(eq + 1)..];
        var location = SourceLocation.CommandLine(assignment);
        ConfigNode value;
        if (text.Length == 0) value = new ConfigScalar(null, location);
        else
        {
            var parsed = ParseText(new StringReader("v: " + text), location.File);
            value = parsed["v"]!;
            Relocate(value, location);
        }
        SetPath(root, path, value, location);
    }

    /// <summary>Sets a dotted path in a tree.</summary>
    public static void SetPath(ConfigMap root, string path, ConfigNode value, SourceLocation location)
    {
        var segments = path.Split('.');
        ConfigNode current = root;
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var last = i == segments.Length - 1;
            var soFar = string.Join('.', segments.Take(i + 1));
            switch (current)
            {
                case ConfigMap map:
                    if (last) { map.Set(segment, value, location); return; }
                    if (map[segment] is not { } next || next is ConfigScalar { Value: null })
                    {
                        next = new ConfigMap(location);
                        map.Set(segment, next, location);
                    }
                    current = next;
                    break;
                case ConfigList list:
                    if (!int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index < 0 || index >= list.Items.Count)
                        throw new PipelineException(location, soFar, $"'{segment}' is not an index of this list (it has {list.Items.Count} items: 0..{list.Items.Count - 1}).");
                    if (last) { list.Items[index] = value; return; }
                    current = list.Items[index];
                    break;
                default:
                    throw new PipelineException(location, soFar, $"cannot set a key below {current.KindName} ('{segment}' of a plain value).");
            }
        }
    }

    /// <summary>Reads a dotted path, or null.</summary>
    public static ConfigNode? GetPath(ConfigMap root, string path)
    {
        ConfigNode? current = root;
        foreach (var segment in path.Split('.'))
        {
            current = current switch
            {
                ConfigMap map => map[segment],
                ConfigList list when int.TryParse(segment, out var i) && i >= 0 && i < list.Items.Count => list.Items[i],
                _ => null,
            };
            if (current == null) return null;
        }
        return current;
    }

    private static void Relocate(ConfigNode node, SourceLocation location)
    {
        node.Location = location;
        switch (node)
        {
            case ConfigMap map:
                foreach (var key in map.Entries.Keys.ToList()) { map.KeyLocations[key] = location; Relocate(map.Entries[key], location); }
                break;
            case ConfigList list:
                foreach (var item in list.Items) Relocate(item, location);
                break;
        }
    }

    /// <summary>Writes a tree back to YAML (the resolved pipeline of a run).</summary>
    public static string ToYaml(ConfigNode node)
    {
        var sb = new StringBuilder();
        Write(sb, node, 0, inList: false);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, ConfigNode node, int indent, bool inList)
    {
        var pad = new string(' ', indent);
        switch (node)
        {
            case ConfigMap map when map.Entries.Count == 0:
                sb.Append("{}\n");
                break;
            case ConfigMap map:
                var first = true;
                foreach (var (k, v) in map.Entries)
                {
                    if (!(inList && first)) sb.Append(pad);
                    first = false;
                    sb.Append(k).Append(':');
                    WriteChild(sb, v, indent);
                }
                break;
            case ConfigList list when list.Items.Count == 0:
                sb.Append("[]\n");
                break;
            case ConfigList list:
                foreach (var item in list.Items)
                {
                    sb.Append(pad).Append("- ");
                    if (item is ConfigScalar s) sb.Append(Scalar(s)).Append('\n');
                    else Write(sb, item, indent + 2, inList: true);
                }
                break;
            case ConfigScalar scalar:
                sb.Append(Scalar(scalar)).Append('\n');
                break;
        }
    }

    private static void WriteChild(StringBuilder sb, ConfigNode v, int indent)
    {
        switch (v)
        {
            case ConfigScalar s: sb.Append(' ').Append(Scalar(s)).Append('\n'); break;
            case ConfigMap { Entries.Count: 0 }: sb.Append(" {}\n"); break;
            case ConfigList { Items.Count: 0 }: sb.Append(" []\n"); break;
            default: sb.Append('\n'); Write(sb, v, indent + 2, inList: false); break;
        }
    }

    private static string Scalar(ConfigScalar s)
    {
        if (s.Value == null) return "null";
        var v = s.Value;
        var needsQuotes = s.Quoted && !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            || v.Length == 0 || v.IndexOfAny([':', '#', '\n', '"', '\'', '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '%', '@', '`']) >= 0
            || char.IsWhiteSpace(v[0]) || char.IsWhiteSpace(v[^1]);
        if (!needsQuotes) return v;
        return "\"" + v.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";
    }
}
