using static TorchSharp.torch;

namespace Unlearn.Plugins.Attacks.Readout;

/// <summary>The logit lens: answers are read through the final norm and output head from an intermediate layer's
/// hidden state, so knowledge that unlearning only suppressed in the last layers shows again.</summary>
public sealed class LogitLensAttack(LogitLensOptions options) : IAttack
{
    /// <inheritdoc />
    public ILanguageModel ReadThrough(ILanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var layers = model.Description.NumLayers;
        var index = options.HiddenStateOf(layers) ?? throw new ArgumentOutOfRangeException(nameof(options), options.Layer, "probe " + options.OutsideMessage(layers));
        return new LogitLensModel(model, index);
    }

    private sealed class LogitLensModel(ILanguageModel inner, int index) : ILanguageModel
    {
        public ModelDescription Description => inner.Description;

        public nn.Module Module => inner.Module;

        public ModelOutput Forward(Tensor inputIds, Tensor attentionMask, bool outputHiddenStates = false)
        {
            var hidden = inner.Forward(inputIds, attentionMask, outputHiddenStates: true).HiddenStates
                ?? throw new NotSupportedException($"{inner.GetType().Name} returns no hidden states; the logit lens needs them");
            return new ModelOutput(inner.Head(hidden[index]), outputHiddenStates ? hidden.Take(index + 1).ToList() : null);
        }

        public Tensor Head(Tensor hidden) => inner.Head(hidden);

        public Tensor LastHiddenState(Tensor inputIds, Tensor attentionMask) =>
            (inner.Forward(inputIds, attentionMask, outputHiddenStates: true).HiddenStates
                ?? throw new NotSupportedException($"{inner.GetType().Name} returns no hidden states; the logit lens needs them"))[index];
    }
}
