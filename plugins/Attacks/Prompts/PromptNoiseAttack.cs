namespace Unlearn.Plugins.Attacks.Prompts;

/// <summary>Random token corruption of the prompt: each prompt token is, with probability <see cref="PromptNoiseOptions.Rate"/>,
/// replaced by a uniformly drawn different id. The draw is seeded by the run's seed and the prompt's own ids, so the
/// same prompt is corrupted the same way in every run and evaluation order. Answer tokens are never changed.</summary>
public sealed class PromptNoiseAttack(PromptNoiseOptions options) : IAttack
{
    /// <inheritdoc />
    public IReadOnlyList<int> RewritePrompt(IReadOnlyList<int> prompt, int vocabSize, int seed)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (vocabSize < 2) return prompt;
        var random = new Random(StableHash.Of(prompt, seed));
        var noisy = new int[prompt.Count];
        for (var i = 0; i < prompt.Count; i++)
        {
            noisy[i] = prompt[i];
            if (random.NextDouble() >= options.Rate) continue;
            // A uniform id other than the original one.
            var drawn = random.Next(vocabSize - 1);
            noisy[i] = drawn >= prompt[i] ? drawn + 1 : drawn;
        }
        return noisy;
    }
}
