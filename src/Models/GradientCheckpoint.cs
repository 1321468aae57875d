using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Unlearn.Models;

/// <summary>Gradient checkpointing of one decoder layer, as a custom autograd function: the forward pass runs the
/// layer without recording its graph and keeps only the layer's input; the backward pass runs the layer again under
/// grad and back-propagates through that recomputation. The gradients (of the input and of every layer weight that
/// requires one) equal the plain pass's; the activations inside the layer are held for one layer at a time.</summary>
internal sealed class GradientCheckpoint : SingleTensorFunction<GradientCheckpoint>
{
    private const int Fixed = 4; // x, layer, inputs, index; the layer's trained weights follow

    public override string Name => nameof(GradientCheckpoint);

    /// <summary>The layer's output for <paramref name="x"/>, recomputed in backward.</summary>
    public static Tensor Run(DecoderLayer layer, Tensor x, LayerInputs inputs, int index)
    {
        // The trained weights are inputs of the function, so the engine passes their gradients on to them.
        var weights = layer.parameters().Cast<Tensor>().Concat(layer.AttachedWeights).Where(p => p.requires_grad).ToList();
        return apply([x, layer, inputs, index, .. weights]);
    }

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var (x, layer, inputs, index) = ((Tensor)vars[0], (DecoderLayer)vars[1], (LayerInputs)vars[2], (int)vars[3]);
        // The per-pass inputs (rotary tables, mask) are saved by the engine like x: backward may run after the scope
        // that made them has freed its wrappers (an objective computes its loss in its own scope).
        ctx.save_for_backward([x, .. Present(inputs)]);
        ctx.save_data("layer", layer);
        ctx.save_data("inputs", (inputs.Cos is not null, inputs.Sin is not null, inputs.Mask is not null));
        ctx.save_data("index", index);
        ctx.save_data("weights", vars.Skip(Fixed).Cast<Tensor>().ToList());
        ctx.save_data("input_grad", x.requires_grad);
        // The caller runs each layer in its own dispose scope, so the layer's intermediate tensors are freed when it
        // returns: nothing of them is kept, which is what checkpointing is there for.
        return layer.Forward(x, inputs, null, index);
    }

    private static IEnumerable<Tensor> Present(LayerInputs inputs) =>
        new[] { inputs.Cos, inputs.Sin, inputs.Mask }.Where(t => t is not null)!;

    // The gradients the last backward handed to the engine. The engine holds its own references once backward returns,
    // so they are released at the next call instead of living in the training step's dispose scope (a second copy of
    // every gradient until the step ends).
    [ThreadStatic] private static List<Tensor>? _handedOver;

    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        if (_handedOver != null)
        {
            foreach (var t in _handedOver) t.Dispose();
            _handedOver.Clear();
        }
        var layer = (DecoderLayer)ctx.get_data("layer");
        var (hasCos, hasSin, hasMask) = ((bool, bool, bool))ctx.get_data("inputs");
        var index = (int)ctx.get_data("index");
        var weights = (List<Tensor>)ctx.get_data("weights");
        var inputGrad = (bool)ctx.get_data("input_grad");
        IList<Tensor> grads;
        // The recomputed activations are freed when this layer's backward ends, not with the step.
        using (var scope = NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            var x = saved[0];
            var next = 1;
            var inputs = new LayerInputs(hasCos ? saved[next++] : null, hasSin ? saved[next++] : null, hasMask ? saved[next++] : null);
            using var grad = enable_grad();
            var input = x.detach().requires_grad_(inputGrad);
            var output = layer.Forward(input, inputs, null, index);
            var targets = inputGrad ? [input, .. weights] : weights;
            grads = targets.Count == 0 ? [] : autograd.grad([output], targets, [grad_output], allow_unused: true);
            foreach (var g in grads) g?.DetachFromDisposeScope();
        }
        (_handedOver ??= []).AddRange(grads.Where(g => g is not null));
        var result = new List<Tensor> { inputGrad ? grads[0] : null!, null!, null!, null! };
        result.AddRange(grads.Skip(inputGrad ? 1 : 0));
        return result;
    }
}
