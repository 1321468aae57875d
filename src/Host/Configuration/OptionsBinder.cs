using System.Collections;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Unlearn.Plugins;

namespace Unlearn.Host.Configuration;

/// <summary>One option of a plugin, as listed by <c>dotnet unlearn plugins</c>.</summary>
public sealed record OptionDescription(string Key, string Type, string Default, string Description);

/// <summary>Builds plugin option objects from pipeline mappings: defaults from the class, values from the file and
/// <c>--set</c>, keys in snake_case, validated once.</summary>
public static class OptionsBinder
{
    /// <summary>snake_case of a PascalCase property name (MaxNewTokens -> max_new_tokens).</summary>
    public static string ToSnakeCase(string name)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var previousLower = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                var nextLower = i + 1 < name.Length && char.IsLower(name[i + 1]) && i > 0 && char.IsUpper(name[i - 1]);
                if (previousLower || nextLower) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    private static string Normalise(string key) => key.Replace("_", "").Replace("-", "").ToLowerInvariant();

    private static IReadOnlyList<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic).ToList();

    /// <summary>Creates and fills an options object. <paramref name="keyPath"/> prefixes error key paths.</summary>
    public static object Bind(Type optionsType, ConfigMap? values, string keyPath, SourceLocation sectionLocation)
    {
        object instance;
        try { instance = Activator.CreateInstance(optionsType)!; }
        catch (Exception e)
        {
            throw new PipelineException(sectionLocation, keyPath, $"the options type {optionsType.FullName} could not be created: {(e.InnerException ?? e).Message}");
        }
        var properties = Settable(optionsType);
        if (values != null)
        {
            foreach (var (key, node) in values.Entries)
            {
                var path = keyPath + "." + key;
                var property = properties.FirstOrDefault(p => Normalise(p.Name) == Normalise(key));
                if (property == null)
                    throw new PipelineException(values.LocationOf(key), path, NameSuggestions.Unknown("option", key, properties.Select(p => ToSnakeCase(p.Name)).ToList()));
                var converted = ConvertNode(node, property.PropertyType, path);
                property.SetValue(instance, converted);
            }
        }
        if (instance is IValidatableOptions validatable)
        {
            var problems = validatable.Validate().ToList();
            if (problems.Count > 0)
            {
                // A problem names its option first ("epochs must be > 0"): point at where that option was written, which
                // may be another file than the section's first key (a value overriding an included file's).
                var named = values?.Entries.Select(e => e.Key).FirstOrDefault(k => problems[0].StartsWith(k + " ", StringComparison.Ordinal));
                throw new PipelineException(named != null ? values!.LocationOf(named) : values?.Location ?? sectionLocation, keyPath,
                    "invalid options: " + string.Join("; ", problems) + ".");
            }
        }
        return instance;
    }

    /// <summary>Converts a node to a CLR type (scalars, enums, nullables, lists and string dictionaries).</summary>
    public static object? ConvertNode(ConfigNode node, Type target, string path)
    {
        var underlying = Nullable.GetUnderlyingType(target);
        if (node is ConfigScalar { Value: null })
        {
            if (underlying != null || !target.IsValueType) return null;
            throw new PipelineException(node.Location, path, $"expected {TypeName(target)}, found null.");
        }
        var type = underlying ?? target;
        if (type == typeof(string) || type == typeof(object))
            return node is ConfigScalar s ? s.Value : throw Expected(node, path, type);
        if (IsList(type, out var element))
        {
            var items = node is ConfigList list ? list.Items : [node];
            var typed = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            for (var i = 0; i < items.Count; i++) typed.Add(ConvertNode(items[i], element, $"{path}.{i}"));
            if (type.IsArray)
            {
                var array = Array.CreateInstance(element, typed.Count);
                typed.CopyTo(array, 0);
                return array;
            }
            return typed;
        }
        if (type == typeof(IReadOnlyDictionary<string, string>) || type == typeof(Dictionary<string, string>))
        {
            if (node is not ConfigMap map) throw Expected(node, path, type);
            return map.Entries.ToDictionary(e => e.Key, e => (string?)(e.Value as ConfigScalar)?.Value ?? throw Expected(e.Value, path + "." + e.Key, typeof(string)));
        }
        if (node is not ConfigScalar scalar) throw Expected(node, path, type);
        var text = scalar.Value!;
        if (type.IsEnum)
        {
            var names = Enum.GetNames(type);
            var match = names.FirstOrDefault(n => Normalise(n) == Normalise(text));
            if (match == null)
                throw new PipelineException(node.Location, path, NameSuggestions.Unknown("value", text, names.Select(ToSnakeCase).Select(n => n.Replace('_', '-')).ToList()));
            return Enum.Parse(type, match);
        }
        if (type == typeof(bool))
        {
            return text.ToLowerInvariant() switch
            {
                "true" or "yes" or "on" => true,
                "false" or "no" or "off" => false,
                _ => throw new PipelineException(node.Location, path, $"expected true or false, found '{text}'."),
            };
        }
        try
        {
            if (type == typeof(int)) return int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
            if (type == typeof(long)) return long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
            if (type == typeof(double)) return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (type == typeof(float)) return float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new PipelineException(node.Location, path, $"expected {TypeName(type)}, found '{text}'.");
        }
        throw new PipelineException(node.Location, path, $"options of type {type.Name} are not supported by the binder.");
    }

    private static PipelineException Expected(ConfigNode node, string path, Type type) =>
        new(node.Location, path, $"expected {TypeName(type)}, found {node.KindName}.");

    private static bool IsList(Type type, out Type element)
    {
        if (type.IsArray) { element = type.GetElementType()!; return true; }
        if (type.IsGenericType)
        {
            var def = type.GetGenericTypeDefinition();
            if (def == typeof(IReadOnlyList<>) || def == typeof(List<>) || def == typeof(IList<>) || def == typeof(IEnumerable<>) || def == typeof(IReadOnlyCollection<>))
            {
                element = type.GetGenericArguments()[0];
                return true;
            }
        }
        element = typeof(object);
        return false;
    }

    /// <summary>A readable type name for messages and listings.</summary>
    public static string TypeName(Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying != null) return TypeName(underlying) + "?";
        if (type == typeof(string)) return "text";
        if (type == typeof(bool)) return "true/false";
        if (type == typeof(int) || type == typeof(long)) return "an integer";
        if (type == typeof(double) || type == typeof(float)) return "a number";
        if (type.IsEnum) return "one of " + string.Join("|", Enum.GetNames(type).Select(n => ToSnakeCase(n).Replace('_', '-')));
        if (IsList(type, out var element)) return "a list of " + TypeName(element);
        return type.Name;
    }

    /// <summary>The options of a type with defaults, for listings.</summary>
    public static IReadOnlyList<OptionDescription> Describe(Type optionsType)
    {
        object? defaults = null;
        try { defaults = Activator.CreateInstance(optionsType); } catch (Exception) { /* listed without defaults */ }
        return Settable(optionsType).Select(p => new OptionDescription(
            ToSnakeCase(p.Name),
            TypeName(p.PropertyType),
            defaults == null ? "?" : FormatValue(p.GetValue(defaults)),
            p.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "")).ToList();
    }

    /// <summary>An options object as JSON spelled the way a pipeline file writes it (snake_case keys, enum values by
    /// name as the binder reads them): manifests, reports and stage keys all record options this way, and the JSON
    /// read back as a mapping binds to equal options.</summary>
    public static string ToJson(object options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return JsonSerializer.Serialize(options, options.GetType(), PipelineSpelling);
    }

    private static readonly JsonSerializerOptions PipelineSpelling = new()
    {
        PropertyNamingPolicy = new SnakeCaseNames(),
        Converters = { new JsonStringEnumConverter(new EnumValueNames()) },
    };

    private sealed class SnakeCaseNames : JsonNamingPolicy
    {
        public override string ConvertName(string name) => ToSnakeCase(name);
    }

    private sealed class EnumValueNames : JsonNamingPolicy
    {
        public override string ConvertName(string name) => ToSnakeCase(name).Replace('_', '-');
    }

    /// <summary>Formats an option value the way a pipeline file would write it.</summary>
    public static string FormatValue(object? value) => value switch
    {
        null => "null",
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        Enum e => ToSnakeCase(e.ToString()).Replace('_', '-'),
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(FormatValue)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
