using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Models;

/// <summary>Why generation of one sequence ended.</summary>
public enum GenerationStop
{
    /// <summary>The model produced the end-of-sequence id.</summary>
    EndOfSequence,
    /// <summary>The caller's stop condition (e.g. a stop string) said so.</summary>
    StopCondition,
    /// <summary>The new-token budget (or the model's context) was used up.</summary>
    MaxNewTokens,
}

/// <summary>How to decode.</summary>
public sealed record GenerationSettings
{
    /// <summary>Most tokens generated per prompt.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>False: greedy (argmax). True: sample from the temperature-scaled, top-k-filtered distribution.</summary>
    public bool Sample { get; init; }

    /// <summary>Sampling temperature (&gt; 0).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the k most likely tokens when sampling (0 = all).</summary>
    public int TopK { get; init; }

    /// <summary>Seed of the sampling generator.</summary>
    public int Seed { get; init; }

    /// <summary>End-of-sequence id; generation of a sequence stops when it is produced (it is not returned).</summary>
    public int? EosId { get; init; }

    /// <summary>Id used for left padding (never attended to).</summary>
    public int PadId { get; init; }

    /// <summary>Prompts decoded together.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Called after each generated token with the prompt's index and its tokens so far; true stops that
    /// sequence (the tokens are kept, the caller trims the stop string from the text).</summary>
    public Func<int, IReadOnlyList<int>, bool>? StopWhen { get; init; }

    /// <summary>Problems with the settings, each naming the setting.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxNewTokens < 0) yield return $"max_new_tokens must be >= 0, got {MaxNewTokens}";
        if (!(Temperature > 0)) yield return $"temperature must be > 0, got {Temperature}";
        if (TopK < 0) yield return $"top_k must be >= 0, got {TopK}";
        if (BatchSize <= 0) yield return $"batch_size must be > 0, got {BatchSize}";
    }
}

/// <summary>The continuation of one prompt.</summary>
/// <param name="Tokens">Generated ids (EOS excluded).</param>
/// <param name="Entropies">Entropy in nats of the model's next-token distribution (temperature 1) at each generated
/// position, aligned with <paramref name="Tokens"/>.</param>
/// <param name="Stop">Why generation ended.</param>
public sealed record GenerationOutput(IReadOnlyList<int> Tokens, IReadOnlyList<float> Entropies, GenerationStop Stop);

/// <summary>Batched autoregressive decoding with a key/value cache: prompts are left-padded, position ids count real
/// tokens only and padding is masked out of attention, so each continuation equals decoding that prompt alone.</summary>
public static class SequenceGenerator
{
    /// <summary>Continues every prompt (token ids, non-empty) and returns one output per prompt, in order.</summary>
    public static IReadOnlyList<GenerationOutput> Generate(CausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationSettings settings, CancellationToken cancellationToken = default)
    {
        var problems = settings.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException(string.Join("; ", problems), nameof(settings));
        for (var i = 0; i < prompts.Count; i++)
        {
            if (prompts[i].Count == 0) throw new ArgumentException($"prompt {i} is empty", nameof(prompts));
            if (prompts[i].Count >= model.Config.MaxPositions)
                throw new ArgumentException($"prompt {i} has {prompts[i].Count} tokens; the model accepts at most {model.Config.MaxPositions} positions", nameof(prompts));
        }
        var results = new GenerationOutput[prompts.Count];
        using var generator = new Generator((ulong)settings.Seed);
        using var noGrad = no_grad();
        for (var start = 0; start < prompts.Count; start += settings.BatchSize)
        {
            var chunk = Enumerable.Range(start, Math.Min(settings.BatchSize, prompts.Count - start)).ToArray();
            DecodeChunk(model, prompts, chunk, settings, generator, results, cancellationToken);
        }
        return results;
    }

    private static void DecodeChunk(CausalLM model, IReadOnlyList<IReadOnlyList<int>> prompts, int[] chunk, GenerationSettings settings,
        Generator generator, GenerationOutput[] results, CancellationToken cancellationToken)
    {
        var device = model.parameters().First().device;
        var b = chunk.Length;
        var longest = chunk.Max(i => prompts[i].Count);
        var budget = Math.Min(settings.MaxNewTokens, model.Config.MaxPositions - longest);
        var ids = new long[b * longest];
        var maskValues = new long[b * longest];
        for (var r = 0; r < b; r++)
        {
            var p = prompts[chunk[r]];
            var pad = longest - p.Count;
            for (var j = 0; j < longest; j++)
            {
                ids[r * longest + j] = j < pad ? settings.PadId : p[j - pad];
                maskValues[r * longest + j] = j < pad ? 0 : 1;
            }
        }
        var tokens = chunk.Select(_ => new List<int>()).ToArray();
        var entropies = chunk.Select(_ => new List<float>()).ToArray();
        var stops = Enumerable.Repeat(GenerationStop.MaxNewTokens, b).ToArray();
        if (budget <= 0)
        {
            for (var r = 0; r < b; r++) results[chunk[r]] = new GenerationOutput(tokens[r], entropies[r], GenerationStop.MaxNewTokens);
            return;
        }

        using var chunkScope = NewDisposeScope();
        using var cache = new KeyValueCache(model.Config.NumLayers);
        var mask = tensor(maskValues, [b, longest], device: device);
        var positions = (mask.cumsum(1) - 1).clamp_min(0);
        var next = model.ForwardWithCache(tensor(ids, [b, longest], device: device), positions, mask, cache).select(1, longest - 1);
        var lastPosition = positions.select(1, longest - 1);
        var active = Enumerable.Range(0, b).ToList(); // chunk rows still decoding, in cache row order

        for (var step = 0; step < budget && active.Count > 0; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Tensor newMask, newPositions, newNext;
            using (var stepScope = NewDisposeScope())
            {
                var logProbs = nn.functional.log_softmax(next, -1);
                var entropy = -(logProbs.exp() * logProbs).nan_to_num().sum(-1);
                var chosen = settings.Sample ? SampleTokens(next, settings, generator) : next.argmax(-1);
                var chosenIds = chosen.cpu().data<long>().ToArray();
                var entropyValues = entropy.cpu().data<float>().ToArray();
                var keep = new List<long>();
                var stillActive = new List<int>();
                for (var i = 0; i < active.Count; i++)
                {
                    var row = active[i];
                    var token = (int)chosenIds[i];
                    if (settings.EosId == token)
                    {
                        stops[row] = GenerationStop.EndOfSequence;
                        continue;
                    }
                    tokens[row].Add(token);
                    entropies[row].Add(entropyValues[i]);
                    if (settings.StopWhen?.Invoke(chunk[row], tokens[row]) == true)
                    {
                        stops[row] = GenerationStop.StopCondition;
                        continue;
                    }
                    keep.Add(i);
                    stillActive.Add(row);
                }
                if (stillActive.Count == 0 || step == budget - 1)
                {
                    active = stillActive;
                    continue;
                }
                var input = chosen.unsqueeze(1);
                var m = mask;
                var pos = lastPosition + 1;
                if (stillActive.Count != active.Count)
                {
                    var rows = tensor(keep.ToArray(), device: device);
                    cache.SelectRows(rows);
                    input = input.index_select(0, rows);
                    m = m.index_select(0, rows);
                    pos = pos.index_select(0, rows);
                }
                active = stillActive;
                newMask = cat([m, ones(active.Count, 1, dtype: ScalarType.Int64, device: device)], 1).MoveToOuterDisposeScope();
                newPositions = pos.MoveToOuterDisposeScope();
                newNext = model.ForwardWithCache(input, pos.unsqueeze(1), newMask, cache).select(1, 0).MoveToOuterDisposeScope();
            }
            mask.Dispose();
            lastPosition.Dispose();
            next.Dispose();
            mask = newMask;
            lastPosition = newPositions;
            next = newNext;
        }
        for (var r = 0; r < b; r++) results[chunk[r]] = new GenerationOutput(tokens[r], entropies[r], stops[r]);
    }

    private static Tensor SampleTokens(Tensor logits, GenerationSettings settings, Generator generator)
    {
        var scaled = logits / settings.Temperature;
        if (settings.TopK > 0 && settings.TopK < logits.shape[^1])
        {
            var kth = scaled.topk(settings.TopK, -1).values.narrow(-1, settings.TopK - 1, 1);
            scaled = scaled.masked_fill(scaled.lt(kth), double.NegativeInfinity);
        }
        var probs = nn.functional.softmax(scaled, -1);
        return probs.multinomial(1, generator: generator).squeeze(-1);
    }
}
