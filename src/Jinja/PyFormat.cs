using System.Globalization;
using System.Text;

namespace Unlearn.Text.Jinja;

/// <summary>Python's text formatting as templates use it: <c>%</c>-formatting, <c>str.format</c>,
/// <c>json.dumps</c> (behind <c>|tojson</c>) and <c>strftime</c> (behind <c>strftime_now</c>).</summary>
internal static class PyFormat
{
    /// <summary><c>format % args</c> for the conversions <c>s r a d i u f F e E g G x X o c %</c> with flags
    /// <c>-+ 0#</c>, width and precision (no <c>*</c>). A tuple supplies several arguments, a dict named ones.</summary>
    public static string Percent(string format, object? args)
    {
        var positional = args is PyTuple t ? t.ToList() : [args];
        var mapping = args as IReadOnlyDictionary<string, object?>;
        var next = 0;
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%') { sb.Append(format[i]); continue; }
            if (++i >= format.Length) throw new JinjaRuntimeError("incomplete format");
            object? value;
            if (format[i] == '(')
            {
                var close = format.IndexOf(')', i);
                if (close < 0) throw new JinjaRuntimeError("incomplete format key");
                if (mapping is null) throw new JinjaRuntimeError("format requires a mapping");
                var key = format[(i + 1)..close];
                value = mapping.TryGetValue(key, out var v) ? v : throw new JinjaRuntimeError($"KeyError: {Py.ReprString(key)}");
                i = close + 1;
            }
            else value = CallArgs.Missing;
            var flags = "";
            while (i < format.Length && "-+ 0#".Contains(format[i])) flags += format[i++];
            var width = ReadNumber(format, ref i);
            int? precision = null;
            if (i < format.Length && format[i] == '.') { i++; precision = ReadNumber(format, ref i) ?? 0; }
            if (i >= format.Length) throw new JinjaRuntimeError("incomplete format");
            var conversion = format[i];
            if (conversion == '%') { sb.Append('%'); continue; }
            if (value == CallArgs.Missing)
            {
                if (next >= positional.Count) throw new JinjaRuntimeError("not enough arguments for format string");
                value = positional[next++];
            }
            sb.Append(Pad(Convert(conversion, value, flags, precision), flags, width, numeric: conversion is not ('s' or 'r' or 'a' or 'c')));
        }
        if (mapping is null && next < positional.Count)
            throw new JinjaRuntimeError("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static int? ReadNumber(string s, ref int i)
    {
        var start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        return i > start ? int.Parse(s.AsSpan(start, i - start), CultureInfo.InvariantCulture) : null;
    }

    private static string Convert(char conversion, object? value, string flags, int? precision)
    {
        if (value is Undefined u && conversion is not ('s' or 'r' or 'a')) throw u.Error();
        string text;
        switch (conversion)
        {
            case 's': text = Py.Str(value); return precision is { } p ? string.Concat(Py.CodePoints(text).Take(p)) : text;
            case 'r' or 'a': text = Py.Repr(value); return precision is { } q ? string.Concat(Py.CodePoints(text).Take(q)) : text;
            case 'c': return value is string c && Py.StrLength(c) == 1 ? c : value is long l ? char.ConvertFromUtf32((int)l) : throw new JinjaRuntimeError("%c requires int or char");
        }
        if (!Py.IsNumber(value)) throw new JinjaRuntimeError($"%{conversion} format: a real number is required, not {Py.TypeName(value)}");
        var sign = flags.Contains('+') ? "+" : flags.Contains(' ') ? " " : "";
        switch (conversion)
        {
            case 'd' or 'i' or 'u':
                var n = value is double d ? (double.IsFinite(d) ? (long)Math.Truncate(d) : throw new JinjaRuntimeError("cannot convert float infinity or NaN to integer")) : Py.ToLong(value);
                return (n < 0 ? "-" : sign) + Math.Abs((decimal)n).ToString(CultureInfo.InvariantCulture);
            case 'x' or 'X' or 'o':
                if (value is double) throw new JinjaRuntimeError($"%{conversion} format: an integer is required, not float");
                var m = Py.ToLong(value);
                var digits = conversion == 'o' ? System.Convert.ToString(Math.Abs(m), 8) : Math.Abs(m).ToString(conversion == 'x' ? "x" : "X", CultureInfo.InvariantCulture);
                var prefix = flags.Contains('#') ? (conversion == 'o' ? "0o" : conversion == 'x' ? "0x" : "0X") : "";
                return (m < 0 ? "-" : sign) + prefix + digits;
            default:
                var x = Py.ToDouble(value);
                if (!double.IsFinite(x)) text = double.IsNaN(x) ? "nan" : "inf";
                else text = conversion switch
                {
                    'f' or 'F' => Math.Abs(x).ToString("F" + (precision ?? 6), CultureInfo.InvariantCulture),
                    'e' or 'E' => ScientificText(Math.Abs(x), precision ?? 6),
                    'g' or 'G' => GeneralText(Math.Abs(x), precision ?? 6, flags.Contains('#')),
                    _ => throw new JinjaRuntimeError($"unsupported format character '{conversion}'"),
                };
                if (conversion is 'E' or 'G' or 'F') text = text.ToUpperInvariant();
                return (x < 0 || double.IsNegative(x) && x == 0 ? "-" : sign) + text;
        }
    }

    private static string ScientificText(double x, int precision)
    {
        var s = x.ToString((precision == 0 ? "0" : "0." + new string('0', precision)) + "e+00", CultureInfo.InvariantCulture);
        return s;
    }

    private static string GeneralText(double x, int precision, bool alternate)
    {
        var p = precision == 0 ? 1 : precision;
        if (x == 0) return alternate ? "0." + new string('0', p - 1) : "0";
        var exponent = (int)Math.Floor(Math.Log10(double.Parse(x.ToString("E" + (p - 1), CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)));
        string s;
        if (exponent >= -4 && exponent < p) s = x.ToString("F" + Math.Max(0, p - 1 - exponent), CultureInfo.InvariantCulture);
        else s = ScientificText(x, p - 1);
        if (alternate) return s;
        var e = s.IndexOf('e');
        var mantissa = e < 0 ? s : s[..e];
        if (mantissa.Contains('.')) mantissa = mantissa.TrimEnd('0').TrimEnd('.');
        return mantissa + (e < 0 ? "" : s[e..]);
    }

    private static string Pad(string text, string flags, int? width, bool numeric)
    {
        var length = Py.StrLength(text);
        if (width is not { } w || length >= w) return text;
        if (flags.Contains('-')) return text + new string(' ', w - length);
        if (flags.Contains('0') && numeric)
        {
            var signLength = text.Length > 0 && text[0] is '-' or '+' or ' ' ? 1 : 0;
            return text[..signLength] + new string('0', w - length) + text[signLength..];
        }
        return new string(' ', w - length) + text;
    }

    /// <summary><c>str.format</c> with automatic (<c>{}</c>), numbered (<c>{0}</c>) and named (<c>{name}</c>) fields,
    /// the conversions <c>!s</c>/<c>!r</c>, and no format specifications.</summary>
    public static string Format(string format, CallArgs args)
    {
        var sb = new StringBuilder();
        var auto = 0;
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}') { sb.Append('}'); i++; continue; }
                throw new JinjaRuntimeError("Single '}' encountered in format string");
            }
            if (c != '{') { sb.Append(c); continue; }
            if (i + 1 < format.Length && format[i + 1] == '{') { sb.Append('{'); i++; continue; }
            var close = format.IndexOf('}', i);
            if (close < 0) throw new JinjaRuntimeError("Single '{' encountered in format string");
            var field = format[(i + 1)..close];
            i = close;
            var conversion = ' ';
            var bang = field.IndexOf('!');
            if (field.Contains(':')) throw new JinjaRuntimeError("format specifications in str.format are not supported");
            if (bang >= 0) { conversion = field.Length > bang + 1 ? field[bang + 1] : ' '; field = field[..bang]; }
            object? value;
            if (field.Length == 0) value = auto < args.Positional.Count ? args.Positional[auto++] : throw new JinjaRuntimeError($"Replacement index {auto} out of range for positional args tuple");
            else if (int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                value = index < args.Positional.Count ? args.Positional[index] : throw new JinjaRuntimeError($"Replacement index {index} out of range for positional args tuple");
            else
            {
                var found = args.Keyword.FindIndex(kv => kv.Key == field);
                value = found >= 0 ? args.Keyword[found].Value : throw new JinjaRuntimeError($"KeyError: {Py.ReprString(field)}");
            }
            sb.Append(conversion is 'r' or 'a' ? Py.Repr(value) : Py.Str(value));
        }
        return sb.ToString();
    }

    /// <summary>Python's <c>json.dumps</c>: <paramref name="indent"/> null writes one line with
    /// <paramref name="itemSeparator"/> and <paramref name="keySeparator"/>; otherwise each item goes on its own
    /// line, indented by <paramref name="indent"/> per level.</summary>
    public static string Json(object? value, bool ensureAscii, string? indent, string itemSeparator, string keySeparator, bool sortKeys)
    {
        var sb = new StringBuilder();
        WriteJson(sb, value, 0);
        return sb.ToString();

        void WriteJson(StringBuilder sb, object? v, int level)
        {
            switch (v)
            {
                case null: sb.Append("null"); return;
                case bool b: sb.Append(b ? "true" : "false"); return;
                case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
                case double d:
                    sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : Py.FloatRepr(d));
                    return;
                case string s: JsonString(sb, s, ensureAscii); return;
                case List<object?> or PyTuple:
                    var items = (IReadOnlyList<object?>)v;
                    if (items.Count == 0) { sb.Append("[]"); return; }
                    sb.Append('[');
                    for (var i = 0; i < items.Count; i++)
                    {
                        Separate(sb, i, level + 1);
                        WriteJson(sb, items[i], level + 1);
                    }
                    Close(sb, level);
                    sb.Append(']');
                    return;
                case IReadOnlyDictionary<string, object?> dict:
                    if (dict.Count == 0) { sb.Append("{}"); return; }
                    IEnumerable<KeyValuePair<string, object?>> pairs = dict;
                    if (sortKeys) pairs = pairs.OrderBy(kv => kv.Key, Comparer<string>.Create(Py.CompareStrings));
                    sb.Append('{');
                    var n = 0;
                    foreach (var (key, item) in pairs)
                    {
                        Separate(sb, n++, level + 1);
                        JsonString(sb, key, ensureAscii);
                        sb.Append(keySeparator);
                        WriteJson(sb, item, level + 1);
                    }
                    Close(sb, level);
                    sb.Append('}');
                    return;
                default:
                    throw new JinjaRuntimeError($"Object of type {Py.TypeName(v)} is not JSON serializable");
            }
        }

        void Separate(StringBuilder sb, int index, int level)
        {
            if (index > 0) sb.Append(itemSeparator);
            if (indent is not null) sb.Append('\n').Insert(sb.Length, indent, level);
        }

        void Close(StringBuilder sb, int level)
        {
            if (indent is not null) sb.Append('\n').Insert(sb.Length, indent, level);
        }
    }

    private static void JsonString(StringBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || ensureAscii && c > 0x7e) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    private static readonly string[] Days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

    private static readonly string[] Months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    /// <summary>C-locale <c>strftime</c> of a naive local time, with glibc's <c>%-d</c> (no padding) and
    /// <c>%e</c> (space padding); <c>%z</c> and <c>%Z</c> are empty as for Python's naive <c>datetime.now()</c>.
    /// Unknown directives are copied unchanged.</summary>
    public static string Strftime(string format, DateTime t)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            var noPad = format[i + 1] == '-' && i + 2 < format.Length;
            var code = format[noPad ? i + 2 : i + 1];
            var monday0 = ((int)t.DayOfWeek + 6) % 7;
            string? text = code switch
            {
                'a' => Days[monday0][..3],
                'A' => Days[monday0],
                'b' or 'h' => Months[t.Month - 1][..3],
                'B' => Months[t.Month - 1],
                'c' => Strftime("%a %b %e %H:%M:%S %Y", t),
                'd' => Num(t.Day, 2),
                'e' => noPad ? Num(t.Day, 1) : t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", CultureInfo.InvariantCulture),
                'H' => Num(t.Hour, 2),
                'I' => Num((t.Hour + 11) % 12 + 1, 2),
                'j' => Num(t.DayOfYear, 3),
                'm' => Num(t.Month, 2),
                'M' => Num(t.Minute, 2),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'S' => Num(t.Second, 2),
                'u' => Num(monday0 + 1, 1),
                'w' => Num((int)t.DayOfWeek, 1),
                'U' => Num((t.DayOfYear + 6 - (int)t.DayOfWeek) / 7, 2),
                'W' => Num((t.DayOfYear + 6 - monday0) / 7, 2),
                'x' => Strftime("%m/%d/%y", t),
                'X' => Strftime("%H:%M:%S", t),
                'y' => Num(t.Year % 100, 2),
                'Y' => t.Year.ToString(CultureInfo.InvariantCulture),
                'z' or 'Z' => "",
                'D' => Strftime("%m/%d/%y", t),
                'F' => Strftime("%Y-%m-%d", t),
                'T' => Strftime("%H:%M:%S", t),
                'R' => Strftime("%H:%M", t),
                '%' => "%",
                _ => null,
            };
            if (text is null) { sb.Append(format[i]); continue; }
            sb.Append(text);
            i += noPad ? 2 : 1;

            string Num(int value, int digits) => value.ToString(noPad ? "0" : new string('0', digits), CultureInfo.InvariantCulture);
        }
        return sb.ToString();
    }
}
