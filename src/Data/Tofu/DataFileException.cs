namespace Unlearn.Data;

/// <summary>A data file cannot be used. The message names the file, the 1-based line when one is to blame,
/// what is wrong and how to fix it.</summary>
public sealed class DataFileException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file (or folder) at fault.</param>
    /// <param name="line">1-based line number, or null when the whole file is at fault.</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="fix">How to fix it.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public DataFileException(string path, int? line, string problem, string fix, Exception? inner = null)
        : base(Format(path, line, problem, fix), inner)
    {
        Path = path;
        Line = line;
        Problem = problem;
        Fix = fix;
    }

    /// <summary>The file (or folder) at fault.</summary>
    public string Path { get; }

    /// <summary>1-based line number, or null when the whole file is at fault.</summary>
    public int? Line { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }

    /// <summary>How to fix it.</summary>
    public string Fix { get; }

    private static string Format(string path, int? line, string problem, string fix) =>
        (line is { } l ? $"{path}:{l}: " : $"{path}: ") + problem + (fix.Length > 0 ? ". " + fix : "");
}
