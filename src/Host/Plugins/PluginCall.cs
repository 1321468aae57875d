using Unlearn.Host.Running;
using Unlearn.Plugins;

namespace Unlearn.Host.Plugins;

/// <summary>A plugin's own code threw while the run used it: a run failure (exit 1), not bad input. The message names
/// the plugin, its assembly and the call, without native stack frames.</summary>
public sealed class PluginFailedException(string message, Exception inner) : Exception(message, inner);

/// <summary>Runs plugin code so that a failure names the plugin.</summary>
public static class PluginCall
{
    /// <summary>Runs <paramref name="body"/>, turning an exception from the plugin into a <see cref="PluginFailedException"/>.
    /// Cancellation, bad-input exceptions and failures already attributed (a metric failing inside a calibrator) pass through.</summary>
    public static T Run<T>(PluginDescriptor plugin, string call, Func<T> body)
    {
        ArgumentNullException.ThrowIfNull(plugin);
        ArgumentNullException.ThrowIfNull(body);
        try { return body(); }
        catch (Exception e) when (e is not (OperationCanceledException or PluginFailedException) && !InputErrors.IsNamed(e))
        {
            throw new PluginFailedException(
                $"the {PluginRegistry.KindWord(plugin.Kind)} '{plugin.Name}' ({plugin.Assembly.Path}) failed in {call}: {e.GetType().Name}: {ErrorText.WithoutNativeFrames(e.Message)}", e);
        }
    }

    /// <summary><see cref="Run{T}"/> for calls without a result.</summary>
    public static void Run(PluginDescriptor plugin, string call, Action body) =>
        Run(plugin, call, () => { body(); return 0; });
}

/// <summary>Error text for users.</summary>
public static class ErrorText
{
    /// <summary>A message up to the native stack trace libtorch appends ("Exception raised from ...", "frame #0: ...").</summary>
    public static string WithoutNativeFrames(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var lines = message.Split('\n');
        var kept = lines.TakeWhile(l => !l.StartsWith("Exception raised from ", StringComparison.Ordinal) && !l.TrimStart().StartsWith("frame #", StringComparison.Ordinal));
        return string.Join('\n', kept).TrimEnd();
    }
}
