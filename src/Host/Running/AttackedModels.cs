using Unlearn.Host.Configuration;
using Unlearn.Host.Evaluation;
using Unlearn.Host.Plugins;
using Unlearn.Models;
using Unlearn.Plugins;

namespace Unlearn.Host.Running;

/// <summary>The run's models under one entry of <c>attacks</c>: per model role a key (the role's key and the attacks
/// with their options, so attacked values are cached like clean ones) and, on first use, an evaluator of the attacked
/// model. Weight attacks change a copy of the role's model, in list order; read-out, question and prompt changes are
/// composed in list order. The metrics a metric compares with (retain, original) are read under the same attack.</summary>
public sealed class AttackedModels(RunContext context, AttackPlan attack) : IDisposable
{
    private readonly Dictionary<string, ModelEvaluator> _evaluators = new(StringComparer.Ordinal);
    private readonly List<CausalLM> _copies = [];
    private readonly IReadOnlyList<(ResolvedPlugin Plugin, IAttack Attack)> _steps =
        attack.Steps.Select(s => (s, PluginRegistry.CreateWithOptions<IAttack>(s.Descriptor, s.Options))).ToList();
    private EvaluationSetup? _setup;

    /// <summary>The attack entry.</summary>
    public AttackPlan Attack { get; } = attack;

    /// <summary>What the attacked model of <paramref name="role"/> is: the role's weights, the attacks in order with
    /// their options and assemblies, and what a weight attack reads (data, seed, prompt format); null when the run has
    /// no model in that role.</summary>
    public string? Key(string role) => context.ModelKeys.GetValueOrDefault(role) is { } modelKey
        ? StageCache.Key("attack", 1, modelKey, Attack.Steps.Select(s => new[] { s.Descriptor.Name, s.OptionsJson, s.Descriptor.Assembly.Sha256 }).ToList(),
            context.Spec.Seed, context.Data.Key, context.Plan.Template.Text, context.Spec.Model.MaxLength)
        : null;

    /// <summary>The evaluator of the attacked model in <paramref name="role"/>, built on first use.</summary>
    public ModelEvaluator Evaluator(string role)
    {
        if (_evaluators.TryGetValue(role, out var evaluator)) return evaluator;
        ILanguageModel model = context.Model(role);
        var copied = _steps.Any(s => s.Attack.ChangesWeights);
        if (copied)
        {
            var copy = context.Model(role).Clone();
            _copies.Add(copy);
            foreach (var (plugin, step) in _steps.Where(s => s.Attack.ChangesWeights))
                PluginCall.Run(plugin.Descriptor, $"AttackWeights of the {role} model", () => step.AttackWeights(
                    new AttackSetup(copy, context.Encoder, context.Tokenizer, GetSplit, context.Spec.Seed, context.Cancellation)));
            model = copy;
        }
        foreach (var (plugin, step) in _steps) model = PluginCall.Run(plugin.Descriptor, $"ReadThrough of the {role} model", () => step.ReadThrough(model));
        // A read-out over the run's own model (not a copy) gets the role's weights back before every use.
        Func<ILanguageModel> source = copied ? () => model : () => { _ = context.Model(role); return model; };
        return _evaluators[role] = new ModelEvaluator(role, source, Setup(), Peer, context.Cancellation);
    }

    // The run's evaluation setup with the attacked encoder; generation from a model that is no plain CausalLM (a
    // read-out attack) runs without a key/value cache.
    private EvaluationSetup Setup()
    {
        if (_setup != null) return _setup;
        var clean = context.Setup();
        var encoder = new AttackedEncoder(context.Encoder, _steps.Select(s => s.Attack).ToList(), context.Spec.Seed);
        GreedyGenerator generator = (model, prompts, maxNewTokens, ct) => model is CausalLM
            ? clean.Generator(model, prompts, maxNewTokens, ct)
            : UncachedGenerator.Generate(model, prompts, maxNewTokens, context.Tokenizer.EosId, ct);
        return _setup = new EvaluationSetup(clean.Splits, clean.Tokenizer, encoder, clean.MetricByName, generator, clean.BatchSize, clean.MaxItems, clean.RetainLogs)
        {
            ModelFolders = clean.ModelFolders,
        };
    }

    private IDataSplit GetSplit(string name) => context.Data.Get(name, context.Spec.Data);

    private ModelEvaluator? Peer(ModelRole role) => role switch
    {
        ModelRole.Retain when context.HasModel(ModelRoles.Retain) && context.Spec.Evaluate.Models.Contains(ModelRoles.Retain) => Evaluator(ModelRoles.Retain),
        ModelRole.Original => Evaluator(ModelRoles.Original),
        _ => null,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var copy in _copies) copy.Dispose();
        _copies.Clear();
        _evaluators.Clear();
    }
}
