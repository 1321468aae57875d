using Unlearn.Models;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class GenerationTests
{
    /// <summary>Greedy decoding of one prompt by recomputing the whole sequence each step (no cache, no padding).</summary>
    private static List<int> GreedyWithoutCache(CausalLM model, IReadOnlyList<int> prompt, int maxNew, int? eos)
    {
        var seq = prompt.Select(x => (long)x).ToList();
        var result = new List<int>();
        for (var i = 0; i < maxNew; i++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(seq.ToArray(), [1, seq.Count]);
            var logits = model.Forward(ids, ones_like(ids)).Logits;
            var next = (int)logits[0, seq.Count - 1].argmax().item<long>();
            if (next == eos) break;
            result.Add(next);
            seq.Add(next);
        }
        return result;
    }

    [Theory]
    [MemberData(nameof(TestModels.Families), MemberType = typeof(TestModels))]
    public void BatchedGreedyWithCacheEqualsGreedyWithoutCache(string family)
    {
        using var model = CausalLM.Create(TestModels.ByName(family), 5);
        IReadOnlyList<int>[] prompts = [[1, 2, 3], [7], [4, 9, 16, 25, 36, 49], [11, 12]];
        var settings = new GenerationSettings { MaxNewTokens = 12, EosId = 0, BatchSize = 3 };
        var outputs = SequenceGenerator.Generate(model, prompts, settings);
        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(GreedyWithoutCache(model, prompts[i], 12, 0), outputs[i].Tokens);
            Assert.Equal(outputs[i].Tokens.Count, outputs[i].Entropies.Count);
        }
    }

    [Fact]
    public void EntropyIsThatOfTheNextTokenDistribution()
    {
        using var model = CausalLM.Create(TestModels.Llama, 6);
        int[] prompt = [5, 6, 7];
        var output = SequenceGenerator.Generate(model, [prompt], new GenerationSettings { MaxNewTokens = 1 })[0];
        using var scope = NewDisposeScope();
        var ids = tensor(prompt.Select(x => (long)x).ToArray(), [1, 3]);
        var p = nn.functional.softmax(model.Forward(ids, ones_like(ids)).Logits[0, 2], -1).data<float>().ToArray();
        var expected = -p.Sum(x => x * Math.Log(x));
        Assert.Equal(expected, output.Entropies[0], 4);
        // Random init with std 0.02 gives a nearly uniform distribution: entropy close to ln(50).
        Assert.InRange(output.Entropies[0], Math.Log(50) - 0.1, Math.Log(50) + 1e-4);
    }

    [Fact]
    public void StopsOnEosAndOnTheStopCondition()
    {
        using var model = CausalLM.Create(TestModels.Gpt2, 8);
        int[] prompt = [1, 2];
        var free = SequenceGenerator.Generate(model, [prompt], new GenerationSettings { MaxNewTokens = 6 })[0];
        Assert.Equal(6, free.Tokens.Count);
        Assert.Equal(GenerationStop.MaxNewTokens, free.Stop);
        var eos = free.Tokens[2];
        var withEos = SequenceGenerator.Generate(model, [prompt], new GenerationSettings { MaxNewTokens = 6, EosId = eos })[0];
        Assert.Equal(GenerationStop.EndOfSequence, withEos.Stop);
        Assert.Equal(free.Tokens.TakeWhile(t => t != eos), withEos.Tokens);
        var stopped = SequenceGenerator.Generate(model, [prompt], new GenerationSettings { MaxNewTokens = 6, StopWhen = (_, toks) => toks.Count == 4 })[0];
        Assert.Equal(GenerationStop.StopCondition, stopped.Stop);
        Assert.Equal(free.Tokens.Take(4), stopped.Tokens);
    }

    [Fact]
    public void SamplingIsReproducibleForASeedAndTopOneIsGreedy()
    {
        using var model = CausalLM.Create(TestModels.Phi, 9);
        IReadOnlyList<int>[] prompts = [[1, 2, 3], [4]];
        var s1 = SequenceGenerator.Generate(model, prompts, new GenerationSettings { MaxNewTokens = 8, Sample = true, Seed = 42, Temperature = 1.5 });
        var s2 = SequenceGenerator.Generate(model, prompts, new GenerationSettings { MaxNewTokens = 8, Sample = true, Seed = 42, Temperature = 1.5 });
        var s3 = SequenceGenerator.Generate(model, prompts, new GenerationSettings { MaxNewTokens = 8, Sample = true, Seed = 43, Temperature = 1.5 });
        Assert.Equal(s1[0].Tokens, s2[0].Tokens);
        Assert.Equal(s1[1].Tokens, s2[1].Tokens);
        Assert.NotEqual(s1[0].Tokens.Concat(s1[1].Tokens), s3[0].Tokens.Concat(s3[1].Tokens));
        var top1 = SequenceGenerator.Generate(model, prompts, new GenerationSettings { MaxNewTokens = 8, Sample = true, TopK = 1, Seed = 1 });
        var greedy = SequenceGenerator.Generate(model, prompts, new GenerationSettings { MaxNewTokens = 8 });
        Assert.Equal(greedy[0].Tokens, top1[0].Tokens);
        Assert.Equal(greedy[1].Tokens, top1[1].Tokens);
    }
}
