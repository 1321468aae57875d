using TorchSharp;
using Unlearn.Plugins;
using static TorchSharp.torch;

namespace Unlearn.Host.Evaluation;

/// <summary>One teacher-forced pass per item serves every metric that needs token scores (ES, EM, probability,
/// perplexity, truth ratio, membership inference). Items are length-sorted into batches so padding stays small.</summary>
public static class AnswerScorer
{
    /// <summary>Scores (question, answer) pairs on a model.</summary>
    public static AnswerScores[] Score(ILanguageModel model, IBatchEncoder encoder, int padId,
        IReadOnlyList<(string Question, string Answer)> pairs, int batchSize, CancellationToken cancellationToken)
    {
        var tokenized = pairs.Select(p => encoder.Tokenize(p.Question, p.Answer)).ToArray();
        var order = Enumerable.Range(0, pairs.Count).OrderBy(i => tokenized[i].Prompt.Count + tokenized[i].Answer.Count).ThenBy(i => i).ToArray();
        var results = new AnswerScores[pairs.Count];
        var wasTraining = model.Module.training;
        model.Module.eval();
        try
        {
            using var noGrad = no_grad();
            for (var start = 0; start < order.Length; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = order.Skip(start).Take(batchSize).ToArray();
                ScoreBatch(model, padId, batch.Select(i => tokenized[i]).ToArray(), batch, results);
            }
        }
        finally
        {
            if (wasTraining) model.Module.train();
        }
        return results;
    }

    private static void ScoreBatch(ILanguageModel model, int padId, (IReadOnlyList<int> Prompt, IReadOnlyList<int> Answer)[] items, int[] indices, AnswerScores[] results)
    {
        using var scope = NewDisposeScope();
        var length = items.Max(i => i.Prompt.Count + i.Answer.Count);
        var ids = new long[items.Length * length];
        var mask = new long[items.Length * length];
        var labels = new long[items.Length * length];
        Array.Fill(labels, TokenBatch.IgnoreIndex);
        for (var b = 0; b < items.Length; b++)
        {
            var (prompt, answer) = items[b];
            for (var t = 0; t < length; t++)
            {
                var at = b * length + t;
                ids[at] = t < prompt.Count ? prompt[t] : t < prompt.Count + answer.Count ? answer[t - prompt.Count] : padId;
                mask[at] = t < prompt.Count + answer.Count ? 1 : 0;
                if (t >= prompt.Count && t < prompt.Count + answer.Count) labels[at] = ids[at];
            }
        }
        long[] shape = [items.Length, length];
        var batch = new TokenBatch(tensor(ids, shape), tensor(mask, shape), tensor(labels, shape));
        // The head runs only at the positions that predict answer tokens; their rows are item by item, in order.
        var answerLogits = AnswerLogits.Of(model, batch);
        var logProbs = nn.functional.log_softmax(answerLogits.Logits, -1);
        var picked = logProbs.gather(-1, answerLogits.Labels.unsqueeze(-1)).squeeze(-1);
        var argmaxMatch = answerLogits.Logits.argmax(-1).eq(answerLogits.Labels);
        var probs = logProbs.exp();
        var mean = (probs * logProbs).sum(-1);
        var variance = (probs * logProbs.pow(2)).sum(-1) - mean.pow(2);
        var z = (picked - mean) / variance.clamp_min(1e-12).sqrt();
        var pickedHost = picked.data<float>().ToArray();
        var matchHost = argmaxMatch.data<bool>().ToArray();
        var zHost = z.data<float>().ToArray();
        var row = 0;
        for (var b = 0; b < items.Length; b++)
        {
            var a = items[b].Answer.Count;
            results[indices[b]] = new AnswerScores(pickedHost[row..(row + a)], matchHost[row..(row + a)], zHost[row..(row + a)], EndsWithEos: true);
            row += a;
        }
    }
}
