using System.Buffers;
using System.Globalization;
using System.Text;

namespace Unlearn.Text.Jinja;

/// <summary>Python's semantics for the values a template handles: truthiness, <c>str()</c> and <c>repr()</c>,
/// equality and ordering, iteration, length, membership and arithmetic. Type errors are raised as
/// <see cref="JinjaRuntimeError"/> with Python's wording.</summary>
internal static class Py
{
    /// <summary>The characters for which Python's <c>str.isspace()</c> (and regex <c>\s</c>) holds.</summary>
    public static readonly SearchValues<char> WhitespaceChars = SearchValues.Create(
        "\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000");

    public static bool IsWhitespace(char c) => WhitespaceChars.Contains(c);

    public static string RStripWhitespace(string s) => s[..(s.AsSpan().LastIndexOfAnyExcept(WhitespaceChars) + 1)];

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static bool IsIntegral(object? v) => v is long or bool;

    /// <summary>Python's type name, used in error messages.</summary>
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        PyTuple => "tuple",
        PyRange => "range",
        List<object?> => "list",
        IReadOnlyDictionary<string, object?> => "dict",
        DictView view => view.Kind,
        PyIterator iterator => iterator.TypeName,
        Undefined => "Undefined",
        Namespace => "Namespace",
        LoopContext => "LoopContext",
        Macro => "Macro",
        Callable => "builtin_function_or_method",
        _ => v.GetType().Name,
    };

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        Undefined => false,
        IReadOnlyCollection<object?> c => c.Count > 0,
        IReadOnlyDictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    /// <summary>Python's <c>str()</c>; an undefined value gives an empty string.</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        string s => s,
        Undefined => "",
        PyTuple t => t.Count == 1 ? $"({Repr(t[0])},)" : $"({string.Join(", ", t.Select(Repr))})",
        PyRange r => r.Step == 1 ? $"range({r.Start}, {r.Stop})" : $"range({r.Start}, {r.Stop}, {r.Step})",
        List<object?> list => $"[{string.Join(", ", list.Select(Repr))}]",
        IReadOnlyDictionary<string, object?> d => DictRepr(d),
        DictView view => $"{view.Kind}([{string.Join(", ", view.Select(Repr))}])",
        PyIterator iterator => $"<{iterator.TypeName} object>",
        Namespace ns => $"<Namespace {DictRepr(ns.Attributes)}>",
        LoopContext loop => $"<LoopContext {loop.Index0 + 1}/{loop.Length}>",
        Macro macro => $"<Macro '{macro.Name}'>",
        Callable function => $"<built-in method {function.Name}>",
        _ => v.ToString() ?? "",
    };

    /// <summary>Python's <c>repr()</c>.</summary>
    public static string Repr(object? v) => v switch
    {
        string s => ReprString(s),
        Undefined => "Undefined",
        _ => Str(v),
    };

    private static string DictRepr(IEnumerable<KeyValuePair<string, object?>> d) =>
        "{" + string.Join(", ", d.Select(kv => $"{ReprString(kv.Key)}: {Repr(kv.Value)}")) + "}";

    /// <summary>Python's <c>repr()</c> of a string: single quotes unless only double quotes avoid escaping,
    /// non-printable characters as <c>\xNN</c>, <c>\uNNNN</c> or <c>\UNNNNNNNN</c>.</summary>
    public static string ReprString(string s)
    {
        var quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        var sb = new StringBuilder(s.Length + 2).Append(quote);
        for (var i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) cp = char.ConvertToUtf32(s[i], s[++i]);
            if (cp == quote || cp == '\\') sb.Append('\\').Append((char)cp);
            else if (cp == '\n') sb.Append("\\n");
            else if (cp == '\r') sb.Append("\\r");
            else if (cp == '\t') sb.Append("\\t");
            else if (cp < 0x20 || cp == 0x7f || !IsPrintable(cp))
                sb.Append(cp < 0x100 ? $"\\x{cp:x2}" : cp < 0x10000 ? $"\\u{cp:x4}" : $"\\U{cp:x8}");
            else if (cp >= 0x10000) sb.Append(char.ConvertFromUtf32(cp));
            else sb.Append((char)cp);
        }
        return sb.Append(quote).ToString();
    }

    /// <summary>Python's <c>str.isprintable()</c> for one code point: not in categories Other (Cc, Cf, Cs, Co, Cn)
    /// or Separator (Zl, Zp, Zs), the ASCII space excepted.</summary>
    private static bool IsPrintable(int cp) => cp == ' ' || CharUnicodeInfo.GetUnicodeCategory(cp) is not (
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
        or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.SpaceSeparator);

    /// <summary>Python's <c>repr()</c> of a float: the shortest digits that round-trip, positional notation for
    /// decimal exponents from -4 to 15 (<c>1.0</c>, <c>0.0001</c>), scientific otherwise (<c>1e-05</c>, <c>1e+16</c>).</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        var r = d.ToString("R", CultureInfo.InvariantCulture);
        var sign = r[0] == '-' ? "-" : "";
        if (sign.Length > 0) r = r[1..];
        var exponent = 0;
        var e = r.IndexOf('E');
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        var dot = r.IndexOf('.');
        var intPart = dot < 0 ? r : r[..dot];
        var digits = intPart + (dot < 0 ? "" : r[(dot + 1)..]);
        // value = 0.<digits> * 10^point
        var point = intPart.Length + exponent;
        var leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        point -= leading;
        string body;
        if (point > -4 && point <= 16)
        {
            if (point <= 0) body = "0." + new string('0', -point) + digits;
            else if (point >= digits.Length) body = digits + new string('0', point - digits.Length) + ".0";
            else body = digits[..point] + "." + digits[point..];
        }
        else
        {
            var exp = point - 1;
            body = digits[..1] + (digits.Length > 1 ? "." + digits[1..] : "") + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        return sign + body;
    }

    /// <summary>The code points of a string, each as a string (Python indexes, slices and measures strings in
    /// code points, not UTF-16 units).</summary>
    public static List<string> CodePoints(string s)
    {
        var result = new List<string>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { result.Add(s.Substring(i, 2)); i++; }
            else result.Add(s[i].ToString());
        }
        return result;
    }

    public static int StrLength(string s)
    {
        var n = s.Length;
        for (var i = 0; i + 1 < s.Length; i++)
            if (char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1])) { n--; i++; }
        return n;
    }

    public static bool Equal(object? a, object? b)
    {
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (IsNumber(a) && IsNumber(b))
            return IsIntegral(a) && IsIntegral(b) ? ToLong(a) == ToLong(b) : ToDouble(a) == ToDouble(b);
        switch (a, b)
        {
            case (null, _) or (_, null): return a is null && b is null;
            case (string x, string y): return x == y;
            case (List<object?> x, List<object?> y): return SequenceEqual(x, y);
            case (PyTuple x, PyTuple y): return SequenceEqual(x, y);
            case (PyRange x, PyRange y): return SequenceEqual(x, y);
            case (IReadOnlyDictionary<string, object?> x, IReadOnlyDictionary<string, object?> y):
                return x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var other) && Equal(kv.Value, other));
            default: return ReferenceEquals(a, b);
        }
    }

    private static bool SequenceEqual(IReadOnlyList<object?> x, IReadOnlyList<object?> y)
    {
        if (x.Count != y.Count) return false;
        for (var i = 0; i < x.Count; i++)
            if (!Equal(x[i], y[i])) return false;
        return true;
    }

    /// <summary>Python's <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>: numbers, strings (by code point) and
    /// lists or tuples (lexicographically); anything else is a type error.</summary>
    public static bool Ordered(string op, object? a, object? b)
    {
        if (a is Undefined ua) throw ua.Error();
        if (b is Undefined ub) throw ub.Error();
        int c;
        if (IsNumber(a) && IsNumber(b))
        {
            if (IsIntegral(a) && IsIntegral(b)) c = ToLong(a).CompareTo(ToLong(b));
            else
            {
                double x = ToDouble(a), y = ToDouble(b);
                if (double.IsNaN(x) || double.IsNaN(y)) return false;
                c = x.CompareTo(y);
            }
        }
        else if (a is string sa && b is string sb) c = CompareStrings(sa, sb);
        else if ((a, b) is (List<object?>, List<object?>) or (PyTuple, PyTuple))
        {
            var (x, y) = ((IReadOnlyList<object?>)a!, (IReadOnlyList<object?>)b!);
            for (var i = 0; i < Math.Min(x.Count, y.Count); i++)
                if (!Equal(x[i], y[i])) return Ordered(op, x[i], y[i]);
            c = x.Count.CompareTo(y.Count);
        }
        else throw new JinjaRuntimeError($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
        return op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
    }

    /// <summary>Compares strings by code point (UTF-16 order differs for surrogates against U+E000..U+FFFF).</summary>
    public static int CompareStrings(string a, string b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            int x = a[i], y = b[i];
            if (x == y) continue;
            if (x >= 0xD800 && y >= 0xD800)
            {
                x = x >= 0xE000 ? x - 0x800 : x + 0x2000;
                y = y >= 0xE000 ? y - 0x800 : y + 0x2000;
            }
            return x.CompareTo(y);
        }
        return a.Length.CompareTo(b.Length);
    }

    /// <summary>A key comparison for sorting, like Python's <c>sorted</c> (which only uses <c>&lt;</c>).</summary>
    public static int Compare(object? a, object? b) => Ordered("<", a, b) ? -1 : Ordered("<", b, a) ? 1 : 0;

    /// <summary>Python's iteration: a string gives its characters, a dict its keys, an undefined value nothing.</summary>
    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        string s => CodePoints(s),
        IReadOnlyCollection<object?> c => c,
        IReadOnlyDictionary<string, object?> d => d.Keys,
        PyIterator iterator => iterator.Consume(),
        Undefined => [],
        _ => throw new JinjaRuntimeError($"'{TypeName(v)}' object is not iterable"),
    };

    /// <summary>Iterates a value into a new list.</summary>
    public static List<object?> ToList(object? v) => [.. Iterate(v)];

    /// <summary>Python's <c>len()</c>; an undefined value has length 0.</summary>
    public static long Len(object? v) => v switch
    {
        string s => StrLength(s),
        IReadOnlyCollection<object?> c => c.Count,
        IReadOnlyDictionary<string, object?> d => d.Count,
        Undefined => 0,
        _ => throw new JinjaRuntimeError($"object of type '{TypeName(v)}' has no len()"),
    };

    /// <summary>Python's <c>item in container</c>.</summary>
    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is not string sub) throw new JinjaRuntimeError($"'in <string>' requires string as left operand, not {TypeName(item)}");
                return s.Contains(sub, StringComparison.Ordinal);
            case IReadOnlyDictionary<string, object?> d:
                return item is string key && d.ContainsKey(key);
            case IReadOnlyCollection<object?> or PyIterator or Undefined:
                return Iterate(container).Any(x => Equal(x, item));
            default:
                throw new JinjaRuntimeError($"argument of type '{TypeName(container)}' is not iterable");
        }
    }

    public static long ToLong(object? v) => v switch { bool b => b ? 1 : 0, long l => l, _ => throw new InvalidOperationException() };

    public static double ToDouble(object? v) => v switch { bool b => b ? 1 : 0, long l => l, double d => d, _ => throw new InvalidOperationException() };

    /// <summary>Python's binary arithmetic operators (<c>+ - * / // % **</c>).</summary>
    public static object? Arithmetic(string op, object? a, object? b)
    {
        if (a is Undefined ua) throw ua.Error();
        if (b is Undefined ub) throw ub.Error();
        if (IsNumber(a) && IsNumber(b))
        {
            if (IsIntegral(a) && IsIntegral(b) && op != "/")
            {
                long x = ToLong(a), y = ToLong(b);
                try
                {
                    switch (op)
                    {
                        case "+": return checked(x + y);
                        case "-": return checked(x - y);
                        case "*": return checked(x * y);
                        case "//": return y == 0 ? throw ZeroDivision("integer division or modulo by zero") : FloorDiv(x, y);
                        case "%": return y == 0 ? throw ZeroDivision("integer division or modulo by zero") : FloorMod(x, y);
                        default:
                            if (y >= 0) return IntPow(x, y);
                            if (x == 0) throw ZeroDivision("0.0 cannot be raised to a negative power");
                            return Math.Pow(x, y);
                    }
                }
                catch (OverflowException)
                {
                    throw new JinjaRuntimeError($"integer overflow in '{op}' (integers beyond 64 bits are not supported)");
                }
            }
            double u = ToDouble(a), v = ToDouble(b);
            switch (op)
            {
                case "+": return u + v;
                case "-": return u - v;
                case "*": return u * v;
                case "/": return v == 0 ? throw ZeroDivision("division by zero") : u / v;
                case "//": return v == 0 ? throw ZeroDivision("float floor division by zero") : Math.Floor(u / v);
                case "%":
                    if (v == 0) throw ZeroDivision("float modulo");
                    var r = u % v;
                    return r != 0 && (r < 0) != (v < 0) ? r + v : r == 0 ? Math.CopySign(0, v) : r;
                default:
                    if (u == 0 && v < 0) throw ZeroDivision("0.0 cannot be raised to a negative power");
                    var power = Math.Pow(u, v);
                    return double.IsNaN(power) && !double.IsNaN(u) && !double.IsNaN(v)
                        ? throw new JinjaRuntimeError("a negative number raised to a fractional power is complex (not supported)")
                        : power;
            }
        }
        switch (op, a, b)
        {
            case ("+", string x, string y): return x + y;
            case ("+", List<object?> x, List<object?> y): return new List<object?>([.. x, .. y]);
            case ("+", PyTuple x, PyTuple y): return new PyTuple([.. x, .. y]);
            case ("*", _, _) when Repeatable(a) && IsIntegral(b): return Repeat(a!, ToLong(b));
            case ("*", _, _) when Repeatable(b) && IsIntegral(a): return Repeat(b!, ToLong(a));
            case ("%", string format, _): return PyFormat.Percent(format, b);
        }
        throw new JinjaRuntimeError($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");
    }

    private static bool Repeatable(object? v) => v is string or List<object?> or PyTuple;

    private static object Repeat(object v, long times)
    {
        var n = (int)Math.Max(0, Math.Min(times, int.MaxValue));
        return v switch
        {
            string s => new StringBuilder().Insert(0, s, n).ToString(),
            PyTuple t => new PyTuple(Enumerable.Repeat(t, n).SelectMany(x => x).ToList()),
            _ => Enumerable.Repeat((List<object?>)v, n).SelectMany(x => x).ToList(),
        };
    }

    private static JinjaRuntimeError ZeroDivision(string message) => new($"ZeroDivisionError: {message}");

    private static long FloorDiv(long x, long y)
    {
        var q = x / y;
        return (x % y != 0) && ((x < 0) != (y < 0)) ? q - 1 : q;
    }

    private static long FloorMod(long x, long y)
    {
        var r = x % y;
        return r != 0 && (r < 0) != (y < 0) ? r + y : r;
    }

    private static long IntPow(long x, long y)
    {
        long result = 1;
        for (; y > 0; y >>= 1)
        {
            if ((y & 1) != 0) result = checked(result * x);
            if (y > 1) x = checked(x * x);
        }
        return result;
    }

    /// <summary>Python's unary <c>-</c> and <c>+</c>.</summary>
    public static object? Unary(string op, object? v)
    {
        if (v is Undefined u) throw u.Error();
        if (v is double d) return op == "-" ? -d : d;
        if (!IsIntegral(v)) throw new JinjaRuntimeError($"bad operand type for unary {op}: '{TypeName(v)}'");
        var l = ToLong(v);
        if (op == "+") return l;
        return l == long.MinValue ? throw new JinjaRuntimeError("integer overflow") : -l;
    }

    /// <summary>Python's <c>int(value)</c> of a string: optional sign and surrounding whitespace, underscores
    /// between digits.</summary>
    public static bool TryParseInt(string s, int radix, out long value)
    {
        value = 0;
        var t = s.Trim().AsSpan();
        if (t.IsEmpty || t.StartsWith("_") || t.EndsWith("_") || t.Contains("__", StringComparison.Ordinal)) return false;
        var negative = t[0] == '-';
        if (t[0] is '-' or '+') t = t[1..];
        var digits = t.ToString().Replace("_", "");
        var prefix = digits.Length > 1 && digits[0] == '0' ? char.ToLowerInvariant(digits[1]) : ' ';
        var prefixRadix = prefix switch { 'x' => 16, 'o' => 8, 'b' => 2, _ => 0 };
        if (prefixRadix != 0 && (radix == prefixRadix || radix == 0))
        {
            radix = prefixRadix;
            digits = digits[2..];
        }
        else if (radix == 0) radix = 10;
        if (digits.Length == 0) return false;
        foreach (var c in digits)
        {
            var d = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (d >= radix) return false;
            try { value = checked(value * radix + d); }
            catch (OverflowException) { return false; }
        }
        if (negative) value = -value;
        return true;
    }

    /// <summary>Python's <c>float(value)</c> of a string.</summary>
    public static bool TryParseFloat(string s, out double value)
    {
        var t = s.Trim().Replace("_", "");
        var body = t.TrimStart('+', '-').ToLowerInvariant();
        var negative = t.StartsWith('-');
        if (body is "inf" or "infinity" or "nan")
        {
            value = body == "nan" ? double.NaN : negative ? double.NegativeInfinity : double.PositiveInfinity;
            return t.Length - body.Length <= 1;
        }
        return double.TryParse(t, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out value);
    }
}
