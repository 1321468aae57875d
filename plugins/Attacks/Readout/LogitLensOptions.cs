using System.ComponentModel;

namespace Unlearn.Plugins.Attacks.Readout;

/// <summary>Options of the <c>probe</c> attack.</summary>
public sealed class LogitLensOptions
{
    /// <summary>The hidden state read: 0 is the embedding output, i the output of layer i; negative counts from the end.</summary>
    [Description("Hidden state read through the final norm and output head: 0 = embeddings, i = output of layer i, negative counts from the last layer (-1 = the last, the normal logits).")]
    public int Layer { get; init; } = -2;
}
