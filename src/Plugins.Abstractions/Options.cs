namespace Unlearn.Plugins;

/// <summary>Options classes may implement this to check their values once, after binding. The host
/// reports each message with the pipeline file, key path and location of the plugin's section.</summary>
public interface IValidatableOptions
{
    /// <summary>Problems with the option values, each naming the option (e.g. "beta must be &gt; 0, got -1").
    /// Empty when the options are valid.</summary>
    IEnumerable<string> Validate();
}

/// <summary>Plain options for plugins that have none.</summary>
public sealed class NoOptions;
