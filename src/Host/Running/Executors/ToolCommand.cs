using System.Diagnostics;
using System.Reflection;

namespace Unlearn.Host.Running.Executors;

/// <summary>How to start this tool again as another process: the installed tool's own executable, or the dotnet host
/// with the tool's assembly when it was started as <c>dotnet dotnet-unlearn.dll</c> (a build output, tests).</summary>
public static class ToolCommand
{
    /// <summary>The program and the arguments that come before the tool's own arguments.</summary>
    public static IReadOnlyList<string> Current()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this process is unknown, so the tool cannot start itself");
        if (Path.GetFileNameWithoutExtension(process) != "dotnet") return [process];
        var assembly = Assembly.GetEntryAssembly()?.Location;
        if (string.IsNullOrEmpty(assembly)) throw new InvalidOperationException("the tool's assembly path is unknown, so the tool cannot start itself");
        return [process, assembly];
    }

    /// <summary>A start description for the tool with <paramref name="args"/>, standard output and error redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var command = Current();
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in command.Skip(1).Concat(args)) start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>A word quoted for a POSIX shell.</summary>
    public static string ShellQuote(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        return word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or '+' or ':' or '=' or ',' or '@')
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
