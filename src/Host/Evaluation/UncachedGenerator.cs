using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Host.Evaluation;

/// <summary>Greedy generation through any <see cref="ILanguageModel"/> (a full forward pass per new token, no key/value
/// cache): for models that are not a plain CausalLM, such as one read through the logit lens.</summary>
public static class UncachedGenerator
{
    /// <summary>Greedy continuations of <paramref name="prompts"/>, each until EOS or <paramref name="maxNewTokens"/>,
    /// with the entropy (nats) of the next-token distribution at each generated token (EOS excluded).</summary>
    public static IReadOnlyList<(IReadOnlyList<int> Tokens, IReadOnlyList<float> Entropies)> Generate(
        ILanguageModel model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens, int eosId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        var wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var noGrad = no_grad();
            return prompts.Select(prompt => One(model, prompt, maxNewTokens, eosId, cancellationToken)).ToList();
        }
        finally
        {
            if (wasTraining) model.Module.train();
        }
    }

    private static (IReadOnlyList<int>, IReadOnlyList<float>) One(ILanguageModel model, IReadOnlyList<int> prompt, int maxNewTokens, int eosId, CancellationToken cancellationToken)
    {
        var sequence = prompt.Select(i => (long)i).ToList();
        var (tokens, entropies) = (new List<int>(), new List<float>());
        var room = model.Description.MaxPositions - sequence.Count;
        for (var step = 0; step < Math.Min(maxNewTokens, room); step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var ids = tensor(sequence.ToArray(), [1, sequence.Count], ScalarType.Int64);
            var logits = model.Forward(ids, ones_like(ids)).Logits[0, -1].to_type(ScalarType.Float32);
            var logProbs = nn.functional.log_softmax(logits, 0);
            var next = (int)logits.argmax().item<long>();
            if (next == eosId) break;
            tokens.Add(next);
            entropies.Add(-(logProbs.exp() * logProbs).sum().item<float>());
            sequence.Add(next);
        }
        return (tokens, entropies);
    }
}
