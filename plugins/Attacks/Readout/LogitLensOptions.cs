using System.ComponentModel;

namespace Unlearn.Plugins.Attacks.Readout;

/// <summary>Options of the <c>probe</c> attack.</summary>
public sealed class LogitLensOptions : IValidatableOptions
{
    /// <summary>The hidden state read: 0 is the embedding output, i the output of layer i; negative counts from the end.</summary>
    [Description("Hidden state read through the final norm and output head: 0 = embeddings, i = output of layer i, negative counts from the last layer (-1 = the last, the normal logits).")]
    public int Layer { get; init; } = -2;

    /// <inheritdoc />
    public IEnumerable<string> Validate() => [];

    /// <inheritdoc />
    public IEnumerable<string> Validate(ModelShape model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (HiddenStateOf(model.NumLayers) == null) yield return OutsideMessage(model.NumLayers) + $" ({model.Name} has {model.NumLayers} layers)";
    }

    /// <summary>The index into the hidden states (0..layers) that <see cref="Layer"/> names, or null when it names none.</summary>
    public int? HiddenStateOf(int layers)
    {
        var index = Layer < 0 ? layers + 1 + Layer : Layer;
        return index < 0 || index > layers ? null : index;
    }

    /// <summary>Why <see cref="Layer"/> names no hidden state of a model with <paramref name="layers"/> layers, and the fix.</summary>
    public string OutsideMessage(int layers) =>
        $"layer {Layer} is outside the model's hidden states 0..{layers} (or -{layers + 1}..-1); set probe's layer within them";
}
