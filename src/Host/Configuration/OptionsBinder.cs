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

/// <summary>Builds option objects from pipeline mappings, for plugins and for the tool's own sections alike: defaults
/// from the class, values from the file and <c>--set</c>, keys in snake_case, validated once.</summary>
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

    /// <summary>An enum value as pipeline files write it (TopK -> top-k); the binder reads it back.</summary>
    private static string EnumWord(string name) => ToSnakeCase(name).Replace('_', '-');

    private static string Normalise(string key) => key.Replace("_", "").Replace("-", "").ToLowerInvariant();

    private static IReadOnlyList<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.SetMethod!.IsPublic).ToList();

    /// <summary>Creates and fills an options object: the defaults are the type's own, or a copy of
    /// <paramref name="defaults"/> when given; the written keys of <paramref name="values"/> replace them. A property whose
    /// type is itself an options class (a nested section such as a trainer) is bound the same way from its mapping, on
    /// top of that property's default. <paramref name="keyPath"/> prefixes error key paths; unknown keys are refused,
    /// calling them <paramref name="keyNoun"/>s ("option" for plugins, "key" for the tool's own sections).</summary>
    public static object Bind(Type optionsType, ConfigMap? values, string keyPath, SourceLocation sectionLocation, object? defaults = null, string keyNoun = "option")
    {
        ArgumentNullException.ThrowIfNull(optionsType);
        object instance;
        try { instance = Activator.CreateInstance(optionsType)!; }
        catch (Exception e)
        {
            throw new PipelineException(sectionLocation, keyPath, $"the options type {optionsType.FullName} could not be created: {(e.InnerException ?? e).Message}");
        }
        var properties = Settable(optionsType);
        if (defaults != null)
            foreach (var p in properties) p.SetValue(instance, p.GetValue(defaults));
        if (values != null)
        {
            foreach (var (key, node) in values.Entries)
            {
                var path = Join(keyPath, key);
                var property = properties.FirstOrDefault(p => Normalise(p.Name) == Normalise(key));
                if (property == null)
                    throw new PipelineException(values.LocationOf(key), path, NameSuggestions.Unknown(keyNoun, key, properties.Select(p => ToSnakeCase(p.Name)).ToList()));
                if (!IsSection(property.PropertyType)) property.SetValue(instance, ConvertNode(node, property.PropertyType, path));
                else if (node is ConfigMap map) property.SetValue(instance, Bind(property.PropertyType, map, path, map.Location, property.GetValue(instance), keyNoun));
                else if (node is not ConfigScalar { Value: null }) throw ExpectedMapping(node, path);
            }
        }
        if (instance is IValidatableOptions validatable) ThrowIfInvalid(validatable.Validate().ToList(), values, keyPath, sectionLocation);
        return instance;
    }

    /// <summary>Binds <typeparamref name="T"/> (see <see cref="Bind(Type, ConfigMap?, string, SourceLocation, object?, string)"/>).</summary>
    public static T Bind<T>(ConfigMap? values, string keyPath, SourceLocation sectionLocation, T? defaults = null, string keyNoun = "option") where T : class =>
        (T)Bind(typeof(T), values, keyPath, sectionLocation, defaults, keyNoun);

    /// <summary>Throws when there are problems with bound options. A problem names its option first, in its text
    /// ("epochs must be &gt; 0") or as a prefix ("template: the template must ..."; the prefix is dropped): the error
    /// names that option's key path and points at where it was written (which may be another file than the section's
    /// first key, a value overriding an included file's), or at the section when it was not written.</summary>
    public static void ThrowIfInvalid(IReadOnlyList<string> problems, ConfigMap? values, string keyPath, SourceLocation sectionLocation)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count == 0) return;
        var first = problems[0];
        var name = first.IndexOfAny([' ', ':']) is var end and > 0 ? first[..end] : null;
        var written = name != null && values?.Entries.ContainsKey(name) == true;
        var messages = problems.Select(p => name != null && p.StartsWith(name + ": ", StringComparison.Ordinal) ? p[(name.Length + 2)..] : p);
        throw new PipelineException(written ? values!.LocationOf(name!) : values?.Location ?? sectionLocation, written ? Join(keyPath, name!) : keyPath,
            string.Join("; ", messages) + ".");
    }

    private static string Join(string keyPath, string key) => keyPath.Length == 0 ? key : keyPath + "." + key;

    // An options class nested in another (a mapping of its own), as opposed to a value, a list or a raw node.
    private static bool IsSection(Type type) =>
        type.IsClass && type != typeof(string) && type != typeof(object) && !typeof(ConfigNode).IsAssignableFrom(type) && !typeof(IEnumerable).IsAssignableFrom(type)
        && type.GetConstructor(Type.EmptyTypes) != null;

    private static PipelineException ExpectedMapping(ConfigNode node, string path) =>
        new(node.Location, path, $"expected a mapping (indented 'key: value' lines), found {node.KindName}.");

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
        // The tool's own sections keep some parts as written (a plugin's options, bound once the plugin is known).
        if (type == typeof(ConfigMap)) return node as ConfigMap ?? throw ExpectedMapping(node, path);
        if (type == typeof(ConfigNode)) return node;
        if (type == typeof(string) || type == typeof(object))
            return node is ConfigScalar s ? s.Value : throw Expected(node, path, type);
        if (IsList(type, out var element))
        {
            // A single value is a list of one; "a, b" (as --set writes lists) is split on commas.
            var items = node switch
            {
                ConfigList list => list.Items,
                ConfigScalar { Value: { } written } one => written.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(v => (ConfigNode)new ConfigScalar(v, one.Location, one.Quoted)).ToList(),
                _ => throw Expected(node, path, type),
            };
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
                throw new PipelineException(node.Location, path, NameSuggestions.Unknown("value", text, names.Select(EnumWord).ToList()));
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
        if (type.IsEnum) return "one of " + string.Join("|", Enum.GetNames(type).Select(EnumWord));
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
        public override string ConvertName(string name) => EnumWord(name);
    }

    /// <summary>Formats an option value the way a pipeline file would write it.</summary>
    public static string FormatValue(object? value) => value switch
    {
        null => "null",
        string s => s,
        bool b => b ? "true" : "false",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        Enum e => EnumWord(e.ToString()),
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(FormatValue)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
