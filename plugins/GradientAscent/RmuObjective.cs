using System.Text.RegularExpressions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unlearn.Plugins.GradientAscent;

/// <summary>RMU (spec §3): mean over forget answer positions of ‖h_L(x_f) − c·u‖² plus α times the mean over retain
/// answer positions of ‖h_L(x_r) − h_L^ref(x_r)‖² (squared L2 norms over the hidden dimension). u is a unit vector of
/// the model's hidden size drawn once from the run seed (Gaussian, then normalised); c is the steering coefficient,
/// optionally multiplied by the mean hidden-state norm of layer L on forget answers. Only the MLP weights of the
/// chosen layers are trained (<see cref="SelectTrainable"/>). "Answer positions" are the positions whose own token is
/// an answer token (label ≠ −100), so padding and question tokens are excluded.</summary>
public sealed partial class RmuObjective(RmuOptions options) : IObjective
{
    private const int NormBatchSize = 8;
    private float[]? _direction;

    /// <summary>The options in use.</summary>
    public RmuOptions Options { get; } = options;

    /// <summary>The steered layer L (hidden-state index), known after <see cref="Prepare"/>.</summary>
    public int Layer { get; private set; }

    /// <summary>The unit steering direction u (length HiddenSize), known after <see cref="Prepare"/>.</summary>
    public IReadOnlyList<float> SteeringDirection => _direction ?? throw NotPrepared();

    /// <summary>The coefficient c actually used (scaled by the hidden-state norm when asked), known after <see cref="Prepare"/>.</summary>
    public double EffectiveSteeringCoefficient { get; private set; }

    /// <summary>The mean L2 norm of h_L on forget answer tokens measured in <see cref="Prepare"/> (null when not measured).</summary>
    public double? MeasuredHiddenNorm { get; private set; }

    /// <inheritdoc />
    public ObjectiveNeeds Needs => Options.Alpha > 0 ? ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel : ObjectiveNeeds.None;

    /// <summary>The steered layer for a model: the option, or NumLayers / 2 (at least 1).</summary>
    public int ResolveLayer(ModelDescription description)
    {
        ArgumentNullException.ThrowIfNull(description);
        var layer = Options.Layer ?? Math.Max(1, description.NumLayers / 2);
        if (layer < 1 || layer > description.NumLayers)
            throw new ArgumentException($"layer must be in 1..{description.NumLayers} for this model, got {layer}");
        return layer;
    }

    /// <inheritdoc />
    public void Prepare(ObjectiveSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        var description = setup.Model.Description;
        Layer = ResolveLayer(description);
        _direction = UnitVector(description.HiddenSize, setup.Seed);
        EffectiveSteeringCoefficient = Options.SteeringCoefficient;
        MeasuredHiddenNorm = null;
        if (Options.ScaleSteeringToHiddenNorm)
        {
            MeasuredHiddenNorm = MeanHiddenNorm(setup);
            EffectiveSteeringCoefficient = Options.SteeringCoefficient * MeasuredHiddenNorm.Value;
        }
    }

    /// <summary>The MLP parameters of the updated layers (option update_layers, default L−2..L within 1..NumLayers).
    /// Parameters are found by their Hugging Face names: "…(h|layers|blocks).{i}.mlp.…" with i = layer − 1.</summary>
    public IReadOnlyList<Parameter> SelectTrainable(ILanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var description = model.Description;
        var layer = ResolveLayer(description);
        var layers = Options.UpdateLayers.Count > 0
            ? Options.UpdateLayers.ToHashSet()
            : Enumerable.Range(layer - 2, 3).Where(l => l >= 1).ToHashSet();
        foreach (var l in layers.Where(l => l > description.NumLayers))
            throw new ArgumentException($"update_layers entries must be in 1..{description.NumLayers} for this model, got {l}");
        var selected = new List<Parameter>();
        var names = new List<string>();
        foreach (var (name, parameter) in model.Module.named_parameters())
        {
            names.Add(name);
            var match = MlpParameterName().Match(name);
            if (match.Success && layers.Contains(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1))
                selected.Add(parameter);
        }

        if (selected.Count == 0)
            throw new InvalidOperationException(
                $"RMU found no MLP parameters of layers {string.Join(", ", layers.Order())}; parameter names look like: {string.Join(", ", names.Take(6))}");
        return selected;
    }

    /// <inheritdoc />
    public ObjectiveLoss ComputeLoss(ObjectiveContext context, UnlearnBatch batch)
    {
        var direction = _direction ?? throw NotPrepared();
        var forget = batch.Forget;
        var output = context.Model.Forward(forget.InputIds, forget.AttentionMask, outputHiddenStates: true);
        var hidden = HiddenAt(output);
        var target = EffectiveSteeringCoefficient * tensor(direction, device: hidden.device);
        var forgetMask = AnswerPositions(forget.Labels);
        var forgetDistance = MeanSquaredDistance(hidden, target, forgetMask);
        var logs = new Dictionary<string, double>
        {
            ["forget_activation_distance"] = forgetDistance.item<float>(),
            ["steering_coefficient"] = EffectiveSteeringCoefficient,
        };
        using (no_grad())
        {
            logs["forget_nll"] = AnswerLoss.MeanNll(output.Logits, forget.Labels).item<float>();
            logs["forget_hidden_norm"] = (((hidden * hidden).sum(-1).sqrt() * forgetMask).sum() / forgetMask.sum().clamp_min(1.0)).item<float>();
        }

        var loss = forgetDistance;
        if (Options.Alpha > 0)
        {
            var retain = batch.Retain ?? throw new InvalidOperationException("RMU needs a retain batch (ObjectiveNeeds.RetainBatch) but the host passed none");
            var reference = context.Reference ?? throw new InvalidOperationException("RMU needs the reference model (ObjectiveNeeds.ReferenceModel) but the host passed none");
            var retainHidden = HiddenAt(context.Model.Forward(retain.InputIds, retain.AttentionMask, outputHiddenStates: true));
            Tensor referenceHidden;
            using (no_grad())
                referenceHidden = HiddenAt(reference.Forward(retain.InputIds, retain.AttentionMask, outputHiddenStates: true)).detach();
            var retainDistance = MeanSquaredDistance(retainHidden, referenceHidden, AnswerPositions(retain.Labels));
            logs["retain_activation_distance"] = retainDistance.item<float>();
            loss = loss + Options.Alpha * retainDistance;
        }

        return new ObjectiveLoss(loss, logs);
    }

    /// <summary>A unit vector of length <paramref name="size"/> from a Gaussian draw seeded by <paramref name="seed"/>.</summary>
    internal static float[] UnitVector(int size, int seed)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "hidden size must be >= 1");
        var random = new Random(seed);
        var values = new double[size];
        double squared;
        do
        {
            for (var i = 0; i < size; i++)
            {
                // Box-Muller: one standard normal from two uniforms in (0, 1].
                var u1 = 1.0 - random.NextDouble();
                var u2 = random.NextDouble();
                values[i] = Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
            }
            squared = values.Sum(v => v * v);
        }
        while (squared <= 0);
        var norm = Math.Sqrt(squared);
        return values.Select(v => (float)(v / norm)).ToArray();
    }

    private Tensor HiddenAt(ModelOutput output)
    {
        var states = output.HiddenStates ?? throw new InvalidOperationException("the model returned no hidden states although RMU asked for them");
        if (Layer >= states.Count) throw new InvalidOperationException($"the model returned {states.Count} hidden states; RMU needs index {Layer}");
        return states[Layer].to_type(ScalarType.Float32);
    }

    private static Tensor AnswerPositions(Tensor labels) => labels.ne(TokenBatch.IgnoreIndex).to_type(ScalarType.Float32);

    private static Tensor MeanSquaredDistance(Tensor hidden, Tensor target, Tensor mask)
    {
        var difference = hidden - target;
        var perPosition = (difference * difference).sum(-1);
        return (perPosition * mask).sum() / mask.sum().clamp_min(1.0);
    }

    private double MeanHiddenNorm(ObjectiveSetup setup)
    {
        var items = setup.ForgetSet.Items.Take(Options.NormSampleSize).ToList();
        if (items.Count == 0) throw new InvalidOperationException("the forget set is empty; RMU cannot measure the hidden-state norm");
        var device = setup.Model.Module.parameters().First().device;
        double sum = 0, count = 0;
        using var noGrad = no_grad();
        foreach (var chunk in items.Chunk(NormBatchSize))
        {
            using var scope = NewDisposeScope();
            var encoded = setup.Encoder.Encode(chunk.Select(i => (i.Question, i.Answer)).ToList());
            var output = setup.Model.Forward(encoded.InputIds.to(device), encoded.AttentionMask.to(device), outputHiddenStates: true);
            var hidden = HiddenAt(output);
            var mask = AnswerPositions(encoded.Labels.to(device));
            sum += ((hidden * hidden).sum(-1).sqrt() * mask).sum().item<float>();
            count += mask.sum().item<float>();
        }

        if (count <= 0) throw new InvalidOperationException("the forget sample has no answer tokens; RMU cannot measure the hidden-state norm");
        return sum / count;
    }

    private static InvalidOperationException NotPrepared() => new("RMU: Prepare must run before the loss is computed");

    [GeneratedRegex(@"(?:^|\.)(?:h|layers|blocks)\.(\d+)\.mlp\.")]
    private static partial Regex MlpParameterName();
}
