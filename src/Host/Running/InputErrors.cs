using Unlearn.Data;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Plugins;
using Unlearn.Text;

namespace Unlearn.Host.Running;

/// <summary>A user's file (model folder, data file) that cannot be used, found while the run's inputs are checked
/// before any work starts. It is bad input (exit code 2) whatever the underlying error was: the exit code follows
/// where the error came from, not its exception type.</summary>
/// <param name="message">What is wrong, naming the file.</param>
/// <param name="inner">The underlying error.</param>
public sealed class InputException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An error raised while a checked plan ran that is not one of the tool's input errors (a cache file that
/// vanished, a full disk): a run failure (exit 1) whatever its exception type.</summary>
/// <param name="inner">The error.</param>
public sealed class RunFailureException(Exception inner) : Exception(ErrorText.WithoutNativeFrames(inner.Message), inner);

/// <summary>The one rule for which errors are the user's input (exit 2) and which are run failures (exit 1).</summary>
public static class InputErrors
{
    /// <summary>The tool's own errors about what a user gave (pipeline, data file, model folder, plugin, tokenizer, prompt
    /// template, a retain bar no model meets): each names the file, the place and the fix, and is bad input wherever it is raised.</summary>
    public static bool IsNamed(Exception e) =>
        e is PipelineException or DataFileException or InputException or PluginException or TokenizerException or PromptTemplateException
            or CalibrationException;

    /// <summary>Bad input at the command: a named input error, or a framework file error (missing file, unreadable
    /// format) raised before any work started. Once a plan runs, the sweep runner wraps every other error in a
    /// <see cref="RunFailureException"/>, so a framework file error from the run itself is a run failure.</summary>
    public static bool IsBadInput(Exception e) =>
        IsNamed(e) || e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException;
}
