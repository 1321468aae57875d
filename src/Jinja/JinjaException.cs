namespace Unlearn.Text.Jinja;

/// <summary>A chat template failed to parse or to render. The message always starts with
/// <c>{origin}:{line}:{column}: </c> (both 1-based) and then says what is wrong; <see cref="Origin"/>,
/// <see cref="Line"/> and <see cref="Column"/> hold the same location.</summary>
public sealed class JinjaException : Exception
{
    internal JinjaException(string origin, int line, int column, string detail)
        : base($"{origin}:{line}:{column}: {detail}")
    {
        Origin = origin;
        Line = line;
        Column = column;
        Detail = detail;
    }

    /// <summary>The name of the template source given to <see cref="JinjaTemplate.Parse"/>.</summary>
    public string Origin { get; }

    /// <summary>The 1-based line of the construct at fault.</summary>
    public int Line { get; }

    /// <summary>The 1-based column (in UTF-16 code units) of the construct at fault.</summary>
    public int Column { get; }

    /// <summary>The message without the location prefix.</summary>
    public string Detail { get; }
}

/// <summary>An error raised while evaluating, before the evaluator attaches the location of the expression at fault.</summary>
internal sealed class JinjaRuntimeError(string message) : Exception(message);

/// <summary>The template text after newline normalisation, and the mapping from offsets to line and column.</summary>
internal sealed class SourceText
{
    private readonly List<int> _lineStarts = [0];

    public SourceText(string origin, string text)
    {
        Origin = origin;
        Text = text;
        for (var i = 0; i < text.Length; i++)
            if (text[i] == '\n') _lineStarts.Add(i + 1);
    }

    public string Origin { get; }

    public string Text { get; }

    /// <summary>The 1-based line and column of an offset.</summary>
    public (int Line, int Column) Locate(int offset)
    {
        var index = _lineStarts.BinarySearch(offset);
        if (index < 0) index = ~index - 1;
        return (index + 1, offset - _lineStarts[index] + 1);
    }

    public JinjaException Error(int offset, string detail)
    {
        var (line, column) = Locate(offset);
        return new JinjaException(Origin, line, column, detail);
    }
}
