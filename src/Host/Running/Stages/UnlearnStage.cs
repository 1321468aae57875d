using System.Text.Json;
using Unlearn.Host.Configuration;
using Unlearn.Host.Evaluation;
using Unlearn.Host.Plugins;
using Unlearn.Models;
using Unlearn.Plugins;
using Unlearn.Text;
using Unlearn.Training;
using static TorchSharp.torch;

namespace Unlearn.Host.Running.Stages;

/// <summary>The unlearn stage: the objective inside the host's training loop, controllers observing every step.</summary>
public sealed class UnlearnStage : IStage
{
    /// <summary>File holding the <see cref="UnlearnRecord"/> inside the stage folder.</summary>
    public const string RecordFile = "unlearn.json"; // one of ModelFolder.RecordFiles

    /// <inheritdoc />
    public string Name => "unlearn";

    /// <inheritdoc />
    public void Run(RunContext context)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var key = Key(context);
        var (dir, reused) = context.Cache.GetOrBuild("unlearned", key, staging => Build(context, staging));
        if (reused) context.Log.Info($"unlearn: reused {dir}");
        var record = JsonSerializer.Deserialize<UnlearnRecord>(File.ReadAllText(Path.Combine(dir, RecordFile)), AtomicFile.Json)!;
        context.Timings.Add(new StageTiming(Name, clock.Elapsed.TotalSeconds, reused));
        context.ModelFolders[ModelRoles.Unlearned] = dir;
        context.ModelKeys[ModelRoles.Unlearned] = key;
        context.StageKeys[Name] = key;
        context.Unlearning = record;
        if (record.StopReason != null) context.Log.Info($"unlearn: stopped early at step {record.Steps}/{record.PlannedSteps}: {record.StopReason}");
        context.Failure = Divergence(record);
        if (context.Failure != null) context.Log.Info($"unlearn: {context.Failure}; the unlearned model is neither calibrated nor evaluated");
    }

    /// <summary>Why the unlearned model is unusable, or null: a step whose loss or gradient was not finite (the loop
    /// skipped its update, and every later step of a diverged model is skipped alike) that no controller answered by
    /// restoring a checkpoint (as divergence-guard does).</summary>
    public static string? Divergence(UnlearnRecord record)
    {
        if (record.RestoredCheckpoint != null || record.History.FirstOrDefault(h => h.Skipped) is not { } first) return null;
        var skipped = record.History.Count(h => h.Skipped);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"unlearning diverged at step {first.Step}/{record.PlannedSteps}: loss {first.Loss:G6}, gradient norm {first.GradientNorm:G6} ({skipped} of {record.History.Count} steps not finite). Lower unlearn.trainer.lr, or add 'controls: [divergence-guard]' to stop and restore the last good weights");
    }

    /// <summary>The stage key: what the unlearned weights depend on.</summary>
    private static string Key(RunContext c)
    {
        var (spec, method) = (c.Spec, c.Plan.Method!);
        return StageCache.Key("unlearn", 2, c.Learned.TargetKey, c.Data.Key, spec.Data.Forget, c.Plan.Template.Text, spec.Model.MaxLength,
            method.Descriptor.Name, method.OptionsJson, method.Descriptor.Assembly.Sha256,
            LearnStage.Describe(spec.Unlearn!.Trainer), spec.Unlearn.RetainBatchSize, spec.Unlearn.Adapter, spec.Seed,
            // Each controller with the metrics it measures with (as evaluate.metrics gives them).
            c.Plan.Controls.Select(p => new object[] { p.Descriptor.Name, p.OptionsJson, p.Descriptor.Assembly.Sha256, c.Plan.MetricsMeasuredBy(p).ToList() }).ToList());
    }

    private static void Build(RunContext c, string staging)
    {
        var (spec, template, models, data, method, controls, log, ct) = (c.Spec, c.Plan.Template, c.Learned, c.Data, c.Plan.Method!, c.Plan.Controls, c.Log, c.Cancellation);
        var settings = spec.Unlearn!.Trainer;
        var forget = data.Get("train_forget", spec.Data);
        var retainItems = data.Splits.TryGetValue("train_retain", out var r) ? r.Items : [];
        var (tokenizer, encoder) = (c.Tokenizer, c.Encoder);
        using var model = CausalLM.Load(models.TargetDir);
        var objective = PluginRegistry.CreateWithOptions<IObjective>(method.Descriptor, method.Options);
        var needs = objective.Needs;
        if (needs.HasFlag(ObjectiveNeeds.RetainBatch) && retainItems.Count == 0)
            throw new PipelineException(spec.Unlearn.Method.Location, "unlearn.method", $"'{method.Descriptor.Name}' needs retain batches, but the train_retain split is missing or empty.");

        CausalLM? reference = null;
        LoraAdapter? adapter = null;
        // The frozen reference is loaded outside any dispose scope (never inside a training step, whose scope would
        // free its weights): eagerly when the objective needs it, lazily for controllers, which run between steps.
        CausalLM Reference()
        {
            if (reference != null) return reference;
            // Held in the checkpoint's dtype (half of float32 for a bf16 checkpoint), its passes equal the float32 model's.
            return reference = CausalLM.LoadFrozen(models.TargetDir);
        }
        if (needs.HasFlag(ObjectiveNeeds.ReferenceModel)) Reference();
        try
        {
            IReadOnlyList<double>? referenceForgetLoss = null;
            if (needs.HasFlag(ObjectiveNeeds.ReferenceForgetLoss))
            {
                referenceForgetLoss = AnswerScorer.Score(model, encoder, tokenizer.PadId, forget.Items.Select(i => (i.Question, i.Answer)).ToList(), 32, ct)
                    .Select(s => s.Nll).ToList();
                log.Info($"unlearn: reference forget NLL computed once for {referenceForgetLoss.Count} items");
            }
            PluginCall.Run(method.Descriptor, "Prepare", () => objective.Prepare(new ObjectiveSetup(model, encoder, tokenizer, forget, spec.Seed)));
            var selected = objective.SelectTrainable(model)?.ToList();
            if (spec.Unlearn.Adapter is { } lora)
            {
                if (selected != null)
                    throw new PipelineException(spec.Unlearn.Method.Location, "unlearn.adapter", $"'{method.Descriptor.Name}' trains its own choice of weights, which a LoRA adapter cannot replace. Remove unlearn.adapter or use another method.");
                try { adapter = LoraAdapter.Create(model, lora, spec.Seed); }
                catch (ArgumentException e) { throw new PipelineException(spec.Unlearn.Method.Location, "unlearn.adapter", e.Message.Replace("lora: ", "", StringComparison.Ordinal) + "."); }
            }
            var trainable = adapter?.Parameters.ToList() ?? selected ?? model.parameters().ToList();
            var trainableSet = new HashSet<IntPtr>(trainable.Select(p => p.Handle));
            foreach (var p in model.parameters()) p.requires_grad = trainableSet.Contains(p.Handle);
            var controllers = controls.Select(c => (c.Descriptor, Controller: PluginRegistry.CreateWithOptions<IController>(c.Descriptor, c.Options))).ToList();

            manual_seed(spec.Seed);
            model.train();
            model.GradientCheckpointing = settings.GradientCheckpointing;
            var total = settings.TotalSteps(forget.Items.Count);
            var forgetSequences = forget.Items.Select(i => encoder.Tokenize(i.Question, i.Answer)).ToArray();
            var forgetBatches = new EpochBatches(forget.Items.Count, settings.BatchSize, spec.Seed,
                settings.GroupByLength ? forgetSequences.Select(s => s.Prompt.Count + s.Answer.Count).ToArray() : null);
            var retainBatch = spec.Unlearn.RetainBatchSize > 0 ? spec.Unlearn.RetainBatchSize : settings.BatchSize;
            using var loop = new TrainingLoop(trainable, settings, total, settings.WarmupStepCount(forget.Items.Count));
            var trajectory = new List<TrajectoryPoint>();
            var controllerContext = new HostControllerContext(loop, model, c.Setup, Reference, trajectory);
            var observer = new CompositeObserver(log.TrainingProgress($"unlearn/{method.Descriptor.Name}"), new ControllerObserver(controllers, controllerContext));
            log.Info($"unlearn: {method.Descriptor.Name} on {forget.Items.Count} forget items, {total} steps, {trainable.Sum(p => p.numel()):N0} trainable parameters");
            var result = loop.Run((step, micro) =>
            {
                var batchIndices = forgetBatches.At(step, settings.GradientAccumulation, micro);
                var forgetItems = batchIndices.Select(i => forget.Items[i]).ToList();
                TokenBatch? retain = null;
                IReadOnlyList<QaItem>? retainRows = null;
                if (needs.HasFlag(ObjectiveNeeds.RetainBatch))
                {
                    var random = new Random(HashCode.Combine(spec.Seed, step, micro, 7));
                    retainRows = Enumerable.Range(0, retainBatch).Select(_ => retainItems[random.Next(retainItems.Count)]).ToList();
                    retain = encoder.Encode(retainRows.Select(i => (i.Question, i.Answer)).ToList());
                }
                var batch = new UnlearnBatch
                {
                    Forget = encoder.Collate(batchIndices.Select(i => forgetSequences[i]).ToList()),
                    ForgetItems = forgetItems, ForgetIndices = batchIndices, Retain = retain, RetainItems = retainRows,
                };
                var context = new ObjectiveContext
                {
                    Model = model,
                    Reference = reference,
                    ReferenceForgetLoss = referenceForgetLoss, Encoder = encoder,
                    Random = new Random(HashCode.Combine(spec.Seed, step, micro)), Step = step,
                };
                var loss = PluginCall.Run(method.Descriptor, "ComputeLoss", () => objective.ComputeLoss(context, batch));
                var tokens = batch.Forget.AttentionMask.sum().item<long>() + (retain?.AttentionMask.sum().item<long>() ?? 0);
                return new StepLoss(loss.Loss, loss.Logs, tokens, loss.Terms);
            }, observer, ct, Path.Combine(staging, "checkpoint"));
            model.eval();
            model.GradientCheckpointing = false;
            foreach (var p in model.parameters()) p.requires_grad = true;
            var throughput = StageThroughput.Measure(model.Config, result, forgetSequences.Average(s => s.Prompt.Count + s.Answer.Count), spec.Seed);
            log.Info(throughput.Describe($"unlearn/{method.Descriptor.Name}"));
            if (adapter != null) adapter.Save(staging, models.TargetDir);
            else model.Save(staging);
            ModelFolder.CopyTokenizerFiles(models.TargetDir, staging);
            var record = new UnlearnRecord(result.Steps, total, result.StopReason, result.RestoredCheckpoint, result.TokensPerSecond, result.History, trajectory, throughput);
            AtomicFile.WriteAllText(Path.Combine(staging, RecordFile), JsonSerializer.Serialize(record, AtomicFile.Json));
            ModelFolder.RemoveCheckpoint(staging);
        }
        finally
        {
            adapter?.Dispose();
            reference?.Dispose();
        }
    }

    private sealed class ControllerObserver(IReadOnlyList<(PluginDescriptor Descriptor, IController Controller)> controllers, HostControllerContext context) : ITrainingObserver
    {
        public void OnStart(TrainingLoop loop) { foreach (var (d, c) in controllers) PluginCall.Run(d, "OnTrainingStart", () => c.OnTrainingStart(context)); }

        public void OnStep(TrainingLoop loop, StepReport report)
        {
            context.Current = report;
            foreach (var (d, c) in controllers) PluginCall.Run(d, $"OnStepEnd at step {report.Step}", () => c.OnStepEnd(context));
        }

        public void OnEnd(TrainingLoop loop) { foreach (var (d, c) in controllers) PluginCall.Run(d, "OnTrainingEnd", () => c.OnTrainingEnd(context)); }
    }
}

/// <summary>The host's <see cref="ControllerContext"/> over a <see cref="TrainingLoop"/>.</summary>
public sealed class HostControllerContext(
    TrainingLoop loop, CausalLM model,
    Func<int?, EvaluationSetup> probeSetup, Func<CausalLM> original, List<TrajectoryPoint> trajectory) : ControllerContext
{
    private readonly Dictionary<(string, string, int?), double> _originalValues = [];

    /// <summary>The latest step report.</summary>
    public StepReport? Current { get; set; }

    /// <inheritdoc />
    public override int Step => loop.Step;
    /// <inheritdoc />
    public override int TotalSteps => loop.TotalSteps;
    /// <inheritdoc />
    public override double Loss => Current?.Loss ?? double.NaN;
    /// <inheritdoc />
    public override double GradientNorm => Current?.GradientNorm ?? double.NaN;
    /// <inheritdoc />
    public override double LearningRate => Current?.LearningRate ?? 0;
    /// <inheritdoc />
    public override double LearningRateScale { get => loop.LearningRateScale; set => loop.LearningRateScale = value; }
    /// <inheritdoc />
    public override double? GradientNormCeiling { get => loop.GradientNormCeiling; set => loop.GradientNormCeiling = value; }

    /// <inheritdoc />
    public override double Evaluate(string metric, string split, int? maxItems = null)
    {
        var wasTraining = model.training;
        try
        {
            var evaluator = new ModelEvaluator("current", () => model, probeSetup(maxItems), _ => null, CancellationToken.None);
            return evaluator.Result(metric, split).Value;
        }
        finally { if (wasTraining) model.train(); }
    }

    /// <inheritdoc />
    public override double EvaluateOriginal(string metric, string split, int? maxItems = null)
    {
        if (_originalValues.TryGetValue((metric, split, maxItems), out var v)) return v;
        var reference = original();
        var evaluator = new ModelEvaluator("original", () => reference, probeSetup(maxItems), _ => null, CancellationToken.None);
        return _originalValues[(metric, split, maxItems)] = evaluator.Result(metric, split).Value;
    }

    /// <inheritdoc />
    public override void SaveCheckpoint(string tag) => loop.SaveSnapshot(tag);
    /// <inheritdoc />
    public override bool HasCheckpoint(string tag) => loop.HasSnapshot(tag);
    /// <inheritdoc />
    public override void RequestStop(string reason, string? restoreCheckpoint = null) => loop.RequestStop(reason, restoreCheckpoint);
    /// <inheritdoc />
    public override void Record(string key, double value) => trajectory.Add(new TrajectoryPoint(loop.Step, key, value));
}
