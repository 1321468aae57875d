using Unlearn.Plugins;
using Unlearn.Text;

namespace Unlearn.Host.Evaluation;

/// <summary>The run's encoder with the prompt changes of a list of attacks applied in order: each question rewritten
/// (<see cref="IAttack.RewriteQuestion"/>), then the formatted prompt's ids (<see cref="IAttack.RewritePrompt"/>).
/// Answer ids are the clean ones, so attacked scores compare with the clean scores item by item.</summary>
public sealed class AttackedEncoder(BatchEncoder inner, IReadOnlyList<IAttack> attacks, int seed) : IBatchEncoder
{
    /// <inheritdoc />
    public string FormatPrompt(string question) => inner.FormatPrompt(Question(question));

    /// <inheritdoc />
    public (IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer) Tokenize(string question, string answer)
    {
        var (prompt, answerIds) = inner.Tokenize(Question(question), answer);
        foreach (var attack in attacks) prompt = attack.RewritePrompt(prompt, inner.Tokenizer.VocabSize, seed);
        return (prompt, answerIds);
    }

    /// <inheritdoc />
    public TokenBatch Encode(IReadOnlyList<(string Question, string Answer)> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return inner.Collate(pairs.Select(p => Tokenize(p.Question, p.Answer)).ToList());
    }

    private string Question(string question) => attacks.Aggregate(question, (q, attack) => attack.RewriteQuestion(q));
}
