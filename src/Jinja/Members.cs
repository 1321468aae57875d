using System.Globalization;
using System.Text;

namespace Unlearn.Text.Jinja;

/// <summary>The value of <c>start:stop:step</c> inside brackets.</summary>
internal sealed record PySlice(object? Start, object? Stop, object? Step);

/// <summary>Attribute and item access as the sandboxed jinja2 environment does it, and the Python methods of
/// strings, dicts and lists that templates call.</summary>
internal static class Members
{
    private static readonly HashSet<string> UnsafeDictMethods = ["pop", "popitem", "setdefault", "update", "clear"];
    private static readonly HashSet<string> UnsafeListMethods = ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"];

    /// <summary><c>obj.name</c>: a Python attribute (a method) if the object has one, else the item
    /// <c>obj['name']</c>, else undefined. Fails on an undefined object.</summary>
    public static object? GetAttr(object? obj, string name)
    {
        if (obj is Undefined undefined) throw undefined.Error();
        if (TryAttribute(obj, name, out var value)) return value;
        if (obj is IReadOnlyDictionary<string, object?> dict && dict.TryGetValue(name, out value)) return value;
        return Undefined.NoMember(obj, name);
    }

    /// <summary><c>obj[key]</c>: the item if there is one (a missing key or an index out of range is not an
    /// error), else for a string key the Python attribute of that name, else undefined. Fails on an undefined object.</summary>
    public static object? GetItem(object? obj, object? key)
    {
        if (obj is Undefined undefined) throw undefined.Error();
        if (TryItem(obj, key, out var value)) return value;
        if (key is string name && TryAttribute(obj, name, out value)) return value;
        return Undefined.NoMember(obj, key);
    }

    private static bool TryItem(object? obj, object? key, out object? value)
    {
        value = null;
        switch (obj, key)
        {
            case (IReadOnlyDictionary<string, object?> dict, string name):
                return dict.TryGetValue(name, out value);
            case (IReadOnlyList<object?> list, long or bool):
                var index = Py.ToLong(key);
                if (index < 0) index += list.Count;
                if (index < 0 || index >= list.Count) return false;
                value = list[(int)index];
                return true;
            case (string s, long or bool):
                var chars = Py.CodePoints(s);
                var i = Py.ToLong(key);
                if (i < 0) i += chars.Count;
                if (i < 0 || i >= chars.Count) return false;
                value = chars[(int)i];
                return true;
            case (string or IReadOnlyList<object?>, PySlice slice):
                if (!IsSliceIndex(slice.Start) || !IsSliceIndex(slice.Stop) || !IsSliceIndex(slice.Step)) return false;
                var source = obj is string str ? Py.CodePoints(str).Cast<object?>().ToList() : (IReadOnlyList<object?>)obj;
                var picked = SliceIndices(source.Count, slice).Select(j => source[j]).ToList();
                value = obj switch
                {
                    string => string.Concat(picked.Cast<string>()),
                    PyTuple => new PyTuple(picked),
                    _ => picked,
                };
                return true;
            default:
                return false;
        }
    }

    private static bool IsSliceIndex(object? v) => v is null or long or bool;

    /// <summary>The indices a Python slice selects from a sequence of <paramref name="length"/> items.</summary>
    public static IEnumerable<int> SliceIndices(int length, PySlice slice)
    {
        var step = slice.Step is null ? 1 : Py.ToLong(slice.Step);
        if (step == 0) throw new JinjaRuntimeError("slice step cannot be zero");
        long Adjust(object? bound, long whenMissing)
        {
            if (bound is null) return whenMissing;
            var b = Py.ToLong(bound);
            if (b < 0) b = Math.Max(b + length, step < 0 ? -1 : 0);
            else if (b >= length) b = step < 0 ? length - 1 : length;
            return b;
        }
        var start = Adjust(slice.Start, step < 0 ? length - 1 : 0);
        var stop = Adjust(slice.Stop, step < 0 ? -1 : length);
        for (var i = start; step > 0 ? i < stop : i > stop; i += step) yield return (int)i;
    }

    /// <summary>The Python attribute <paramref name="name"/> of a value: bound methods of strings, dicts and lists,
    /// the attributes of <c>loop</c> and of a namespace. Mutating methods of dicts and lists give an undefined value
    /// that fails when called, as in jinja2's immutable sandbox.</summary>
    public static bool TryAttribute(object? obj, string name, out object? value)
    {
        value = null;
        switch (obj)
        {
            case string s:
                value = StringMethod(s, name);
                return value is not null;
            case IReadOnlyDictionary<string, object?> dict:
                if (UnsafeDictMethods.Contains(name)) { value = Unsafe(name, "dict"); return true; }
                value = DictMethod(dict, name);
                return value is not null;
            case List<object?> list:
                if (UnsafeListMethods.Contains(name)) { value = Unsafe(name, "list"); return true; }
                value = ListMethod(list, name);
                return value is not null;
            case PyTuple tuple:
                value = ListMethod(tuple, name);
                return value is not null;
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out value);
            case LoopContext loop:
                return loop.TryGet(name, out value);
            default:
                return false;
        }
    }

    private static Undefined Unsafe(string name, string type) => Undefined.WithHint($"access to attribute '{name}' of '{type}' object is unsafe.");

    private static BuiltinFunction Method(string name, Func<CallArgs, object?> body) => new(name, (_, args) => body(args));

    private static BuiltinFunction? DictMethod(IReadOnlyDictionary<string, object?> dict, string name) => name switch
    {
        "items" or "keys" or "values" => Method(name, a =>
        {
            a.Bind(name, 0);
            return new DictView("dict_" + name, dict);
        }),
        "get" => Method(name, a =>
        {
            var p = a.Bind("get", 1, "key", "default");
            return p[0] is string key && dict.TryGetValue(key, out var v) ? v : p[1] == CallArgs.Missing ? null : p[1];
        }),
        "copy" => Method(name, a =>
        {
            a.Bind(name, 0);
            return new Dictionary<string, object?>(dict);
        }),
        _ => null,
    };

    private static BuiltinFunction? ListMethod(IReadOnlyList<object?> list, string name) => name switch
    {
        "count" => Method(name, a => (long)list.Count(x => Py.Equal(x, a.Bind("count", 1, "value")[0]))),
        "index" => Method(name, a =>
        {
            var value = a.Bind("index", 1, "value")[0];
            for (var i = 0; i < list.Count; i++)
                if (Py.Equal(list[i], value)) return (long)i;
            throw new JinjaRuntimeError($"ValueError: {Py.Repr(value)} is not in list");
        }),
        _ => null,
    };

    private static string ArgString(object? v, string function) =>
        v as string ?? throw new JinjaRuntimeError($"{function}() argument must be str, not {Py.TypeName(v)}");

    private static string? OptionalString(object? v, string function) =>
        v == CallArgs.Missing || v is null ? null : ArgString(v, function);

    private static long OptionalInt(object? v, long whenMissing) => v == CallArgs.Missing || v is null ? whenMissing
        : Py.IsIntegral(v) ? Py.ToLong(v) : throw new JinjaRuntimeError($"'{Py.TypeName(v)}' object cannot be interpreted as an integer");

    /// <summary>The substring between optional <c>start</c> and <c>end</c> arguments (code point positions), and
    /// the code point index it starts at.</summary>
    private static (string Text, int Offset) Window(string s, object? start, object? end)
    {
        if ((start == CallArgs.Missing || start is null) && (end == CallArgs.Missing || end is null)) return (s, 0);
        var chars = Py.CodePoints(s);
        int Clamp(object? bound, int whenMissing)
        {
            if (bound == CallArgs.Missing || bound is null) return whenMissing;
            var b = OptionalInt(bound, 0);
            return (int)Math.Clamp(b < 0 ? b + chars.Count : b, 0, chars.Count);
        }
        int from = Clamp(start, 0), to = Clamp(end, chars.Count);
        return (from < to ? string.Concat(chars.Skip(from).Take(to - from)) : "", from);
    }

    private static BuiltinFunction? StringMethod(string s, string name) => name switch
    {
        "strip" or "lstrip" or "rstrip" => Method(name, a => Strip(s, OptionalString(a.Bind(name, 0, "chars")[0], name), name != "rstrip", name != "lstrip")),
        "upper" => Method(name, a => { a.Bind(name, 0); return s.ToUpperInvariant(); }),
        "lower" or "casefold" => Method(name, a => { a.Bind(name, 0); return s.ToLowerInvariant(); }),
        "title" => Method(name, a => { a.Bind(name, 0); return Title(s); }),
        "capitalize" => Method(name, a => { a.Bind(name, 0); return Capitalize(s); }),
        "swapcase" => Method(name, a =>
        {
            a.Bind(name, 0);
            return string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)));
        }),
        "split" or "rsplit" => Method(name, a =>
        {
            var p = a.Bind(name, 0, "sep", "maxsplit");
            return Split(s, OptionalString(p[0], name), OptionalInt(p[1], -1), name == "rsplit");
        }),
        "splitlines" => Method(name, a =>
        {
            var keep = a.Bind(name, 0, "keepends")[0];
            return SplitLines(s, keep != CallArgs.Missing && Py.Truthy(keep)).Cast<object?>().ToList();
        }),
        "startswith" or "endswith" => Method(name, a =>
        {
            var p = a.Bind(name, 1, "prefix", "start", "end");
            var (text, _) = Window(s, p[1], p[2]);
            var candidates = p[0] is PyTuple t ? t.Select(x => ArgString(x, name)) : [p[0] is string one ? one
                : throw new JinjaRuntimeError($"{name} first arg must be str or a tuple of str, not {Py.TypeName(p[0])}")];
            return candidates.Any(c => name == "startswith" ? text.StartsWith(c, StringComparison.Ordinal) : text.EndsWith(c, StringComparison.Ordinal));
        }),
        "replace" => Method(name, a =>
        {
            var p = a.Bind(name, 2, "old", "new", "count");
            return Replace(s, ArgString(p[0], name), ArgString(p[1], name), OptionalInt(p[2], -1));
        }),
        "find" or "rfind" or "index" or "rindex" => Method(name, a =>
        {
            var p = a.Bind(name, 1, "sub", "start", "end");
            var (text, offset) = Window(s, p[1], p[2]);
            var sub = ArgString(p[0], name);
            var at = name[0] == 'r' ? text.LastIndexOf(sub, StringComparison.Ordinal) : text.IndexOf(sub, StringComparison.Ordinal);
            if (at < 0) return name.EndsWith("find", StringComparison.Ordinal) ? -1L : throw new JinjaRuntimeError("ValueError: substring not found");
            return (long)(offset + Py.StrLength(text[..at]));
        }),
        "count" => Method(name, a =>
        {
            var p = a.Bind(name, 1, "sub", "start", "end");
            var (text, _) = Window(s, p[1], p[2]);
            var sub = ArgString(p[0], name);
            if (sub.Length == 0) return (long)Py.StrLength(text) + 1;
            long n = 0;
            for (var at = text.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = text.IndexOf(sub, at + sub.Length, StringComparison.Ordinal)) n++;
            return n;
        }),
        "join" => Method(name, a =>
        {
            var items = Py.Iterate(a.Bind(name, 1, "iterable")[0]).Select((x, i) => x as string
                ?? throw new JinjaRuntimeError($"sequence item {i}: expected str instance, {Py.TypeName(x)} found"));
            return string.Join(s, items);
        }),
        "format" => Method(name, a => PyFormat.Format(s, a)),
        "removeprefix" => Method(name, a => { var x = ArgString(a.Bind(name, 1, "prefix")[0], name); return s.StartsWith(x, StringComparison.Ordinal) ? s[x.Length..] : s; }),
        "removesuffix" => Method(name, a => { var x = ArgString(a.Bind(name, 1, "suffix")[0], name); return x.Length > 0 && s.EndsWith(x, StringComparison.Ordinal) ? s[..^x.Length] : s; }),
        "isdigit" or "isdecimal" or "isnumeric" => Predicate(name, s, char.IsDigit),
        "isalpha" => Predicate(name, s, char.IsLetter),
        "isalnum" => Predicate(name, s, char.IsLetterOrDigit),
        "isspace" => Predicate(name, s, Py.IsWhitespace),
        "islower" => Method(name, a => { a.Bind(name, 0); return s.Any(char.IsLower) && !s.Any(char.IsUpper); }),
        "isupper" => Method(name, a => { a.Bind(name, 0); return s.Any(char.IsUpper) && !s.Any(char.IsLower); }),
        "center" or "ljust" or "rjust" => Method(name, a =>
        {
            var p = a.Bind(name, 1, "width", "fillchar");
            var fill = p[1] == CallArgs.Missing ? " " : ArgString(p[1], name);
            return Justify(s, OptionalInt(p[0], 0), fill, name);
        }),
        "zfill" => Method(name, a =>
        {
            var width = (int)OptionalInt(a.Bind(name, 1, "width")[0], 0);
            var length = Py.StrLength(s);
            if (length >= width) return s;
            var sign = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
            return s[..sign] + new string('0', width - length) + s[sign..];
        }),
        "partition" or "rpartition" => Method(name, a =>
        {
            var sep = ArgString(a.Bind(name, 1, "sep")[0], name);
            if (sep.Length == 0) throw new JinjaRuntimeError("ValueError: empty separator");
            var at = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
            if (at < 0) return name == "partition" ? new PyTuple([s, "", ""]) : new PyTuple(["", "", s]);
            return new PyTuple([s[..at], sep, s[(at + sep.Length)..]]);
        }),
        _ => null,
    };

    private static BuiltinFunction Predicate(string name, string s, Func<char, bool> test) =>
        Method(name, a => { a.Bind(name, 0); return s.Length > 0 && s.All(test); });

    private static string Justify(string s, long width, string fill, string kind)
    {
        if (Py.StrLength(fill) != 1) throw new JinjaRuntimeError("The fill character must be exactly one character long");
        var margin = (int)Math.Max(0, width - Py.StrLength(s));
        if (margin == 0) return s;
        // CPython's str.center gives the odd extra fill character to the left only when the width is odd.
        var left = kind switch { "ljust" => 0, "rjust" => margin, _ => margin / 2 + (margin & (int)width & 1) };
        return string.Concat(Enumerable.Repeat(fill, left)) + s + string.Concat(Enumerable.Repeat(fill, margin - left));
    }

    /// <summary>Python's <c>str.strip</c>: whitespace, or any of <paramref name="chars"/>, from either end.</summary>
    public static string Strip(string s, string? chars, bool left = true, bool right = true)
    {
        if (chars is null)
        {
            var span = s.AsSpan();
            var start = left ? span.IndexOfAnyExcept(Py.WhitespaceChars) : 0;
            if (start < 0) return "";
            var end = right ? span.LastIndexOfAnyExcept(Py.WhitespaceChars) + 1 : s.Length;
            return s[start..end];
        }
        var set = Py.CodePoints(chars).ToHashSet();
        var cps = Py.CodePoints(s);
        int a = 0, b = cps.Count;
        while (left && a < b && set.Contains(cps[a])) a++;
        while (right && b > a && set.Contains(cps[b - 1])) b--;
        return string.Concat(cps.Skip(a).Take(b - a));
    }

    /// <summary>Python's <c>str.split</c>/<c>str.rsplit</c>: without a separator, on runs of whitespace with
    /// empty strings dropped; with one, exactly; at most <paramref name="maxSplit"/> splits when not negative.</summary>
    public static List<object?> Split(string s, string? sep, long maxSplit, bool fromRight)
    {
        if (sep is null) return fromRight ? RSplitWhitespace(s, maxSplit) : SplitWhitespace(s, maxSplit);
        if (sep.Length == 0) throw new JinjaRuntimeError("ValueError: empty separator");
        var parts = s.Split(sep);
        if (maxSplit < 0 || parts.Length <= maxSplit + 1) return [.. parts];
        var n = (int)maxSplit;
        if (!fromRight) return [.. parts.Take(n), string.Join(sep, parts.Skip(n))];
        return [string.Join(sep, parts.Take(parts.Length - n)), .. parts.Skip(parts.Length - n)];
    }

    private static List<object?> SplitWhitespace(string s, long maxSplit)
    {
        var result = new List<object?>();
        var i = 0;
        for (var left = maxSplit < 0 ? long.MaxValue : maxSplit; left > 0; left--)
        {
            while (i < s.Length && Py.IsWhitespace(s[i])) i++;
            if (i == s.Length) return result;
            var start = i;
            while (i < s.Length && !Py.IsWhitespace(s[i])) i++;
            result.Add(s[start..i]);
        }
        while (i < s.Length && Py.IsWhitespace(s[i])) i++;
        if (i < s.Length) result.Add(s[i..]);
        return result;
    }

    private static List<object?> RSplitWhitespace(string s, long maxSplit)
    {
        var result = new List<object?>();
        var i = s.Length - 1;
        for (var left = maxSplit < 0 ? long.MaxValue : maxSplit; left > 0; left--)
        {
            while (i >= 0 && Py.IsWhitespace(s[i])) i--;
            if (i < 0) break;
            var end = i + 1;
            while (i >= 0 && !Py.IsWhitespace(s[i])) i--;
            result.Add(s[(i + 1)..end]);
        }
        while (i >= 0 && Py.IsWhitespace(s[i])) i--;
        if (i >= 0) result.Add(s[..(i + 1)]);
        result.Reverse();
        return result;
    }

    /// <summary>Python's <c>str.splitlines</c>: splits at \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029.</summary>
    public static List<string> SplitLines(string s, bool keepEnds)
    {
        var lines = new List<string>();
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] is not ('\n' or '\r' or '\v' or '\f' or '\u001c' or '\u001d' or '\u001e' or '\u0085' or '\u2028' or '\u2029')) continue;
            var end = s[i] == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? i + 2 : i + 1;
            lines.Add(s[start..(keepEnds ? end : i)]);
            start = end;
            i = end - 1;
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    /// <summary>Python's <c>str.replace</c>; an empty <paramref name="old"/> inserts <paramref name="replacement"/>
    /// around every character.</summary>
    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0) count = long.MaxValue;
        var sb = new StringBuilder();
        if (old.Length == 0)
        {
            var chars = Py.CodePoints(s);
            for (var i = 0; i <= chars.Count; i++)
            {
                if (i <= count - 1 || count == long.MaxValue) sb.Append(replacement);
                if (i < chars.Count) sb.Append(chars[i]);
            }
            return sb.ToString();
        }
        var at = 0;
        for (long n = 0; n < count; n++)
        {
            var next = s.IndexOf(old, at, StringComparison.Ordinal);
            if (next < 0) break;
            sb.Append(s, at, next - at).Append(replacement);
            at = next + old.Length;
        }
        return sb.Append(s, at, s.Length - at).ToString();
    }

    private static bool IsCased(char c) => char.IsUpper(c) || char.IsLower(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;

    /// <summary>Python's <c>str.title</c>: a cased character after an uncased one is upper-cased, other cased
    /// characters lower-cased (so <c>"they're"</c> becomes <c>"They'Re"</c>).</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var previousCased = false;
        foreach (var c in s)
        {
            var d = previousCased ? char.ToLowerInvariant(c) : ToTitle(c);
            sb.Append(d);
            previousCased = IsCased(d) || IsCased(c);
        }
        return sb.ToString();
    }

    /// <summary>Python's <c>str.capitalize</c>: the first character title-cased, the rest lower-cased.</summary>
    public static string Capitalize(string s) =>
        s.Length == 0 ? s : ToTitle(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>Title case: upper case except for the four Latin digraphs that have a distinct title-case form
    /// (DŽ→Dž, LJ→Lj, NJ→Nj, DZ→Dz).</summary>
    private static char ToTitle(char c) => c switch
    {
        >= '\u01C4' and <= '\u01C6' => '\u01C5',
        >= '\u01C7' and <= '\u01C9' => '\u01C8',
        >= '\u01CA' and <= '\u01CC' => '\u01CB',
        >= '\u01F1' and <= '\u01F3' => '\u01F2',
        _ => char.ToUpperInvariant(c),
    };
}
