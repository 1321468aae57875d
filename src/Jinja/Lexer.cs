using System.Globalization;
using System.Text;

namespace Unlearn.Text.Jinja;

/// <summary>The kinds of token the lexer produces.</summary>
internal enum TokenKind
{
    /// <summary>Template text outside tags (raw blocks included).</summary>
    Data,
    /// <summary><c>{{</c></summary>
    VariableBegin,
    /// <summary><c>}}</c></summary>
    VariableEnd,
    /// <summary><c>{%</c></summary>
    BlockBegin,
    /// <summary><c>%}</c></summary>
    BlockEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    End,
}

/// <summary>One token: its kind, its text (the operator, name or data; the decoded value of a string literal),
/// its numeric value for numbers, and its offset in the normalised source.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Offset, object? Value = null)
{
    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;

    public bool IsOperator(string op) => Kind == TokenKind.Operator && Text == op;

    /// <summary>How error messages name the token, in jinja2's words.</summary>
    public string Describe() => Kind switch
    {
        TokenKind.VariableEnd => "end of print statement",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.End => "end of template",
        TokenKind.String => "string",
        TokenKind.Integer => "integer",
        TokenKind.Float => "float",
        TokenKind.Data => "template data",
        _ => $"'{Text}'",
    };
}

/// <summary>Splits a template into tokens the way jinja2's lexer does with <c>trim_blocks</c> and
/// <c>lstrip_blocks</c>: <c>{%-</c>/<c>{{-</c>/<c>{#-</c> strip all whitespace before the tag, <c>-%}</c>/<c>-}}</c>/<c>-#}</c>
/// all whitespace after it; without <c>-</c>, a block or comment tag removes one newline right after it
/// (unless closed with <c>+%}</c>), and the spaces and tabs between the start of its line and a block or comment
/// tag (unless opened with <c>{%+</c>); comments vanish and <c>{% raw %}</c> bodies become text.</summary>
internal sealed class Lexer
{
    private static readonly string[] Operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    private readonly SourceText _source;
    private readonly string _s;
    private readonly List<Token> _tokens = [];
    private int _pos;

    /// <summary>Whether the last match ended with a newline, which lets <c>lstrip_blocks</c> strip the
    /// indentation of a tag whose preceding text holds no newline.</summary>
    private bool _lineStarting = true;

    private Lexer(SourceText source)
    {
        _source = source;
        _s = source.Text;
    }

    public static List<Token> Tokenize(SourceText source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    private void Run()
    {
        while (_pos < _s.Length)
        {
            var tag = FindTagStart(_pos);
            if (tag < 0)
            {
                AddData(_s[_pos..], _pos);
                break;
            }
            var kind = _s[tag + 1];
            var afterStart = tag + 2;
            var sign = afterStart < _s.Length && _s[afterStart] is '-' or '+' ? _s[afterStart] : '\0';
            var rawEnd = kind == '%' ? MatchRawBegin(tag) : -1;
            AddData(StripBeforeTag(_s[_pos..tag], sign, isVariable: kind == '{'), _pos);
            var contentStart = afterStart + (sign == '\0' ? 0 : 1);
            if (rawEnd >= 0) LexRaw(tag, rawEnd);
            else if (kind == '#') LexComment(tag, contentStart);
            else LexTag(kind == '{', tag, contentStart);
        }
        _tokens.Add(new Token(TokenKind.End, "", _s.Length));
    }

    private int FindTagStart(int from)
    {
        for (var i = _s.IndexOf('{', from); i >= 0 && i + 1 < _s.Length; i = _s.IndexOf('{', i + 1))
            if (_s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    private void AddData(string text, int offset)
    {
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Data, text, offset));
    }

    /// <summary>Whitespace control on the text before a tag: <c>-</c> strips all trailing whitespace;
    /// otherwise, for block and comment tags, <c>lstrip_blocks</c> removes the tag's indentation when only
    /// whitespace lies between the start of its line and the tag.</summary>
    private string StripBeforeTag(string text, char sign, bool isVariable)
    {
        if (sign == '-') return Py.RStripWhitespace(text);
        if (sign == '+' || isVariable) return text;
        var lineStart = text.LastIndexOf('\n') + 1;
        if ((lineStart > 0 || _lineStarting) && lineStart < text.Length && text.AsSpan(lineStart).IndexOfAnyExcept(Py.WhitespaceChars) < 0)
            return text[..lineStart];
        return text;
    }

    /// <summary>The end of <c>{%[-+] raw [-]%}</c> starting at <paramref name="tag"/>, or -1.</summary>
    private int MatchRawBegin(int tag)
    {
        var p = tag + 2;
        if (p < _s.Length && _s[p] is '-' or '+') p++;
        p = SkipWhitespace(p);
        if (string.CompareOrdinal(_s, p, "raw", 0, 3) != 0) return -1;
        p = SkipWhitespace(p + 3);
        if (Matches(p, "-%}")) return SkipWhitespace(p + 3);
        return Matches(p, "%}") ? p + 2 : -1;
    }

    private void LexRaw(int tag, int bodyStart)
    {
        _lineStarting = bodyStart > 0 && _s[bodyStart - 1] == '\n';
        for (var i = _s.IndexOf("{%", bodyStart, StringComparison.Ordinal); i >= 0; i = _s.IndexOf("{%", i + 1, StringComparison.Ordinal))
        {
            var p = i + 2;
            var sign = p < _s.Length && _s[p] is '-' or '+' ? _s[p++] : '\0';
            p = SkipWhitespace(p);
            if (string.CompareOrdinal(_s, p, "endraw", 0, 6) != 0) continue;
            var end = MatchBlockEnd(SkipWhitespace(p + 6));
            if (end < 0) continue;
            AddData(StripBeforeTag(_s[bodyStart..i], sign, isVariable: false), bodyStart);
            Advance(end);
            return;
        }
        throw _source.Error(tag, "missing end of raw directive ('{% endraw %}')");
    }

    private void LexComment(int tag, int contentStart)
    {
        for (var i = contentStart; i < _s.Length; i++)
        {
            if (Matches(i, "+#}")) { Advance(i + 3); return; }
            if (Matches(i, "-#}")) { Advance(SkipWhitespace(i + 3)); return; }
            if (Matches(i, "#}")) { Advance(i + 2 < _s.Length && _s[i + 2] == '\n' ? i + 3 : i + 2); return; }
        }
        throw _source.Error(tag, "missing end of comment tag ('#}')");
    }

    /// <summary>The end of a block-closing <c>+%}</c>, <c>-%}</c> (and the whitespace after it) or <c>%}</c>
    /// (and one newline after it: <c>trim_blocks</c>) at <paramref name="p"/>, or -1.</summary>
    private int MatchBlockEnd(int p)
    {
        if (Matches(p, "+%}")) return p + 3;
        if (Matches(p, "-%}")) return SkipWhitespace(p + 3);
        if (!Matches(p, "%}")) return -1;
        return p + 2 < _s.Length && _s[p + 2] == '\n' ? p + 3 : p + 2;
    }

    private int MatchVariableEnd(int p)
    {
        if (Matches(p, "-}}")) return SkipWhitespace(p + 3);
        return Matches(p, "}}") ? p + 2 : -1;
    }

    /// <summary>Moves past a match; the next text may lose its indentation if the match ended a line.</summary>
    private void Advance(int end)
    {
        _lineStarting = end > _pos && _s[end - 1] == '\n';
        _pos = end;
    }

    private void LexTag(bool isVariable, int tag, int p)
    {
        _tokens.Add(new Token(isVariable ? TokenKind.VariableBegin : TokenKind.BlockBegin, isVariable ? "{{" : "{%", tag));
        var brackets = new Stack<(char Close, int Offset)>();
        while (true)
        {
            if (p >= _s.Length)
                throw _source.Error(tag, $"unexpected end of template: the '{(isVariable ? "{{" : "{%")}' here is never closed with '{(isVariable ? "}}" : "%}")}'");
            if (brackets.Count == 0)
            {
                var end = isVariable ? MatchVariableEnd(p) : MatchBlockEnd(p);
                if (end >= 0)
                {
                    _tokens.Add(new Token(isVariable ? TokenKind.VariableEnd : TokenKind.BlockEnd, isVariable ? "}}" : "%}", p));
                    Advance(end);
                    return;
                }
            }
            var c = _s[p];
            if (Py.IsWhitespace(c)) { p++; continue; }
            if (char.IsAsciiDigit(c) && TryNumber(p, out var next)) { p = next; continue; }
            if (char.IsLetter(c) || c == '_')
            {
                var start = p;
                while (p < _s.Length && (char.IsLetterOrDigit(_s[p]) || _s[p] == '_')) p++;
                _tokens.Add(new Token(TokenKind.Name, _s[start..p], start));
                continue;
            }
            if (c is '\'' or '"') { p = LexString(p); continue; }
            var op = Array.Find(Operators, o => Matches(p, o))
                ?? throw _source.Error(p, $"unexpected character '{c}'");
            if (op is "(" or "[" or "{") brackets.Push((op switch { "(" => ')', "[" => ']', _ => '}' }, p));
            else if (op is ")" or "]" or "}")
            {
                if (brackets.Count == 0) throw _source.Error(p, $"unexpected '{op}'");
                var (close, _) = brackets.Pop();
                if (close != op[0]) throw _source.Error(p, $"unexpected '{op}', expected '{close}'");
            }
            _tokens.Add(new Token(TokenKind.Operator, op, p));
            p += op.Length;
        }
    }

    /// <summary>jinja2's number rules: a float is digits (with single underscores between them) followed by a
    /// fraction, an exponent, or both, not preceded by a dot; an integer is decimal, or 0b/0o/0x prefixed.</summary>
    private bool TryNumber(int p, out int end)
    {
        var intEnd = Digits(p, char.IsAsciiDigit);
        var floatEnd = -1;
        if (p == 0 || _s[p - 1] != '.')
        {
            var q = intEnd;
            if (q < _s.Length && _s[q] == '.' && q + 1 < _s.Length && char.IsAsciiDigit(_s[q + 1])) floatEnd = q = Digits(q + 1, char.IsAsciiDigit);
            if (q < _s.Length && _s[q] is 'e' or 'E')
            {
                var e = q + 1;
                if (e < _s.Length && _s[e] is '+' or '-') e++;
                if (e < _s.Length && char.IsAsciiDigit(_s[e])) floatEnd = Digits(e, char.IsAsciiDigit);
            }
        }
        if (floatEnd >= 0)
        {
            var text = _s[p..floatEnd];
            _tokens.Add(new Token(TokenKind.Float, text, p, double.Parse(text.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture)));
            end = floatEnd;
            return true;
        }
        if (_s[p] == '0' && p + 2 < _s.Length && char.ToLowerInvariant(_s[p + 1]) is 'x' or 'o' or 'b')
        {
            var (radix, isDigit) = char.ToLowerInvariant(_s[p + 1]) switch
            {
                'x' => (16, (Func<char, bool>)char.IsAsciiHexDigit),
                'o' => (8, c => c is >= '0' and <= '7'),
                _ => (2, c => c is '0' or '1'),
            };
            var q = p + 2;
            if (q < _s.Length && _s[q] == '_') q++;
            if (q < _s.Length && isDigit(_s[q]))
            {
                end = Digits(q, isDigit);
                var digits = _s[(p + 2)..end].Replace("_", "");
                _tokens.Add(new Token(TokenKind.Integer, _s[p..end], p, Convert.ToInt64(digits, radix)));
                return true;
            }
        }
        // "0(_?0)*" or "[1-9](_?\d)*": a leading zero only continues with zeros.
        end = _s[p] == '0' ? Digits(p, c => c == '0') : intEnd;
        var value = _s[p..end].Replace("_", "");
        if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            throw _source.Error(p, $"integer literal {value} is too large (64-bit integers only)");
        _tokens.Add(new Token(TokenKind.Integer, _s[p..end], p, number));
        return true;
    }

    /// <summary>The end of a run of digits in which single underscores may separate digits.</summary>
    private int Digits(int p, Func<char, bool> isDigit)
    {
        while (p < _s.Length && isDigit(_s[p]))
        {
            p++;
            if (p + 1 < _s.Length && _s[p] == '_' && isDigit(_s[p + 1])) p++;
        }
        return p;
    }

    private int LexString(int start)
    {
        var quote = _s[start];
        var p = start + 1;
        while (p < _s.Length && _s[p] != quote) p += _s[p] == '\\' ? 2 : 1;
        if (p >= _s.Length) throw _source.Error(start, "unterminated string literal");
        _tokens.Add(new Token(TokenKind.String, Unescape(_s[(start + 1)..p], start), start));
        return p + 1;
    }

    /// <summary>Python's <c>unicode-escape</c> decoding, which jinja2 applies to string literals; unknown escapes
    /// are kept as written.</summary>
    private string Unescape(string body, int offset)
    {
        if (!body.Contains('\\')) return body;
        var sb = new StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            if (body[i] != '\\' || i + 1 >= body.Length) { sb.Append(body[i]); continue; }
            var c = body[++i];
            switch (c)
            {
                case '\n': break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case 'x' or 'u' or 'U':
                    var width = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                    if (body.Length - i - 1 < width || !long.TryParse(body.AsSpan(i + 1, width), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                        throw _source.Error(offset, $"truncated \\{c} escape in string literal");
                    if (code > 0x10FFFF) throw _source.Error(offset, "illegal Unicode character in string literal");
                    sb.Append(char.ConvertFromUtf32(code is >= 0xD800 and <= 0xDFFF ? 0xFFFD : (int)code));
                    i += width;
                    break;
                case >= '0' and <= '7':
                    var octal = c - '0';
                    for (var k = 0; k < 2 && i + 1 < body.Length && body[i + 1] is >= '0' and <= '7'; k++) octal = octal * 8 + (body[++i] - '0');
                    sb.Append((char)octal);
                    break;
                default: sb.Append('\\').Append(c); break;
            }
        }
        return sb.ToString();
    }

    private int SkipWhitespace(int p)
    {
        while (p < _s.Length && Py.IsWhitespace(_s[p])) p++;
        return p;
    }

    private bool Matches(int p, string text) => string.CompareOrdinal(_s, p, text, 0, text.Length) == 0;
}
