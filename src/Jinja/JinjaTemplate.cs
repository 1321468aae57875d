namespace Unlearn.Text.Jinja;

/// <summary>A Jinja2 template as Hugging Face renders chat templates (the <c>chat_template</c> of
/// <c>tokenizer_config.json</c>): jinja2's <c>ImmutableSandboxedEnvironment</c> with <c>trim_blocks</c>,
/// <c>lstrip_blocks</c> and the loop-controls extension, default <c>Undefined</c>, the globals
/// <c>raise_exception(msg)</c> and <c>strftime_now(format)</c>, and Hugging Face's <c>tojson</c>
/// (<c>json.dumps</c> with <c>ensure_ascii=False</c>, keys in insertion order, no HTML escaping).
/// <para>Output reproduces Python's, whitespace included: values print as Python's <c>str()</c> (<c>True</c>,
/// <c>None</c>, <c>1.0</c>, <c>['a', 'b']</c>), strings are measured, indexed and sliced in code points.
/// <c>{% generation %}</c> (Hugging Face's assistant-mask tag) renders its body unchanged.</para></summary>
public sealed class JinjaTemplate
{
    private readonly SourceText _source;
    private readonly List<Stmt> _body;

    private JinjaTemplate(SourceText source, List<Stmt> body)
    {
        _source = source;
        _body = body;
    }

    /// <summary>Parses a template once; it can then be rendered any number of times, also concurrently.</summary>
    /// <param name="source">The template text.</param>
    /// <param name="origin">Names the source in error messages, e.g.
    /// <c>"/models/x/tokenizer_config.json (chat_template)"</c>.</param>
    /// <exception cref="JinjaException">A syntax error, reported with its line and column.</exception>
    public static JinjaTemplate Parse(string source, string origin)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(origin);
        var text = new SourceText(origin, NormalizeNewlines(source));
        var tokens = Lexer.Tokenize(text);
        return new JinjaTemplate(text, new Parser(text, tokens).ParseTemplate());
    }

    /// <summary>Renders the template; <c>strftime_now</c> formats the current local time of the system clock.</summary>
    /// <param name="variables">The template's variables. Values may be <see cref="string"/>, <see cref="bool"/>,
    /// <see cref="int"/>, <see cref="long"/>, <see cref="double"/>, <c>null</c> (Python's <c>None</c>), lists
    /// (<see cref="IReadOnlyList{T}"/> of <see cref="object"/>) and dictionaries
    /// (<see cref="IReadOnlyDictionary{TKey, TValue}"/> from <see cref="string"/>), nested freely; other integer
    /// and floating-point types, <see cref="System.Collections.IDictionary"/> with string keys and other
    /// enumerables are accepted too.</param>
    /// <exception cref="JinjaException">Evaluation failed (unknown filter, calling a value that is not callable,
    /// <c>raise_exception</c>, ...), reported at the line and column of the expression.</exception>
    /// <exception cref="ArgumentException">A variable holds a value of an unsupported type.</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables) => Render(variables, TimeProvider.System);

    /// <summary>Renders the template with <c>strftime_now</c> reading <paramref name="clock"/> (its local time, as
    /// Python's <c>datetime.now()</c>), so that templates that print the date can be tested deterministically.</summary>
    /// <param name="variables">The template's variables, as for <see cref="Render(IReadOnlyDictionary{string, object?})"/>.</param>
    /// <param name="clock">The clock <c>strftime_now</c> reads.</param>
    /// <exception cref="JinjaException">Evaluation failed, reported at the line and column of the expression.</exception>
    /// <exception cref="ArgumentException">A variable holds a value of an unsupported type.</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(variables);
        ArgumentNullException.ThrowIfNull(clock);
        return new Renderer(_source, clock).Render(_body, variables);
    }

    /// <summary>What jinja2 does to a source before lexing: <c>\r\n</c> and <c>\r</c> become <c>\n</c>, and one
    /// trailing newline is dropped (<c>keep_trailing_newline=False</c>).</summary>
    private static string NormalizeNewlines(string source)
    {
        var text = source.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        return text.EndsWith('\n') ? text[..^1] : text;
    }
}
