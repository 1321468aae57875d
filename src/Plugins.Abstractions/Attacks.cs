namespace Unlearn.Plugins;

/// <summary>What an attack may use when it changes a model's weights. Implemented by the host; SDK 1.3.</summary>
/// <param name="Model">A copy of the evaluated model (never the run's own weights): the attack changes it in place.</param>
/// <param name="Encoder">Formats and tokenizes question/answer pairs exactly as training and evaluation do.</param>
/// <param name="Tokenizer">The model's tokenizer.</param>
/// <param name="GetSplit">A split of the run by logical name ("forget", "holdout", ...); throws with the valid names if unknown.</param>
/// <param name="Seed">The run's seed; derive every random choice from it.</param>
/// <param name="CancellationToken">Cancelled when the user interrupts the run.</param>
public sealed record AttackSetup(ILanguageModel Model, IBatchEncoder Encoder, ITokenizerView Tokenizer, Func<string, IDataSplit> GetSplit, int Seed, CancellationToken CancellationToken);

/// <summary>An attack on an unlearned model that should not change what the model knows (spec §6): evaluation
/// repeats every metric on the attacked model to see whether a metric ranks models the same before and after. An
/// attack changes the weights, the way answers are read, the question text or the prompt tokens; every member
/// has a do-nothing default, so an attack implements only what it changes. The host applies a list of attacks in
/// order (weights first, each in turn; then the read-out, question and prompt changes composed in list order). SDK 1.3.</summary>
public interface IAttack
{
    /// <summary>Whether <see cref="AttackWeights"/> changes the weights (the host then attacks a copy of the model).</summary>
    bool ChangesWeights => false;

    /// <summary>Changes <see cref="AttackSetup.Model"/> in place (relearning, quantization).</summary>
    void AttackWeights(AttackSetup setup) { }

    /// <summary>The model evaluation reads answers through (e.g. the logit lens of an intermediate layer); by default
    /// <paramref name="model"/> itself.</summary>
    ILanguageModel ReadThrough(ILanguageModel model) => model;

    /// <summary>The question as the attacked evaluation asks it (e.g. wrapped in a jailbreak template).</summary>
    string RewriteQuestion(string question) => question;

    /// <summary>The formatted prompt's token ids as the attacked evaluation feeds them (e.g. randomly corrupted);
    /// <paramref name="vocabSize"/> bounds new ids, <paramref name="seed"/> is the run's seed. The answer tokens are
    /// never changed, so the scores stay comparable with the clean ones.</summary>
    IReadOnlyList<int> RewritePrompt(IReadOnlyList<int> prompt, int vocabSize, int seed) => prompt;
}
