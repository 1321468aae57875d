using System.Text.Json;
using Unlearn.Host.Configuration;
using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Text;
using Unlearn.Training;

namespace Unlearn.Host.Running.Stages;

/// <summary>The learn stage: makes the target and retain models. Recipes: <c>tiny-world</c> (base model from scratch
/// on general knowledge, then target = base + all authors, retain = base + retain authors), <c>tofu</c> (fine-tune
/// model.path on full and on the retain split), <c>none</c> (model.path is the target).</summary>
public sealed class LearnStage : IStage
{
    /// <inheritdoc />
    public string Name => "learn";

    /// <inheritdoc />
    public void Run(RunContext context)
    {
        var learned = context.Learned = Learn(context);
        context.Timings.AddRange(learned.Timings);
        context.StageKeys["target"] = learned.TargetKey;
        context.ModelFolders[ModelRoles.Original] = learned.TargetDir;
        context.ModelKeys[ModelRoles.Original] = learned.TargetKey;
        if (learned.RetainDir != null)
        {
            context.ModelFolders[ModelRoles.Retain] = learned.RetainDir;
            context.ModelKeys[ModelRoles.Retain] = learned.RetainKey ?? StageCache.Key("model", learned.RetainDir, ModelFolder.Stamp(learned.RetainDir));
        }
        if (learned.RetainKey != null) context.StageKeys["retain"] = learned.RetainKey;
    }

    // model.adapter: the PEFT adapter merged into model.path, as a full model folder in the stage cache.
    private static (string Dir, string Key) Merged(RunContext c, string baseDir, string baseKey, string adapterDir, List<StageTiming> timings)
    {
        if (!LoraAdapter.IsAdapterFolder(adapterDir))
            throw new InvalidDataException($"model.adapter: '{adapterDir}' has no {LoraAdapter.ConfigFile}, so it is not a PEFT adapter folder ({LoraAdapter.ConfigFile} + {LoraAdapter.WeightsFile}).");
        var key = StageCache.Key("merged", 1, baseKey, adapterDir, ModelFolder.Stamp(adapterDir));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (dir, reused) = c.Cache.GetOrBuild("models", key, staging =>
        {
            using var model = LoraAdapter.LoadMerged(baseDir, adapterDir);
            model.Save(staging);
            ModelFolder.CopyTokenizerFiles(baseDir, staging);
        });
        timings.Add(new StageTiming("learn/merge-adapter", clock.Elapsed.TotalSeconds, reused));
        c.Log.Info($"learn: {(reused ? "reused" : "merged")} the adapter {adapterDir} into {baseDir}: {dir}");
        return (dir, key);
    }

    private static LearnedModels Learn(RunContext c)
    {
        var spec = c.Spec;
        var data = c.Data;
        var timings = new List<StageTiming>();
        if (spec.Model.Adapter != null && spec.Learn.Recipe != "none")
            throw new InvalidDataException($"model.adapter: an adapter is merged into model.path as the target model, which learn.recipe '{spec.Learn.Recipe}' trains itself. Use learn.recipe: none, or remove model.adapter.");
        switch (spec.Learn.Recipe)
        {
            case "none":
            {
                ModelFolder.Check(spec.Model.Path!, "model.path");
                if (spec.Model.RetainPath != null) ModelFolder.Check(spec.Model.RetainPath, "model.retain_path");
                var (targetDir, targetKey) = (spec.Model.Path!, StageCache.Key("model", spec.Model.Path, ModelFolder.Stamp(spec.Model.Path!)));
                if (spec.Model.Adapter is { } adapter) (targetDir, targetKey) = Merged(c, targetDir, targetKey, adapter, timings);
                return new LearnedModels(targetDir, targetKey,
                    spec.Model.RetainPath, spec.Model.RetainPath == null ? null : StageCache.Key("model", spec.Model.RetainPath, ModelFolder.Stamp(spec.Model.RetainPath)), timings);
            }
            case "tofu":
            {
                ModelFolder.Check(spec.Model.Path!, "model.path");
                var baseKey = StageCache.Key("model", spec.Model.Path, ModelFolder.Stamp(spec.Model.Path!));
                var full = data.Get("full", spec.Data).Items;
                var target = FineTune(c, "target", spec.Model.Path!, baseKey, full, timings);
                (string Dir, string Key)? retain = null;
                if (spec.Learn.RetainModel)
                    retain = FineTune(c, "retain", spec.Model.Path!, baseKey, data.Get("train_retain", spec.Data).Items, timings);
                return new LearnedModels(target.Dir, target.Key, retain?.Dir ?? spec.Model.RetainPath, retain?.Key, timings);
            }
            default:
            {
                var general = data.Get("general", spec.Data).Items;
                var full = data.Get("full", spec.Data).Items.Concat(general).ToList();
                var baseModel = TrainBase(c, full, general, timings);
                var target = FineTune(c, "target", baseModel.Dir, baseModel.Key, full, timings);
                (string Dir, string Key)? retain = null;
                if (spec.Learn.RetainModel)
                {
                    var retainItems = data.Get("train_retain", spec.Data).Items.Concat(general).ToList();
                    retain = FineTune(c, "retain", baseModel.Dir, baseModel.Key, retainItems, timings);
                }
                return new LearnedModels(target.Dir, target.Key, retain?.Dir ?? spec.Model.RetainPath, retain?.Key, timings);
            }
        }
    }

    /// <summary>The base model from scratch on <paramref name="general"/>. Its vocabulary holds the tokens of
    /// <paramref name="vocabularyItems"/> (everything the target trains on): a model trained from scratch can know no
    /// other token, so the tokens of other texts (holdout authors, perturbed answers) read as &lt;unk&gt;. The key
    /// depends on those texts, not on the forget split, so forget01/05/10 share the base and target models.</summary>
    private static (string Dir, string Key) TrainBase(RunContext c, IReadOnlyList<QaItem> vocabularyItems, IReadOnlyList<QaItem> general, List<StageTiming> timings)
    {
        var (spec, template, cache, log, ct) = (c.Spec, c.Plan.Template, c.Cache, c.Log, c.Cancellation);
        var key = StageCache.Key("base", 2, Texts(vocabularyItems), Texts(general), spec.Model.Architecture, template.Text, spec.Model.MaxLength, Describe(spec.Learn.Base), spec.Seed);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (dir, reused) = cache.GetOrBuild("models", key, staging =>
        {
            var vocabulary = CompactVocabulary.BuildForQa(vocabularyItems, template);
            var config = TransformerConfig.BuiltIn(spec.Model.Architecture, vocabulary.Count) with
            {
                EosTokenId = CompactVocabulary.EosId, PadTokenId = CompactVocabulary.PadId,
                MaxPositions = Math.Max(spec.Model.MaxLength, 64),
            };
            using var model = CausalLM.Create(config, spec.Seed);
            var tokenizer = ModelTokenizer.FromCompact(vocabulary);
            var encoder = new BatchEncoder(tokenizer, template, spec.Model.MaxLength);
            log.Info($"learn/base: {spec.Model.Architecture} model, {model.ParameterCount:N0} parameters, vocabulary {vocabulary.Count}, {general.Count} general-knowledge items");
            var result = SupervisedTraining.Train(model, encoder, general, spec.Learn.Base, spec.Seed, Path.Combine(staging, "checkpoint"), log.TrainingProgress("learn/base"), ct);
            var throughput = Throughput("learn/base", model, encoder, general, result, spec.Seed, log);
            model.Save(staging);
            vocabulary.Save(staging);
            WriteTrainingRecord(staging, result, throughput);
            ModelFolder.RemoveCheckpoint(staging);
        });
        timings.Add(new StageTiming("learn/base", clock.Elapsed.TotalSeconds, reused));
        if (reused) log.Info($"learn/base: reused {dir}");
        return (dir, key);
    }

    private static (string Dir, string Key) FineTune(RunContext c, string role, string fromDir, string fromKey, IReadOnlyList<QaItem> items, List<StageTiming> timings)
    {
        var (spec, template, cache, log, ct) = (c.Spec, c.Plan.Template, c.Cache, c.Log, c.Cancellation);
        var key = StageCache.Key("finetune", 2, fromKey, role, Texts(items), template.Text, spec.Model.MaxLength, Describe(spec.Learn.Target), spec.Seed);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (dir, reused) = cache.GetOrBuild("models", key, staging =>
        {
            using var model = CausalLM.Load(fromDir);
            var tokenizer = ModelTokenizer.Load(fromDir);
            var encoder = new BatchEncoder(tokenizer, template, spec.Model.MaxLength);
            log.Info($"learn/{role}: fine-tuning on {items.Count} items");
            var result = SupervisedTraining.Train(model, encoder, items, spec.Learn.Target, spec.Seed + (role == "retain" ? 1 : 0), Path.Combine(staging, "checkpoint"), log.TrainingProgress("learn/" + role), ct);
            var throughput = Throughput("learn/" + role, model, encoder, items, result, spec.Seed, log);
            model.Save(staging);
            ModelFolder.CopyTokenizerFiles(fromDir, staging);
            WriteTrainingRecord(staging, result, throughput);
            ModelFolder.RemoveCheckpoint(staging);
        });
        timings.Add(new StageTiming("learn/" + role, clock.Elapsed.TotalSeconds, reused));
        if (reused) log.Info($"learn/{role}: reused {dir}");
        return (dir, key);
    }

    private static StageThroughput Throughput(string label, CausalLM model, BatchEncoder encoder, IReadOnlyList<QaItem> items, TrainingResult result, int seed, RunLog log)
    {
        var meanLength = items.Average(i => { var (p, a) = encoder.Tokenize(i.Question, i.Answer); return p.Count + a.Count; });
        var throughput = StageThroughput.Measure(model.Config, result, meanLength, seed);
        log.Info(throughput.Describe(label));
        return throughput;
    }

    private static void WriteTrainingRecord(string dir, TrainingResult result, StageThroughput throughput) =>
        AtomicFile.WriteAllText(Path.Combine(dir, "training.json"), JsonSerializer.Serialize(new
        {
            steps = result.Steps,
            tokens_per_second = Math.Round(throughput.TokensPerSecond),
            model_gflops = Math.Round(throughput.ModelGflops, 2),
            gemm_gflops = Math.Round(throughput.GemmGflops, 2),
            step_over_gemm = Math.Round(throughput.StepOverGemm, 3),
            sequence_length = throughput.SequenceLength,
            late_throughput_ratio = throughput.LateThroughputRatio is { } r ? Math.Round(r, 3) : (double?)null,
            first_loss = result.History.Count > 0 ? result.History[0].Loss : double.NaN,
            final_loss = result.History.Count > 0 ? result.History[^1].Loss : double.NaN,
        }, AtomicFile.Json));

    /// <summary>The question/answer texts a model trains on, for stage keys (what is trained on, not where it came from).</summary>
    private static IEnumerable<string[]> Texts(IReadOnlyList<QaItem> items) => items.Select(i => new[] { i.Question, i.Answer });

    /// <summary>Trainer settings as a stable text for stage keys.</summary>
    public static string Describe(TrainerSettings s)
    {
        // Checkpoint frequency changes how often state is saved, not what is trained: keep it out of stage keys.
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(s))!.AsObject();
        node.Remove(nameof(TrainerSettings.CheckpointEvery));
        return node.ToJsonString();
    }
}
