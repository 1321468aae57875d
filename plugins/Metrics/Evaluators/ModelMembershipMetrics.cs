using System.ComponentModel;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Plugins.Metrics;

/// <summary>The norm <c>mia-gradnorm</c> takes of each parameter tensor's gradient.</summary>
public enum GradientNorm
{
    /// <summary>Sum of absolute values.</summary>
    L1,
    /// <summary>Euclidean norm.</summary>
    L2,
    /// <summary>Largest absolute value.</summary>
    Max,
}

/// <summary>Options of <c>mia-gradnorm</c>.</summary>
public sealed class GradNormOptions : IValidatableOptions
{
    /// <summary>The non-member split.</summary>
    [Description("Logical name of the split of never-trained items the forget split is compared with for the AUC (empty: no AUC).")]
    public string HoldoutSplit { get; init; } = "holdout";

    /// <summary>The p-norm of each parameter tensor's gradient.</summary>
    [Description("Norm of each parameter tensor's gradient: l1, l2 or max (p = infinity); the score is their mean over the tensors.")]
    public GradientNorm Norm { get; init; } = GradientNorm.L2;

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!Enum.IsDefined(Norm)) yield return $"norm must be l1, l2 or max, got {Norm}";
    }
}

/// <summary>Membership inference by gradient norm (as MIMIR and OpenUnlearning compute it): per item, the gradient of its
/// mean answer-token NLL (EOS included, like <c>mia-loss</c>) with respect to every trainable parameter tensor of the
/// model, in eval mode; the score is the mean over parameter tensors of the chosen p-norm of each tensor's gradient
/// (default L2). Training members sit near a minimum of the loss, so their gradients are small: higher = less
/// member-like, like every <c>mia-*</c> score. One forward and backward pass per item; the model's <c>.grad</c> fields are
/// not touched. Extras: <c>auc</c> against the holdout split.</summary>
public sealed class GradNormMembershipMetric(GradNormOptions options) : IMetric
{
    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context) =>
        MembershipResult.Of(context, MembershipInferenceMetric.MetricName(MembershipScore.GradNorm), options.HoldoutSplit, items => Score(context, items));

    private List<double> Score(MetricContext context, IReadOnlyList<QaItem> items)
    {
        var model = context.Model;
        var parameters = model.Module.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList();
        if (parameters.Count == 0) throw new InvalidOperationException("mia-gradnorm: the model has no parameters that require gradients");
        var device = parameters[0].device;
        var wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var gradients = enable_grad();
            var values = new List<double>(items.Count);
            foreach (var item in items)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var batch = context.Encoder.Encode([(item.Question, item.Answer)]);
                var logits = model.Forward(batch.InputIds.to(device), batch.AttentionMask.to(device)).Logits;
                var loss = AnswerLoss.MeanNll(logits, batch.Labels.to(device));
                var grads = autograd.grad([loss], parameters, allow_unused: true);
                var norms = grads.Where(g => g is not null).Select(g => Norm(g)).ToList();
                values.Add(norms.Count == 0 ? 0.0 : norms.Average());
            }
            return values;
        }
        finally
        {
            if (wasTraining) model.Module.train();
        }
    }

    private double Norm(Tensor gradient)
    {
        var g = gradient.to_type(ScalarType.Float64);
        return options.Norm switch
        {
            GradientNorm.L1 => g.abs().sum().item<double>(),
            GradientNorm.Max => g.abs().max().item<double>(),
            _ => g.square().sum().sqrt().item<double>(),
        };
    }
}

/// <summary>Options of <c>mia-reference</c>.</summary>
public sealed class ReferenceMembershipOptions : IValidatableOptions
{
    /// <summary>The reference model: <c>original</c>, <c>retain</c> or a model folder.</summary>
    [Description("Reference model: original (the model before unlearning), retain (the run's retain model) or a Hugging Face model folder (config.json, weights, tokenizer), relative to the working directory.")]
    public string Reference { get; init; } = ReferenceMembershipMetric.Original;

    /// <summary>The non-member split.</summary>
    [Description("Logical name of the split of never-trained items the forget split is compared with for the AUC (empty: no AUC).")]
    public string HoldoutSplit { get; init; } = "holdout";

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Reference))
        {
            yield return "reference must be 'original', 'retain' or a model folder, got an empty value";
            yield break;
        }
        if (Reference is ReferenceMembershipMetric.Original or ReferenceMembershipMetric.Retain) yield break;
        if (!Directory.Exists(Reference))
        {
            yield return $"reference must be 'original', 'retain' or an existing model folder, got '{Reference}' (no such folder; paths are relative to the working directory)";
            yield break;
        }
        if (!File.Exists(Path.Combine(Reference, "config.json")))
            yield return $"reference folder '{Reference}' has no config.json: point it at a Hugging Face model folder";
        if (!File.Exists(Path.Combine(Reference, "model.safetensors")) && !File.Exists(Path.Combine(Reference, "model.safetensors.index.json")))
            yield return $"reference folder '{Reference}' has no model.safetensors (or model.safetensors.index.json): point it at a Hugging Face model folder";
    }
}

/// <summary>Membership inference against a reference model (the "reference" attack of MIMIR and OpenUnlearning): per
/// item, the evaluated model's mean answer-token NLL minus the reference model's on the same pair. An item the evaluated
/// model finds much easier than the reference does looks like a training member; higher = less member-like. With the
/// original as reference, the original itself scores 0 on every item (AUC 0.5). Extras: <c>auc</c> against the holdout
/// split.</summary>
public sealed class ReferenceMembershipMetric(ReferenceMembershipOptions options) : IMetric
{
    /// <summary>The option value naming the original model.</summary>
    public const string Original = "original";

    /// <summary>The option value naming the retain model.</summary>
    public const string Retain = "retain";

    /// <inheritdoc />
    public MetricResult Evaluate(MetricContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = MembershipInferenceMetric.MetricName(MembershipScore.Reference);
        if (options.Reference == Retain && !context.HasModel(ModelRole.Retain))
            throw new InvalidOperationException($"{name}: reference 'retain' needs the retain model (model.retain_path or a learn recipe that trains one); the run has none");
        if (options.Reference == Original && !context.HasModel(ModelRole.Original))
            throw new InvalidOperationException($"{name}: reference 'original' needs the original model, which this evaluation does not have");
        return MembershipResult.Of(context, name, options.HoldoutSplit, items =>
        {
            var pairs = items.Select(i => (i.Question, i.Answer)).ToList();
            var own = context.ScoreAnswers(pairs);
            var reference = options.Reference switch
            {
                Original => context.ScoreAnswers(pairs, ModelRole.Original),
                Retain => context.ScoreAnswers(pairs, ModelRole.Retain),
                var folder => context.ScoreAnswersWithModelFolder(folder, pairs),
            };
            if (reference.Count != pairs.Count)
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{name}: the host returned {reference.Count} reference scores for {pairs.Count} pairs"));
            return own.Select((s, i) => AnswerProbability.MeanNll(s) - AnswerProbability.MeanNll(reference[i])).ToList();
        });
    }
}
