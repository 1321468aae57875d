namespace Unlearn.Plugins;

/// <summary>Options classes may implement this to check their values once, after binding. The host
/// reports each message with the pipeline file, key path and location of the plugin's section.</summary>
public interface IValidatableOptions
{
    /// <summary>Problems with the option values, each naming the option (e.g. "beta must be &gt; 0, got -1").
    /// Empty when the options are valid.</summary>
    IEnumerable<string> Validate();

    /// <summary>Problems with the option values for one model the run will use (e.g. a layer index the model does not
    /// have), each naming the option. The host calls it while planning, before any training, once per model whose
    /// shape it knows (the model folder's config.json, or the built-in architecture); by default none. SDK 1.4.</summary>
    IEnumerable<string> Validate(ModelShape model) => [];
}

/// <summary>What the host knows of a model before any training, from its config.json or built-in architecture.
/// The vocabulary size is not part of it: a built-in model's vocabulary is built from the run's data. SDK 1.4.</summary>
/// <param name="Name">Where the shape comes from, for messages: "model.path", "model.retain_path" or the built-in architecture.</param>
/// <param name="Family">Architecture family, e.g. "llama".</param>
/// <param name="NumLayers">Transformer layers (hidden states 0..NumLayers).</param>
/// <param name="HiddenSize">Width of the hidden states.</param>
public sealed record ModelShape(string Name, string Family, int NumLayers, int HiddenSize);

/// <summary>Plain options for plugins that have none.</summary>
public sealed class NoOptions;
