using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace Unlearn.Text.Jinja;

/// <summary>A filter: the renderer, the value before the <c>|</c>, and the call's arguments.</summary>
internal delegate object? FilterFunction(Renderer renderer, object? value, CallArgs args);

/// <summary>A test (<c>value is name(args)</c>).</summary>
internal delegate bool TestFunction(Renderer renderer, object? value, CallArgs args);

/// <summary>jinja2's built-in filters, tests and global functions, with Hugging Face's <c>tojson</c>,
/// <c>raise_exception</c> and <c>strftime_now</c>.</summary>
internal static partial class Builtins
{
    public static IReadOnlyDictionary<string, FilterFunction> Filters { get; } = new Dictionary<string, FilterFunction>
    {
        ["abs"] = (_, v, a) =>
        {
            a.Bind("abs", 0);
            return v switch
            {
                bool or long => Py.ToLong(v) == long.MinValue ? throw new JinjaRuntimeError("integer overflow") : (object)Math.Abs(Py.ToLong(v)),
                double d => Math.Abs(d),
                Undefined u => throw u.Error(),
                _ => throw new JinjaRuntimeError($"bad operand type for abs(): '{Py.TypeName(v)}'"),
            };
        },
        ["attr"] = (_, v, a) =>
        {
            var name = Py.Str(a.Bind("attr", 1, "name")[0]);
            if (v is Undefined u) throw u.Error();
            return Members.TryAttribute(v, name, out var value) ? value : Undefined.NoMember(v, name);
        },
        ["capitalize"] = (_, v, a) => { a.Bind("capitalize", 0); return Members.Capitalize(Py.Str(v)); },
        ["center"] = (r, v, a) => CallMethod(r, Py.Str(v), "center", [Arg(a.Bind("center", 0, "width"), 0, 80L)]),
        ["count"] = (_, v, a) => { a.Bind("count", 0); return Py.Len(v); },
        ["d"] = Default,
        ["default"] = Default,
        ["dictsort"] = (_, v, a) =>
        {
            var p = a.Bind("dictsort", 0, "case_sensitive", "by", "reverse");
            var by = Py.Str(Arg(p, 1, "key"));
            var position = by == "key" ? 0 : by == "value" ? 1 : throw new JinjaRuntimeError("You can only sort by either 'key' or 'value'");
            var dict = v as IReadOnlyDictionary<string, object?> ?? (v is Undefined u ? throw u.Error() : throw new JinjaRuntimeError($"'{Py.TypeName(v)}' object has no attribute 'items'"));
            var caseSensitive = Py.Truthy(Arg(p, 0, false));
            var pairs = dict.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList();
            return SortBy(pairs, item => caseSensitive ? ((PyTuple)item!)[position] : IgnoreCase(((PyTuple)item!)[position]), Py.Truthy(Arg(p, 2, false)));
        },
        ["e"] = Escape,
        ["escape"] = Escape,
        ["forceescape"] = Escape,
        ["first"] = (_, v, a) =>
        {
            a.Bind("first", 0);
            foreach (var item in Py.Iterate(v)) return item;
            return Undefined.WithHint("No first item, sequence was empty.");
        },
        ["float"] = (_, v, a) =>
        {
            var fallback = Arg(a.Bind("float", 0, "default"), 0, 0.0);
            return v switch
            {
                Undefined u => throw u.Error(),
                bool or long or double => Py.ToDouble(v),
                string s => Py.TryParseFloat(s, out var d) ? d : fallback,
                _ => fallback,
            };
        },
        ["format"] = (_, v, a) =>
        {
            if (a.Positional.Count > 0 && a.Keyword.Count > 0) throw new JinjaRuntimeError("can't handle positional and keyword arguments at the same time");
            object args = a.Keyword.Count > 0 ? a.Keyword.ToDictionary(kv => kv.Key, kv => kv.Value) : new PyTuple(a.Positional);
            return PyFormat.Percent(Py.Str(v), args);
        },
        ["indent"] = (_, v, a) =>
        {
            var p = a.Bind("indent", 0, "width", "first", "blank");
            var width = Arg(p, 0, 4L);
            var indention = width as string ?? new string(' ', (int)Math.Max(0, Py.IsIntegral(width) ? Py.ToLong(width) : throw new JinjaRuntimeError("indent width must be an integer or a string")));
            if (v is Undefined u) throw u.Error();
            var s = (v as string ?? throw new JinjaRuntimeError($"unsupported operand type(s) for +=: '{Py.TypeName(v)}' and 'str'")) + "\n";
            var lines = Members.SplitLines(s, keepEnds: false);
            var rv = Py.Truthy(Arg(p, 2, false))
                ? string.Join("\n" + indention, lines)
                : lines[0] + (lines.Count > 1 ? "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? indention + l : l)) : "");
            return Py.Truthy(Arg(p, 1, false)) ? indention + rv : rv;
        },
        ["int"] = (_, v, a) =>
        {
            var p = a.Bind("int", 0, "default", "base");
            var fallback = Arg(p, 0, 0L);
            var radix = (int)Py.ToLong(Arg(p, 1, 10L));
            return v switch
            {
                Undefined u => throw u.Error(),
                bool or long => Py.ToLong(v),
                double d => Truncate(d, fallback),
                string s => Py.TryParseInt(s, radix, out var n) ? n : Py.TryParseFloat(s, out var f) ? Truncate(f, fallback) : fallback,
                _ => fallback,
            };
        },
        ["items"] = (_, v, a) =>
        {
            a.Bind("items", 0);
            return v switch
            {
                Undefined => new PyIterator("generator", []),
                IReadOnlyDictionary<string, object?> d => new PyIterator("generator", d.Select(kv => (object?)new PyTuple([kv.Key, kv.Value]))),
                _ => throw new JinjaRuntimeError("Can only get item pairs from a mapping."),
            };
        },
        ["join"] = (_, v, a) =>
        {
            var p = a.Bind("join", 0, "d", "attribute");
            var items = Py.Iterate(v);
            if (Arg(p, 1, null) is { } attribute) items = items.Select(AttrGetter(attribute, null, null));
            return string.Join(Py.Str(Arg(p, 0, "")), items.Select(Py.Str));
        },
        ["last"] = (_, v, a) =>
        {
            a.Bind("last", 0);
            var items = Reversed(v) ?? throw new JinjaRuntimeError($"'{Py.TypeName(v)}' object is not reversible");
            foreach (var item in items) return item;
            return Undefined.WithHint("No last item, sequence was empty.");
        },
        ["length"] = (_, v, a) => { a.Bind("length", 0); return Py.Len(v); },
        ["list"] = (_, v, a) => { a.Bind("list", 0); return Py.ToList(v); },
        ["lower"] = (_, v, a) => { a.Bind("lower", 0); return Py.Str(v).ToLowerInvariant(); },
        ["map"] = (r, v, a) =>
        {
            Func<object?, object?> function;
            if (a.Positional.Count == 0 && a.Keyword.Any(kv => kv.Key == "attribute"))
            {
                var p = a.Bind("map", 0, "attribute", "default");
                function = AttrGetter(p[0], Arg(p, 1, null), null);
            }
            else
            {
                if (a.Positional.Count == 0) throw new JinjaRuntimeError("map requires a filter name or attribute=");
                var name = Py.Str(a.Positional[0]);
                var rest = new CallArgs(a.Positional.Skip(1).ToList(), a.Keyword);
                function = item => r.CallFilter(name, item, rest);
            }
            return new PyIterator("generator", Py.Truthy(v) ? Py.Iterate(v).Select(function) : []);
        },
        ["max"] = (_, v, a) => MinOrMax(v, a, "max"),
        ["min"] = (_, v, a) => MinOrMax(v, a, "min"),
        ["reject"] = (r, v, a) => SelectOrReject(r, v, a, lookupAttribute: false, keep: false),
        ["rejectattr"] = (r, v, a) => SelectOrReject(r, v, a, lookupAttribute: true, keep: false),
        ["replace"] = (_, v, a) =>
        {
            var p = a.Bind("replace", 2, "old", "new", "count");
            var count = Arg(p, 2, null);
            return Members.Replace(Py.Str(v), Py.Str(p[0]), Py.Str(p[1]), count is null ? -1 : Py.ToLong(count));
        },
        ["reverse"] = (_, v, a) =>
        {
            a.Bind("reverse", 0);
            if (v is string s)
            {
                var chars = Py.CodePoints(s);
                chars.Reverse();
                return string.Concat(chars);
            }
            if (v is PyIterator) return Py.ToList(v).AsEnumerable().Reverse().ToList();
            var items = Reversed(v) ?? throw new JinjaRuntimeError("argument must be iterable");
            return new PyIterator(v is List<object?> ? "list_reverseiterator" : "reversed", items);
        },
        ["round"] = (_, v, a) =>
        {
            var p = a.Bind("round", 0, "precision", "method");
            var precision = Py.ToLong(Arg(p, 0, 0L));
            var method = Py.Str(Arg(p, 1, "common"));
            if (method is not ("common" or "ceil" or "floor")) throw new JinjaRuntimeError("method must be common, ceil or floor");
            if (v is Undefined u) throw u.Error();
            if (!Py.IsNumber(v)) throw new JinjaRuntimeError($"type {Py.TypeName(v)} doesn't define __round__ method");
            if (method == "common") return Py.IsIntegral(v) ? RoundInteger(Py.ToLong(v), precision) : (object)RoundHalfEven(Py.ToDouble(v), precision);
            var scale = Math.Pow(10, precision);
            var scaled = Py.ToDouble(v) * scale;
            return (method == "floor" ? Math.Floor(scaled) : Math.Ceiling(scaled)) / scale;
        },
        ["safe"] = (_, v, a) => { a.Bind("safe", 0); return Py.Str(v); },
        ["select"] = (r, v, a) => SelectOrReject(r, v, a, lookupAttribute: false, keep: true),
        ["selectattr"] = (r, v, a) => SelectOrReject(r, v, a, lookupAttribute: true, keep: true),
        ["sort"] = (_, v, a) =>
        {
            var p = a.Bind("sort", 0, "reverse", "case_sensitive", "attribute");
            var key = MultiAttrGetter(Arg(p, 2, null), Py.Truthy(Arg(p, 1, false)));
            return SortBy(Py.ToList(v), key, Py.Truthy(Arg(p, 0, false)));
        },
        ["string"] = (_, v, a) => { a.Bind("string", 0); return Py.Str(v); },
        ["sum"] = (_, v, a) =>
        {
            var p = a.Bind("sum", 0, "attribute", "start");
            var items = Py.Iterate(v);
            if (Arg(p, 0, null) is { } attribute) items = items.Select(AttrGetter(attribute, null, null));
            return items.Aggregate(Arg(p, 1, 0L), (total, x) => Py.Arithmetic("+", total, x));
        },
        ["title"] = (_, v, a) => { a.Bind("title", 0); return JinjaTitle(Py.Str(v)); },
        ["tojson"] = (_, v, a) =>
        {
            var p = a.Bind("tojson", 0, "ensure_ascii", "indent", "separators", "sort_keys");
            var indentArg = Arg(p, 1, null);
            var indent = indentArg switch
            {
                null => null,
                string s => s,
                bool or long => new string(' ', (int)Math.Max(0, Py.ToLong(indentArg))),
                _ => throw new JinjaRuntimeError("tojson indent must be an integer or a string"),
            };
            var (itemSeparator, keySeparator) = indent is null ? (", ", ": ") : (",", ": ");
            if (Arg(p, 2, null) is { } separators)
            {
                var pair = separators as IReadOnlyList<object?>;
                if (pair is null || pair.Count != 2 || pair[0] is not string first || pair[1] is not string second)
                    throw new JinjaRuntimeError("tojson separators must be a pair of strings");
                (itemSeparator, keySeparator) = (first, second);
            }
            return PyFormat.Json(v, Py.Truthy(Arg(p, 0, false)), indent, itemSeparator, keySeparator, Py.Truthy(Arg(p, 3, false)));
        },
        ["trim"] = (_, v, a) =>
        {
            var chars = Arg(a.Bind("trim", 0, "chars"), 0, null);
            return Members.Strip(Py.Str(v), chars is null ? null : Py.Str(chars));
        },
        ["unique"] = (_, v, a) =>
        {
            var p = a.Bind("unique", 0, "case_sensitive", "attribute");
            var key = AttrGetter(Arg(p, 1, null), null, Py.Truthy(Arg(p, 0, false)) ? null : IgnoreCase);
            return new PyIterator("generator", Unique(Py.Iterate(v), key));
        },
        ["upper"] = (_, v, a) => { a.Bind("upper", 0); return Py.Str(v).ToUpperInvariant(); },
        ["wordcount"] = (_, v, a) => { a.Bind("wordcount", 0); return (long)WordRegex().Count(Py.Str(v)); },
    };

    public static IReadOnlyDictionary<string, TestFunction> Tests { get; } = new Dictionary<string, TestFunction>
    {
        ["boolean"] = (_, v, a) => NoArgs(a, "boolean") && v is bool,
        ["callable"] = (_, v, a) => NoArgs(a, "callable") && v is Callable,
        ["defined"] = (_, v, a) => NoArgs(a, "defined") && v is not Undefined,
        ["divisibleby"] = (_, v, a) => Py.Equal(Py.Arithmetic("%", v, a.Bind("divisibleby", 1, "num")[0]), 0L),
        ["eq"] = Equal,
        ["equalto"] = Equal,
        ["=="] = Equal,
        ["escaped"] = (_, _, a) => !NoArgs(a, "escaped"),
        ["even"] = (_, v, a) => NoArgs(a, "even") && Py.Equal(Py.Arithmetic("%", v, 2L), 0L),
        ["false"] = (_, v, a) => NoArgs(a, "false") && v is false,
        ["filter"] = (_, v, a) => NoArgs(a, "filter") && v is string name && Filters.ContainsKey(name),
        ["float"] = (_, v, a) => NoArgs(a, "float") && v is double,
        ["ge"] = Ordered(">="),
        [">="] = Ordered(">="),
        ["gt"] = Ordered(">"),
        [">"] = Ordered(">"),
        ["greaterthan"] = Ordered(">"),
        ["in"] = (_, v, a) => Py.Contains(a.Bind("in", 1, "seq")[0], v),
        ["integer"] = (_, v, a) => NoArgs(a, "integer") && v is long,
        ["iterable"] = (_, v, a) => NoArgs(a, "iterable") && v is string or IReadOnlyCollection<object?> or IReadOnlyDictionary<string, object?> or PyIterator or Undefined or LoopContext,
        ["le"] = Ordered("<="),
        ["<="] = Ordered("<="),
        ["lower"] = (_, v, a) => NoArgs(a, "lower") && Py.Str(v) is var s && s.Any(char.IsLower) && !s.Any(char.IsUpper),
        ["lt"] = Ordered("<"),
        ["<"] = Ordered("<"),
        ["lessthan"] = Ordered("<"),
        ["mapping"] = (_, v, a) => NoArgs(a, "mapping") && v is IReadOnlyDictionary<string, object?>,
        ["ne"] = (r, v, a) => !Equal(r, v, a),
        ["!="] = (r, v, a) => !Equal(r, v, a),
        ["none"] = (_, v, a) => NoArgs(a, "none") && v is null,
        ["number"] = (_, v, a) => NoArgs(a, "number") && Py.IsNumber(v),
        ["odd"] = (_, v, a) => NoArgs(a, "odd") && Py.Equal(Py.Arithmetic("%", v, 2L), 1L),
        ["sameas"] = (_, v, a) => SameAs(v, a.Bind("sameas", 1, "other")[0]),
        ["sequence"] = (_, v, a) => NoArgs(a, "sequence") && v is string or List<object?> or PyTuple or PyRange or IReadOnlyDictionary<string, object?> or Undefined,
        ["string"] = (_, v, a) => NoArgs(a, "string") && v is string,
        ["test"] = (_, v, a) => NoArgs(a, "test") && v is string name && IsTest(name),
        ["true"] = (_, v, a) => NoArgs(a, "true") && v is true,
        ["undefined"] = (_, v, a) => NoArgs(a, "undefined") && v is Undefined,
        ["upper"] = (_, v, a) => NoArgs(a, "upper") && Py.Str(v) is var s && s.Any(char.IsUpper) && !s.Any(char.IsLower),
    };

    /// <summary>Adds the global functions: <c>range</c>, <c>dict</c>, <c>namespace</c>, and Hugging Face's
    /// <c>raise_exception</c> and <c>strftime_now</c>.</summary>
    public static void AddGlobals(Scope scope)
    {
        scope.Set("range", new BuiltinFunction("range", (_, a) => Range(a)));
        scope.Set("dict", new BuiltinFunction("dict", (_, a) => ToDictionary(a, "dict")));
        scope.Set("namespace", new BuiltinFunction("namespace", (_, a) =>
        {
            var ns = new Namespace();
            foreach (var (key, value) in ToDictionary(a, "namespace")) ns.Attributes[key] = value;
            return ns;
        }));
        scope.Set("raise_exception", new BuiltinFunction("raise_exception", (_, a) =>
            throw new JinjaRuntimeError(Py.Str(a.Bind("raise_exception", 1, "message")[0]))));
        scope.Set("strftime_now", new BuiltinFunction("strftime_now", (r, a) =>
            PyFormat.Strftime(Py.Str(a.Bind("strftime_now", 1, "format")[0]), r.Clock.GetLocalNow().DateTime)));
    }

    private static bool IsTest(string name) => Tests.ContainsKey(name);

    private static object? Arg(object?[] bound, int index, object? whenMissing) => bound[index] == CallArgs.Missing ? whenMissing : bound[index];

    private static bool NoArgs(CallArgs args, string test)
    {
        args.Bind(test, 0);
        return true;
    }

    private static object? CallMethod(Renderer renderer, string s, string name, List<object?> args) =>
        Members.TryAttribute(s, name, out var method) && method is Callable c ? c.Call(renderer, new CallArgs(args, [])) : null;

    private static object? Default(Renderer renderer, object? v, CallArgs a)
    {
        var p = a.Bind("default", 0, "default_value", "boolean");
        return v is Undefined || Py.Truthy(Arg(p, 1, false)) && !Py.Truthy(v) ? Arg(p, 0, "") : v;
    }

    private static object? Escape(Renderer renderer, object? v, CallArgs a)
    {
        a.Bind("escape", 0);
        return Py.Str(v).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal)
            .Replace(">", "&gt;", StringComparison.Ordinal).Replace("\"", "&#34;", StringComparison.Ordinal).Replace("'", "&#39;", StringComparison.Ordinal);
    }

    private static bool Equal(Renderer renderer, object? v, CallArgs a) => Py.Equal(v, a.Bind("eq", 1, "other")[0]);

    private static TestFunction Ordered(string op) => (_, v, a) => Py.Ordered(op, v, a.Bind(op, 1, "other")[0]);

    private static bool SameAs(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y && x is >= -5 and <= 256,
        _ => a is not null && ReferenceEquals(a, b),
    };

    private static object? Truncate(double d, object? fallback) =>
        double.IsNaN(d) ? fallback : double.IsInfinity(d) ? throw new JinjaRuntimeError("cannot convert float infinity to integer") : (long)Math.Truncate(d);

    private static object? IgnoreCase(object? v) => v is string s ? s.ToLowerInvariant() : v;

    /// <summary>jinja2's <c>title</c> filter: each run between <c>-</c>, whitespace, <c>(</c>, <c>{</c>, <c>[</c>
    /// or <c>&lt;</c> gets its first character upper-cased and the rest lower-cased.</summary>
    private static string JinjaTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        var atStart = true;
        foreach (var c in s)
        {
            var separator = c is '-' or '(' or '{' or '[' or '<' || Py.IsWhitespace(c);
            sb.Append(separator ? c : atStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            atStart = separator;
        }
        return sb.ToString();
    }

    /// <summary>The items of a value in reverse, as Python's <c>reversed()</c>; null when it is not reversible.</summary>
    private static IEnumerable<object?>? Reversed(object? v) => v switch
    {
        string s => Enumerable.Reverse(Py.CodePoints(s)).Cast<object?>(),
        IReadOnlyList<object?> list => Enumerable.Range(0, list.Count).Reverse().Select(i => list[i]),
        IReadOnlyDictionary<string, object?> d => d.Keys.Reverse(),
        DictView view => view.Reverse(),
        Undefined => [],
        _ => null,
    };

    /// <summary>jinja2's <c>make_attrgetter</c>: follows a dotted path (numeric parts index lists) with item
    /// access, substitutes <paramref name="fallback"/> for an undefined result, then applies
    /// <paramref name="postprocess"/>.</summary>
    private static Func<object?, object?> AttrGetter(object? attribute, object? fallback, Func<object?, object?>? postprocess)
    {
        var parts = AttributeParts(attribute);
        return item =>
        {
            foreach (var part in parts) item = Members.GetItem(item, part);
            if (fallback is not null && item is Undefined) item = fallback;
            return postprocess is null ? item : postprocess(item);
        };
    }

    /// <summary>jinja2's <c>make_multi_attrgetter</c>: a key made of one value per comma-separated attribute path.</summary>
    private static Func<object?, object?> MultiAttrGetter(object? attribute, bool caseSensitive)
    {
        var paths = attribute is string s ? s.Split(',').Select(p => (object?)p).ToList() : [attribute];
        var getters = paths.Select(p => AttrGetter(p, null, caseSensitive ? null : IgnoreCase)).ToList();
        return item => getters.Select(g => g(item)).ToList();
    }

    private static List<object?> AttributeParts(object? attribute) => attribute switch
    {
        null => [],
        string s => s.Split('.').Select(p => p.Length > 0 && p.All(char.IsAsciiDigit) ? (object?)long.Parse(p, CultureInfo.InvariantCulture) : p).ToList(),
        _ => [attribute],
    };

    /// <summary>A stable sort by key with Python's ordering; <paramref name="reverse"/> keeps equal items in order.</summary>
    private static List<object?> SortBy(List<object?> items, Func<object?, object?> key, bool reverse)
    {
        var keys = items.Select(key).ToList();
        var order = Enumerable.Range(0, items.Count);
        var comparer = Comparer<int>.Create((x, y) => Py.Compare(keys[x], keys[y]));
        return (reverse ? order.OrderByDescending(i => i, comparer) : order.OrderBy(i => i, comparer)).Select(i => items[i]).ToList();
    }

    private static IEnumerable<object?> Unique(IEnumerable<object?> items, Func<object?, object?> key)
    {
        var seen = new List<object?>();
        foreach (var item in items)
        {
            var k = key(item);
            if (seen.Any(s => Py.Equal(s, k))) continue;
            seen.Add(k);
            yield return item;
        }
    }

    private static object? MinOrMax(object? v, CallArgs a, string which)
    {
        var p = a.Bind(which, 0, "case_sensitive", "attribute");
        var key = AttrGetter(Arg(p, 1, null), null, Py.Truthy(Arg(p, 0, false)) ? null : IgnoreCase);
        var items = Py.ToList(v);
        if (items.Count == 0) return Undefined.WithHint("No aggregated item, sequence was empty.");
        var best = items[0];
        var bestKey = key(best);
        foreach (var item in items.Skip(1))
        {
            var k = key(item);
            if (which == "min" ? Py.Ordered("<", k, bestKey) : Py.Ordered(">", k, bestKey)) (best, bestKey) = (item, k);
        }
        return best;
    }

    private static object SelectOrReject(Renderer renderer, object? v, CallArgs a, bool lookupAttribute, bool keep)
    {
        if (!Py.Truthy(v)) return new PyIterator("generator", []);
        var args = a.Positional;
        var transform = (Func<object?, object?>)(x => x);
        var offset = 0;
        if (lookupAttribute)
        {
            if (args.Count == 0) throw new JinjaRuntimeError("Missing parameter for attribute name");
            transform = AttrGetter(args[0], null, null);
            offset = 1;
        }
        Func<object?, bool> test = Py.Truthy;
        if (args.Count > offset)
        {
            var name = Py.Str(args[offset]);
            var rest = new CallArgs(args.Skip(offset + 1).ToList(), a.Keyword);
            test = x => renderer.CallTest(name, x, rest);
        }
        return new PyIterator("generator", Py.Iterate(v).Where(x => test(transform(x)) == keep));
    }

    /// <summary>Python's <c>round(i, n)</c> of an integer: unchanged for <c>n &gt;= 0</c>, else to a multiple of
    /// <c>10^-n</c>, half to even; the result stays an integer.</summary>
    private static long RoundInteger(long value, long digits)
    {
        if (digits >= 0) return value;
        if (digits < -18) return 0;
        var unit = (long)Math.Pow(10, -digits);
        var quotient = Math.DivRem(value, unit, out var remainder);
        if (remainder < 0) { quotient--; remainder += unit; }
        if (2 * remainder > unit || 2 * remainder == unit && (quotient & 1) != 0) quotient++;
        return checked(quotient * unit);
    }

    /// <summary>Python's <c>round(x, n)</c>: rounds the exact binary value half to even.</summary>
    private static double RoundHalfEven(double x, long digits)
    {
        if (!double.IsFinite(x) || digits > 330) return x;
        if (digits < 0)
        {
            var scale = Math.Pow(10, -digits);
            return Math.Round(x / scale, MidpointRounding.ToEven) * scale;
        }
        var bits = BitConverter.DoubleToInt64Bits(x);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0) exponent = 1;
        else mantissa |= 1L << 52;
        exponent -= 1075;
        if (exponent >= 0) return x;
        var numerator = mantissa * BigInteger.Pow(10, (int)digits);
        var denominator = BigInteger.One << -exponent;
        var quotient = BigInteger.DivRem(numerator, denominator, out var remainder);
        var twice = remainder * 2;
        if (twice > denominator || twice == denominator && !quotient.IsEven) quotient += 1;
        var result = double.Parse($"{quotient}E-{digits}", NumberStyles.Float, CultureInfo.InvariantCulture);
        return bits < 0 ? -result : result;
    }

    private static PyRange Range(CallArgs a)
    {
        if (a.Keyword.Count > 0) throw new JinjaRuntimeError("range() takes no keyword arguments");
        var n = a.Positional.Select(x => Py.IsIntegral(x) ? Py.ToLong(x)
            : throw new JinjaRuntimeError($"'{Py.TypeName(x)}' object cannot be interpreted as an integer")).ToList();
        var (start, stop, step) = n.Count switch
        {
            1 => (0L, n[0], 1L),
            2 => (n[0], n[1], 1L),
            3 => (n[0], n[1], n[2]),
            _ => throw new JinjaRuntimeError($"range expected 1 to 3 arguments, got {n.Count}"),
        };
        if (step == 0) throw new JinjaRuntimeError("range() arg 3 must not be zero");
        var span = step > 0 ? stop - start : start - stop;
        if (span > 0 && (span - 1) / Math.Abs(step) + 1 > 100_000)
            throw new JinjaRuntimeError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        return new PyRange(start, stop, step);
    }

    /// <summary>The arguments of <c>dict(...)</c> or <c>namespace(...)</c>: an optional mapping or sequence of
    /// pairs, then keyword arguments.</summary>
    private static Dictionary<string, object?> ToDictionary(CallArgs a, string function)
    {
        if (a.Positional.Count > 1) throw new JinjaRuntimeError($"{function} expected at most 1 argument, got {a.Positional.Count}");
        var result = new Dictionary<string, object?>();
        if (a.Positional.Count == 1)
        {
            if (a.Positional[0] is IReadOnlyDictionary<string, object?> d)
                foreach (var (key, value) in d) result[key] = value;
            else
                foreach (var pair in Py.Iterate(a.Positional[0]))
                {
                    var items = Py.ToList(pair);
                    if (items.Count != 2) throw new JinjaRuntimeError($"dictionary update sequence element has length {items.Count}; 2 is required");
                    result[items[0] as string ?? throw new JinjaRuntimeError("only string keys are supported")] = items[1];
                }
        }
        foreach (var (key, value) in a.Keyword) result[key] = value;
        return result;
    }

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordRegex();
}
