using System.Globalization;
using System.Text.RegularExpressions;
using Unlearn.Host.Configuration;

namespace Unlearn.Host.Checking;

/// <summary>An aggregate of a run as an expectation names it: <c>role.split.metric</c>, e.g. <c>calibrated.forget.es</c>.</summary>
/// <param name="Model">Model role (original, unlearned, calibrated, retain).</param>
/// <param name="Split">Logical split.</param>
/// <param name="Metric">Metric name (may itself hold dots).</param>
public sealed record MetricKey(string Model, string Split, string Metric)
{
    /// <inheritdoc />
    public override string ToString() => $"{Model}.{Split}.{Metric}";
}

/// <summary>The right side of a bar: a number, or a factor times another aggregate of the same run.</summary>
/// <param name="Factor">The number, or the factor of <paramref name="Reference"/>.</param>
/// <param name="Reference">The aggregate the factor multiplies, or null for a plain number.</param>
public sealed record Limit(double Factor, MetricKey? Reference)
{
    /// <inheritdoc />
    public override string ToString() => Reference == null ? Number(Factor)
        : Factor == 1 ? Reference.ToString() : $"{Number(Factor)} * {Reference}";

    internal static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>One condition on one aggregate of a run.</summary>
public abstract record Condition
{
    /// <summary>The condition as the report and JUnit name it (<c>&lt;= 0.3</c>, <c>0.523 ± 0.02</c>).</summary>
    public abstract string Describe();
}

/// <summary>An absolute bar: <c>got op limit</c>.</summary>
/// <param name="Operator">One of <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>, <c>==</c>.</param>
/// <param name="Limit">The bar.</param>
public sealed record Bar(string Operator, Limit Limit) : Condition
{
    /// <summary>The operators a bar may use.</summary>
    public static readonly string[] Operators = ["<=", "<", ">=", ">", "=="];

    /// <summary>True when <paramref name="got"/> meets the bar at <paramref name="limit"/> (false for NaN).</summary>
    public bool Holds(double got, double limit) => Operator switch
    {
        "<=" => got <= limit,
        "<" => got < limit,
        ">=" => got >= limit,
        ">" => got > limit,
        _ => got == limit,
    };

    /// <inheritdoc />
    public override string Describe() => $"{Operator} {Limit}";
}

/// <summary>A snapshot value: <c>|got − value| ≤ tol</c>.</summary>
/// <param name="Value">The recorded value.</param>
/// <param name="Tolerance">The allowed absolute difference.</param>
/// <param name="ValueAt">Where the value is written (what <c>--update</c> rewrites).</param>
public sealed record Snapshot(double Value, double Tolerance, SourceLocation ValueAt) : Condition
{
    /// <summary>Slack for the binary representation of decimal values (0.5434 − 0.5234 is a little over 0.02).</summary>
    public const double Slack = 1e-9;

    /// <summary>True when <paramref name="got"/> is within the tolerance (false for NaN).</summary>
    public bool Holds(double got) => Math.Abs(got - Value) <= Tolerance + Slack;

    /// <inheritdoc />
    public override string Describe() => $"{Limit.Number(Value)} ± {Limit.Number(Tolerance)}";
}

/// <summary>One key of an expectation section with its conditions.</summary>
/// <param name="Key">The aggregate.</param>
/// <param name="At">Where the key is written.</param>
/// <param name="Conditions">Its conditions, in file order.</param>
public sealed record ExpectationEntry(MetricKey Key, SourceLocation At, IReadOnlyList<Condition> Conditions);

/// <summary>A section of expectations: <c>expect:</c> (every run) or <c>runs.&lt;name&gt;:</c> (one sweep run).</summary>
/// <param name="Name">"expect" or the sweep run's name under <c>runs:</c>.</param>
/// <param name="At">Where the section's key is written.</param>
/// <param name="Entries">Its entries, in file order.</param>
public sealed record ExpectationSection(string Name, SourceLocation At, IReadOnlyList<ExpectationEntry> Entries);

/// <summary>An expectation file (docs/ci.md): <c>tol</c> (default tolerance), <c>expect</c> (for every run), <c>runs</c>
/// (per sweep run). Parsed with the pipeline files' YAML reader, so errors name file:line:column and the key.</summary>
public sealed class ExpectationFile
{
    /// <summary>How parse errors name this kind of file.</summary>
    public static PipelineDocument.FileKind Kind { get; } = new("expectation file",
        "write for example 'expect:' with 'calibrated.forget.es: \"<= 0.3\"' under it (docs/ci.md)", "a mapping with expect: (and tol:, runs:)");

    private static readonly string[] TopKeys = ["tol", "expect", "runs"];
    private static readonly string[] EntryKeys = ["value", "tol", "min", "max", "bar"];
    private static readonly Regex BarPattern = new(@"^\s*(<=|>=|==|<|>)\s*(.+?)\s*$", RegexOptions.CultureInvariant);
    private static readonly Regex ReferencePattern = new(@"^(?:(\S+?)\s*\*\s*)?([A-Za-z_][^\s*]*)$", RegexOptions.CultureInvariant);

    private ExpectationFile(string path, string text, ConfigMap root, double tolerance, ExpectationSection? common, IReadOnlyList<ExpectationSection> runs)
    {
        Path = path;
        Text = text;
        Root = root;
        Tolerance = tolerance;
        Common = common;
        Runs = runs;
    }

    /// <summary>The file as given.</summary>
    public string Path { get; }

    /// <summary>Its text.</summary>
    public string Text { get; }

    /// <summary>Its YAML tree (with positions).</summary>
    public ConfigMap Root { get; }

    /// <summary>The default tolerance of snapshot values (<c>tol:</c>, default 0).</summary>
    public double Tolerance { get; }

    /// <summary>The <c>expect:</c> section, or null.</summary>
    public ExpectationSection? Common { get; }

    /// <summary>The <c>runs:</c> sections, in file order.</summary>
    public IReadOnlyList<ExpectationSection> Runs { get; }

    /// <summary>Reads a file; a bad one throws <see cref="PipelineException"/> naming file:line:column and the fix.</summary>
    public static ExpectationFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"expectation file '{path}' not found.", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses the text of a file named <paramref name="path"/>.</summary>
    public static ExpectationFile Parse(string text, string path)
    {
        ArgumentNullException.ThrowIfNull(text);
        ConfigMap root;
        try { root = PipelineDocument.ParseText(new StringReader(text), path, Kind); }
        catch (PipelineException e) when (e.Message.Contains("YAML syntax error", StringComparison.Ordinal) && UnquotedBar(text, e.Location.Line) is { } line)
        {
            throw new PipelineException(e.Location, "", $"YAML syntax error: a bar that starts with '>' must be quoted (YAML reads '>' as a folded text block): write '{line}' as \"{line.Trim()}\", or use {{ min: ... }}.");
        }
        foreach (var key in root.Entries.Keys.Where(k => !TopKeys.Contains(k)))
            throw new PipelineException(root.LocationOf(key), key, NameSuggestions.Unknown("top-level key", key, TopKeys));
        var tolerance = root["tol"] is { } tolNode ? NonNegative(tolNode, "tol") : 0;
        ExpectationSection? common = root["expect"] switch
        {
            null => null,
            ConfigScalar { Value: null } => new ExpectationSection("expect", root.LocationOf("expect"), []),
            ConfigMap map => Section("expect", "expect", root.LocationOf("expect"), map, tolerance),
            var other => throw new PipelineException(other.Location, "expect", $"expected a mapping of 'role.split.metric: condition' lines, found {other.KindName}."),
        };
        var runs = new List<ExpectationSection>();
        switch (root["runs"])
        {
            case null or ConfigScalar { Value: null }:
                break;
            case ConfigMap map:
                foreach (var (name, node) in map.Entries)
                {
                    runs.Add(node switch
                    {
                        ConfigScalar { Value: null } => new ExpectationSection(name, map.LocationOf(name), []),
                        ConfigMap m => Section(name, $"runs.{name}", map.LocationOf(name), m, tolerance),
                        _ => throw new PipelineException(node.Location, $"runs.{name}", $"expected a mapping of 'role.split.metric: condition' lines for the sweep run '{name}', found {node.KindName}."),
                    });
                }
                break;
            case var other:
                throw new PipelineException(other.Location, "runs", $"expected a mapping from sweep run (its sub-folder name, e.g. method-ga) to expectations, found {other.KindName}.");
        }
        if (common == null && runs.Count == 0)
            throw new PipelineException(root.Location, "", "the file holds no expectations: add 'expect:' (for every run) or 'runs:' (per sweep run); see docs/ci.md.");
        return new ExpectationFile(path, text, root, tolerance, common, runs);
    }

    /// <summary>The text of a line when its value part starts with an unquoted '>' (a YAML folded-block marker).</summary>
    private static string? UnquotedBar(string text, int line)
    {
        var lines = text.Split('\n');
        foreach (var l in lines.Skip(Math.Max(0, line - 2)).Take(3))
        {
            var colon = l.IndexOf(": ", StringComparison.Ordinal);
            if (colon >= 0 && l[(colon + 2)..].TrimStart().StartsWith('>')) return l[(colon + 2)..].TrimEnd('\r');
        }
        return null;
    }

    private static ExpectationSection Section(string name, string path, SourceLocation at, ConfigMap map, double tolerance)
    {
        var entries = new List<ExpectationEntry>();
        foreach (var (keyText, node) in map.Entries)
        {
            var keyAt = map.LocationOf(keyText);
            var keyPath = $"{path}.{keyText}";
            var key = ParseKey(keyText, keyAt, keyPath);
            entries.Add(new ExpectationEntry(key, keyAt, Conditions(node, keyPath, tolerance)));
        }
        return new ExpectationSection(name, at, entries);
    }

    /// <summary>Parses <c>role.split.metric</c>; the role must be one a run can have.</summary>
    private static MetricKey ParseKey(string text, SourceLocation at, string keyPath)
    {
        var parts = text.Split('.');
        if (parts.Length < 3 || parts.Any(p => p.Length == 0))
            throw new PipelineException(at, keyPath, $"'{text}' is not 'role.split.metric' (for example calibrated.forget.es): three names joined by dots.");
        if (!ModelRoles.All.Contains(parts[0]))
            throw new PipelineException(at, keyPath, NameSuggestions.Unknown("model role", parts[0], ModelRoles.All));
        return new MetricKey(parts[0], parts[1], string.Join('.', parts.Skip(2)));
    }

    private static List<Condition> Conditions(ConfigNode node, string keyPath, double tolerance)
    {
        switch (node)
        {
            case ConfigScalar s:
                return [Scalar(s, keyPath, tolerance)];
            case ConfigList list:
                if (list.Items.Count == 0) throw new PipelineException(list.Location, keyPath, "the list of bars is empty; write at least one, e.g. [\">= 0.1\", \"<= 0.3\"].");
                return list.Items.Select(i => i is ConfigScalar s ? Scalar(s, keyPath, tolerance)
                    : throw new PipelineException(i.Location, keyPath, $"a list holds bars such as \"<= 0.3\", found {i.KindName}.")).ToList();
            case ConfigMap map:
                return MapConditions(map, keyPath, tolerance);
            default:
                throw new PipelineException(node.Location, keyPath, "expected a bar or a snapshot value.");
        }
    }

    private static List<Condition> MapConditions(ConfigMap map, string keyPath, double tolerance)
    {
        foreach (var key in map.Entries.Keys.Where(k => !EntryKeys.Contains(k)))
            throw new PipelineException(map.LocationOf(key), $"{keyPath}.{key}", NameSuggestions.Unknown("expectation key", key, EntryKeys));
        var conditions = new List<Condition>();
        if (map["value"] is { } valueNode)
        {
            var value = Number(valueNode, $"{keyPath}.value");
            var tol = map["tol"] is { } t ? NonNegative(t, $"{keyPath}.tol") : tolerance;
            conditions.Add(new Snapshot(value, tol, valueNode.Location));
        }
        else if (map["tol"] != null)
            throw new PipelineException(map.LocationOf("tol"), $"{keyPath}.tol", "a tolerance needs the value it applies to: write { value: 0.523, tol: 0.02 }.");
        if (map["min"] is { } min) conditions.Add(new Bar(">=", new Limit(Number(min, $"{keyPath}.min"), null)));
        if (map["max"] is { } max) conditions.Add(new Bar("<=", new Limit(Number(max, $"{keyPath}.max"), null)));
        switch (map["bar"])
        {
            case null: break;
            case ConfigScalar s: conditions.Add(ParseBar(s, $"{keyPath}.bar")); break;
            case ConfigList l:
                conditions.AddRange(l.Items.Select(i => i is ConfigScalar s ? ParseBar(s, $"{keyPath}.bar")
                    : throw new PipelineException(i.Location, $"{keyPath}.bar", $"expected a bar such as \"<= 0.3\", found {i.KindName}.")));
                break;
            case var other: throw new PipelineException(other.Location, $"{keyPath}.bar", $"expected a bar such as \"<= 0.3\" or a list of them, found {other.KindName}.");
        }
        if (conditions.Count == 0)
            throw new PipelineException(map.Location, keyPath, "no condition: give value (with tol), min, max or bar.");
        return conditions;
    }

    /// <summary>A scalar entry: a number is a snapshot value (with the file's <c>tol</c>), text is a bar.</summary>
    private static Condition Scalar(ConfigScalar s, string keyPath, double tolerance)
    {
        if (s.Value == null) throw new PipelineException(s.Location, keyPath, "no condition: write a bar such as \"<= 0.3\" or a snapshot such as { value: 0.523, tol: 0.02 }.");
        if (!s.Quoted && s.TryGetDouble(out var v))
        {
            if (!double.IsFinite(v)) throw new PipelineException(s.Location, keyPath, $"'{s.Value}' is not a finite number.");
            return new Snapshot(v, tolerance, s.Location);
        }
        return ParseBar(s, keyPath);
    }

    private static Bar ParseBar(ConfigScalar s, string keyPath)
    {
        var text = s.Value ?? "";
        var match = BarPattern.Match(text);
        if (!match.Success)
            throw new PipelineException(s.Location, keyPath, $"'{text}' is not a bar: write an operator ({string.Join(", ", Bar.Operators)}) and a number, "
                + "e.g. \"<= 0.3\", \">= 0.8 * original.retain.es\"; or a snapshot value { value: 0.523, tol: 0.02 }.");
        var right = match.Groups[2].Value;
        if (double.TryParse(right, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            if (!double.IsFinite(number)) throw new PipelineException(s.Location, keyPath, $"'{right}' is not a finite number.");
            return new Bar(match.Groups[1].Value, new Limit(number, null));
        }
        var reference = ReferencePattern.Match(right);
        if (reference.Success && reference.Groups[2].Value.Count(c => c == '.') >= 2)
        {
            var factor = 1.0;
            if (reference.Groups[1].Success && (!double.TryParse(reference.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out factor) || !double.IsFinite(factor)))
                throw new PipelineException(s.Location, keyPath, $"'{reference.Groups[1].Value}' in '{text}' is not a number: write a factor such as 0.9 * original.forget.es.");
            return new Bar(match.Groups[1].Value, new Limit(factor, ParseKey(reference.Groups[2].Value, s.Location, keyPath)));
        }
        throw new PipelineException(s.Location, keyPath, $"'{right}' in '{text}' is not a number (nor 'factor * role.split.metric'): write e.g. \"{match.Groups[1].Value} 0.3\".");
    }

    private static double Number(ConfigNode node, string keyPath)
    {
        if (node is ConfigScalar { Quoted: false } s && s.TryGetDouble(out var v) && double.IsFinite(v)) return v;
        throw new PipelineException(node.Location, keyPath, $"expected a number (such as 0.523), found {(node is ConfigScalar sc ? $"'{sc.Value}'" : node.KindName)}.");
    }

    private static double NonNegative(ConfigNode node, string keyPath)
    {
        var v = Number(node, keyPath);
        if (v < 0) throw new PipelineException(node.Location, keyPath, "a tolerance is an absolute difference: write a number >= 0.");
        return v;
    }
}
