namespace Unlearn.Plugins;

/// <summary>Which model a result belongs to, relative to the model being evaluated.</summary>
public enum ModelRole
{
    /// <summary>The model this metric is evaluating.</summary>
    Current,
    /// <summary>The retain model (trained without the forget set), the gold standard for forget quality and PrivLeak.</summary>
    Retain,
    /// <summary>The original model: the target before unlearning, trained on the forget set (SDK 1.1).</summary>
    Original,
}

/// <summary>Teacher-forced scores of one answer: one pass of the model over prompt + answer.
/// Arrays run over the answer tokens followed by EOS when <see cref="EndsWithEos"/>.</summary>
/// <param name="LogProbs">log p(token | prefix) of each answer token.</param>
/// <param name="ArgmaxMatches">Whether the teacher-forced argmax equals the token.</param>
/// <param name="MinKPlusPlus">Each token's log-prob standardised by the mean and standard deviation of log-probs
/// over the vocabulary under the model's own distribution (Min-K%++).</param>
/// <param name="EndsWithEos">True when the last entry is the EOS label.</param>
public sealed record AnswerScores(float[] LogProbs, bool[] ArgmaxMatches, float[] MinKPlusPlus, bool EndsWithEos)
{
    /// <summary>Number of answer tokens, EOS not included.</summary>
    public int AnswerLength => LogProbs.Length - (EndsWithEos ? 1 : 0);

    /// <summary>ℓ(a|q): the summed NLL over every scored token (EOS included).</summary>
    public double Nll
    {
        get
        {
            double sum = 0;
            foreach (var lp in LogProbs) sum -= lp;
            return sum;
        }
    }
}

/// <summary>One generated continuation.</summary>
/// <param name="Text">Decoded text, stop strings and EOS removed.</param>
/// <param name="Tokens">Generated token ids.</param>
/// <param name="Entropies">Entropy (nats) of the next-token distribution at each generated position.</param>
public sealed record GeneratedAnswer(string Text, IReadOnlyList<int> Tokens, IReadOnlyList<float> Entropies);

/// <summary>A metric's values: the aggregate, one value per item (in split order), and named extras
/// (e.g. "auc" for membership inference).</summary>
public sealed record MetricResult(double Value, IReadOnlyList<double> Items)
{
    /// <summary>Further named aggregates.</summary>
    public IReadOnlyDictionary<string, double> Extras { get; init; } = new Dictionary<string, double>();
}

/// <summary>A result another metric consumes.</summary>
/// <param name="Metric">Metric name.</param>
/// <param name="Split">Split name, or null for the split being evaluated.</param>
/// <param name="Role">Which model's result.</param>
public sealed record MetricDependency(string Metric, string? Split, ModelRole Role);

/// <summary>Everything a metric may use. Model passes are shared and cached by the host: every metric that
/// scores the same pairs on the same model reuses one forward pass. Implemented by the host.</summary>
public abstract class MetricContext
{
    /// <summary>The split being evaluated.</summary>
    public abstract IDataSplit Split { get; }

    /// <summary>The model being evaluated.</summary>
    public abstract ILanguageModel Model { get; }

    /// <summary>The model's tokenizer.</summary>
    public abstract ITokenizerView Tokenizer { get; }

    /// <summary>The prompt format and tokenization used in training.</summary>
    public abstract IBatchEncoder Encoder { get; }

    /// <summary>Teacher-forced scores for arbitrary pairs (cached by content).</summary>
    public abstract IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs);

    /// <summary>Greedy generation from the formatted prompts of <paramref name="questions"/> (cached).</summary>
    public abstract IReadOnlyList<GeneratedAnswer> Generate(IReadOnlyList<string> questions, int maxNewTokens);

    /// <summary>Greedy continuation of raw token prompts; stops at EOS or after <paramref name="maxNewTokens"/>.</summary>
    public abstract IReadOnlyList<IReadOnlyList<int>> GenerateTokens(IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens);

    /// <summary>The result of another metric on a split for a model role, computed on first request and cached.
    /// Throws when that role's model is not part of the run (check <see cref="HasModel"/>).</summary>
    public abstract MetricResult Result(string metric, string? split = null, ModelRole role = ModelRole.Current);

    /// <summary>Whether the run has a model in that role.</summary>
    public abstract bool HasModel(ModelRole role);

    /// <summary>Teacher-forced scores of pairs under the run's model in <paramref name="role"/> (cached like
    /// <see cref="ScoreAnswers(IReadOnlyList{ValueTuple{string, string}})"/>). Throws when the run has no model in
    /// that role (check <see cref="HasModel"/>). SDK 1.1.</summary>
    public virtual IReadOnlyList<AnswerScores> ScoreAnswers(IReadOnlyList<(string Question, string Answer)> pairs, ModelRole role) =>
        throw new NotSupportedException("this host cannot score answers with another model of the run");

    /// <summary>Teacher-forced scores of pairs under the model in a Hugging Face model folder (loaded once per run,
    /// with that folder's tokenizer and the run's prompt template). SDK 1.1.</summary>
    public virtual IReadOnlyList<AnswerScores> ScoreAnswersWithModelFolder(string modelFolder, IReadOnlyList<(string Question, string Answer)> pairs) =>
        throw new NotSupportedException("this host cannot score answers with a model folder");

    /// <summary>Another split of the run by logical name (e.g. "holdout"); throws with the valid names if unknown.</summary>
    public abstract IDataSplit GetSplit(string name);

    /// <summary>Cancelled when the user interrupts the run.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>Scores of the split's own rows: (question or paraphrase, answer).</summary>
    public IReadOnlyList<AnswerScores> ScoreSplit(QuestionField question = QuestionField.Original) =>
        ScoreAnswers(Split.Items.Select(i => (question == QuestionField.Paraphrased ? i.ParaphrasedQuestion ?? i.Question : i.Question, i.Answer)).ToList());
}

/// <summary>Whether larger values are better (shown in reports).</summary>
public enum MetricDirection
{
    /// <summary>No preferred direction (e.g. ES: high on retain is good, low on forget is good).</summary>
    Neutral,
    /// <summary>Larger is better.</summary>
    HigherIsBetter,
    /// <summary>Smaller is better.</summary>
    LowerIsBetter,
}

/// <summary>Optional fields of a <see cref="QaItem"/> that a metric may require.</summary>
[Flags]
public enum ItemFields
{
    /// <summary>Question and answer only.</summary>
    None = 0,
    /// <summary>At least one <see cref="QaItem.PerturbedAnswers"/> entry.</summary>
    PerturbedAnswers = 1,
    /// <summary>A <see cref="QaItem.ParaphrasedQuestion"/>.</summary>
    ParaphrasedQuestion = 2,
    /// <summary>A <see cref="QaItem.ParaphrasedAnswer"/>.</summary>
    ParaphrasedAnswer = 4,
}

/// <summary>Evaluates a model on a split and returns per-item values and an aggregate.</summary>
public interface IMetric
{
    /// <summary>Results this metric consumes instead of touching the model (composite metrics).</summary>
    IReadOnlyList<MetricDependency> Dependencies => [];

    /// <summary>Preferred direction.</summary>
    MetricDirection Direction => MetricDirection.Neutral;

    /// <summary>Item fields every row of an evaluated split must have (e.g. perturbed answers for Truth Ratio); the
    /// host reads the data files before any training and refuses a split that lacks them. SDK 1.2.</summary>
    ItemFields RequiredFields => ItemFields.None;

    /// <summary>Computes the metric.</summary>
    MetricResult Evaluate(MetricContext context);
}
