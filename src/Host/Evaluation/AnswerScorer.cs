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
        for (var b = 0; b < items.Length; b++)
        {
            var row = items[b].Prompt.Concat(items[b].Answer).ToArray();
            for (var t = 0; t < length; t++)
            {
                ids[b * length + t] = t < row.Length ? row[t] : padId;
                mask[b * length + t] = t < row.Length ? 1 : 0;
            }
        }
        var inputIds = tensor(ids, [items.Length, length]);
        var attention = tensor(mask, [items.Length, length]);
        var logits = model.Forward(inputIds, attention).Logits.to_type(ScalarType.Float32);
        var shifted = logits.narrow(1, 0, length - 1);
        var targets = inputIds.narrow(1, 1, length - 1);
        var logProbs = nn.functional.log_softmax(shifted, -1);
        var picked = logProbs.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var argmaxMatch = shifted.argmax(-1).eq(targets);
        var probs = logProbs.exp();
        var mean = (probs * logProbs).sum(-1);
        var variance = (probs * logProbs.pow(2)).sum(-1) - mean.pow(2);
        var z = (picked - mean) / variance.clamp_min(1e-12).sqrt();
        var pickedHost = picked.data<float>().ToArray();
        var matchHost = argmaxMatch.data<bool>().ToArray();
        var zHost = z.data<float>().ToArray();
        var width = length - 1;
        for (var b = 0; b < items.Length; b++)
        {
            var p = items[b].Prompt.Count;
            var a = items[b].Answer.Count;
            var lp = new float[a];
            var match = new bool[a];
            var zz = new float[a];
            for (var k = 0; k < a; k++)
            {
                var pos = b * width + p - 1 + k; // the logits at p-1+k predict answer token k
                lp[k] = pickedHost[pos];
                match[k] = matchHost[pos];
                zz[k] = zHost[pos];
            }
            results[indices[b]] = new AnswerScores(lp, match, zz, EndsWithEos: true);
        }
    }
}
