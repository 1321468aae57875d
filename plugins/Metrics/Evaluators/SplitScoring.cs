namespace Unlearn.Plugins.Metrics;

/// <summary>Helpers shared by the metrics: which text plays the question, and scoring of perturbed answers.</summary>
internal static class SplitScoring
{
    /// <summary>The question text for a field (the paraphrase falls back to the original when missing).</summary>
    public static string QuestionOf(QaItem item, QuestionField field) =>
        field == QuestionField.Paraphrased ? item.ParaphrasedQuestion ?? item.Question : item.Question;

    /// <summary>Scores every (question, perturbed answer) pair of the items in one request and returns them grouped by item.</summary>
    public static IReadOnlyList<IReadOnlyList<AnswerScores>> ScorePerturbed(MetricContext context, IReadOnlyList<QaItem> items, string metric)
    {
        for (var i = 0; i < items.Count; i++)
            if (items[i].PerturbedAnswers.Count == 0)
                throw new InvalidOperationException($"{metric} needs perturbed answers, but item {i} of split '{context.Split.Name}' has none (use a *_perturbed split)");
        var pairs = items.SelectMany(i => i.PerturbedAnswers.Select(p => (i.Question, p))).ToList();
        var scores = context.ScoreAnswers(pairs);
        if (scores.Count != pairs.Count)
            throw new InvalidOperationException($"{metric}: the host returned {scores.Count} scores for {pairs.Count} pairs");
        var grouped = new List<IReadOnlyList<AnswerScores>>(items.Count);
        var offset = 0;
        foreach (var item in items)
        {
            grouped.Add(scores.Skip(offset).Take(item.PerturbedAnswers.Count).ToList());
            offset += item.PerturbedAnswers.Count;
        }
        return grouped;
    }

    /// <summary>Checks that a split has items (every aggregate here is over items).</summary>
    public static IReadOnlyList<QaItem> NonEmptyItems(MetricContext context, string metric)
    {
        var items = context.Split.Items;
        if (items.Count == 0) throw new InvalidOperationException($"{metric}: split '{context.Split.Name}' has no items");
        return items;
    }
}
