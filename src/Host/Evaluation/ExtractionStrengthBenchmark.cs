using System.Diagnostics;
using Unlearn.Data;
using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Text;

namespace Unlearn.Host.Evaluation;

/// <summary>Timings of exact ES computed in one teacher-forced pass against the generation-based definition, on the
/// same model and split, measured in one process.</summary>
/// <param name="Items">Items in the split.</param>
/// <param name="OnePassSeconds">Seconds for <c>es</c>.</param>
/// <param name="GenerationSeconds">Seconds for <c>es-generate</c>.</param>
/// <param name="OnePassValue">Aggregate ES of the one-pass metric.</param>
/// <param name="GenerationValue">Aggregate ES of the generation-based metric (must be equal).</param>
public sealed record ExtractionStrengthTiming(int Items, double OnePassSeconds, double GenerationSeconds, double OnePassValue, double GenerationValue)
{
    /// <summary>How many times faster the one-pass version is.</summary>
    public double Speedup => OnePassSeconds > 0 ? GenerationSeconds / OnePassSeconds : double.NaN;
}

/// <summary>Measures <see cref="ExtractionStrengthTiming"/> on the built-in world's full split (200 items with 10 authors).</summary>
public static class ExtractionStrengthBenchmark
{
    /// <summary>Runs the comparison. <paramref name="modelDir"/> selects a trained model folder; without it a
    /// freshly initialised built-in model is used (timings do not depend on what the model knows, since the
    /// generation-based ES searches every prefix length).</summary>
    public static ExtractionStrengthTiming Run(PluginRegistry registry, string architecture = "tiny", int authors = 10, string? modelDir = null, int batchSize = 32)
    {
        var world = SyntheticWorld.Generate(new WorldSettings(authors));
        var split = world["full"];
        var template = PromptTemplate.Default;
        ModelTokenizer tokenizer;
        CausalLM model;
        if (modelDir != null)
        {
            tokenizer = ModelTokenizer.Load(modelDir);
            model = CausalLM.Load(modelDir);
        }
        else
        {
            var vocabulary = CompactVocabulary.BuildForQa(world.Splits.Values.SelectMany(s => s.Items), template);
            tokenizer = ModelTokenizer.FromCompact(vocabulary);
            model = CausalLM.Create(TransformerConfig.BuiltIn(architecture, vocabulary.Count) with { EosTokenId = CompactVocabulary.EosId, PadTokenId = CompactVocabulary.PadId }, seed: 0);
        }
        using (model)
        {
            model.eval();
            var encoder = new BatchEncoder(tokenizer, template, 128);
            MetricInstance Metric(string name) => MetricInstance.WithDefaults(registry, name, "bench");
            GreedyGenerator generator = (m, prompts, maxNew, ct) => SequenceGenerator.Generate((CausalLM)m, prompts,
                new GenerationSettings { MaxNewTokens = maxNew, EosId = tokenizer.EosId, PadId = tokenizer.PadId, BatchSize = batchSize }, ct)
                .Select(o => (o.Tokens, o.Entropies)).ToList();
            var splits = new Dictionary<string, IDataSplit> { ["full"] = split };
            double Time(string metric, out double value)
            {
                // A fresh evaluator per measurement: no cached passes carry over.
                var setup = new EvaluationSetup(splits, tokenizer, encoder, Metric, generator, batchSize, null);
                var evaluator = new ModelEvaluator("bench", () => model, setup, _ => null, CancellationToken.None);
                var clock = Stopwatch.StartNew();
                value = evaluator.Result(metric, "full").Value;
                return clock.Elapsed.TotalSeconds;
            }
            Time("es", out _); // warm-up
            var onePass = Time("es", out var onePassValue);
            var generation = Time("es-generate", out var generationValue);
            return new ExtractionStrengthTiming(split.Items.Count, onePass, generation, onePassValue, generationValue);
        }
    }
}
