using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unlearn.Training;

/// <summary>The loss of one micro-batch: the tensor to minimise, values to log, and answer tokens seen. With
/// <see cref="Terms"/> (tensors whose sum is <see cref="Loss"/>, e.g. of separate forward passes) the loop
/// back-propagates the terms one by one, so no pass's gradients wait in the autograd engine for another's.</summary>
public sealed record StepLoss(Tensor Loss, IReadOnlyDictionary<string, double> Logs, long Tokens, IReadOnlyList<Tensor>? Terms = null);

/// <summary>What happened in one optimiser step.</summary>
/// <param name="Step">1-based steps done.</param>
/// <param name="TotalSteps">Planned steps.</param>
/// <param name="Loss">Mean loss over the micro-batches.</param>
/// <param name="GradientNorm">Global L2 norm before clipping (NaN when the loss was not finite).</param>
/// <param name="LearningRate">Learning rate applied.</param>
/// <param name="Logs">Means of the objective's logged values.</param>
/// <param name="Tokens">Tokens processed in this step.</param>
/// <param name="Skipped">True when the loss or gradient was not finite and no update was applied.</param>
/// <param name="Seconds">Wall time of the step (forward, backward and update).</param>
/// <param name="CpuSeconds">CPU time the process spent in the step, all threads (0 when not measured).</param>
public sealed record StepReport(int Step, int TotalSteps, double Loss, double GradientNorm, double LearningRate,
    IReadOnlyDictionary<string, double> Logs, long Tokens, bool Skipped, double Seconds = 0, double CpuSeconds = 0);

/// <summary>Watches a training loop (progress display, controllers).</summary>
public interface ITrainingObserver
{
    /// <summary>Before the first step (after a resume: before the first new step).</summary>
    void OnStart(TrainingLoop loop) { }

    /// <summary>After every optimiser step.</summary>
    void OnStep(TrainingLoop loop, StepReport report);

    /// <summary>After the last step.</summary>
    void OnEnd(TrainingLoop loop) { }
}

/// <summary>How a training run ended.</summary>
/// <param name="Steps">Optimiser steps done.</param>
/// <param name="StopReason">Why it stopped early, or null when it ran all steps.</param>
/// <param name="RestoredCheckpoint">The in-memory checkpoint restored at the end, if any.</param>
/// <param name="History">Every step's report (including steps before a resume, when known).</param>
/// <param name="TokensPerSecond">Training throughput of this process's steps.</param>
public sealed record TrainingResult(int Steps, string? StopReason, string? RestoredCheckpoint, IReadOnlyList<StepReport> History, double TokensPerSecond)
{
    /// <summary>Tokens per CPU second of the last quarter of this process's steps over the first quarter (null with
    /// fewer than 8 timed steps): well below 1 means training slowed down as it went, as gradient ascent does when
    /// denormal floats are not flushed. CPU time, not wall time, so that other processes starting or stopping on a
    /// shared machine do not read as a slowdown (wall time when CPU time was not measured).</summary>
    public double? LateThroughputRatio
    {
        get
        {
            var timed = History.Where(r => r.Seconds > 0).ToList();
            if (timed.Count < 8) return null;
            var window = timed.Count / 4;
            var cpu = timed.All(r => r.CpuSeconds > 0);
            double Rate(IEnumerable<StepReport> steps) => steps.Sum(r => r.Tokens) / Math.Max(1e-9, steps.Sum(r => cpu ? r.CpuSeconds : r.Seconds));
            return Rate(timed.Skip(timed.Count - window)) / Rate(timed.Take(window));
        }
    }
}

/// <summary>The host's training loop: micro-batches with gradient accumulation, global-norm clipping, the settings'
/// optimiser (AdamW by default) with a warm-up/decay schedule, non-finite steps skipped, in-memory checkpoints for
/// controllers, and resumable on-disk checkpoints.</summary>
public sealed class TrainingLoop : IDisposable
{
    private const string StateFile = "trainer-state.bin";
    private const string HistoryFile = "trainer-history.json";
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly TrainerSettings _settings;
    private readonly IOptimizer _optimizer;
    private readonly Dictionary<string, Tensor[]> _snapshots = new(StringComparer.Ordinal);
    private readonly List<StepReport> _history = [];
    private string? _restoreAtEnd;

    /// <summary>Creates a loop over the trainable parameters.</summary>
    public TrainingLoop(IReadOnlyList<Parameter> trainable, TrainerSettings settings, int totalSteps, int warmupSteps)
    {
        if (trainable.Count == 0) throw new ArgumentException("no trainable parameters", nameof(trainable));
        _parameters = trainable;
        _settings = settings;
        TotalSteps = totalSteps;
        WarmupSteps = warmupSteps;
        _optimizer = IOptimizer.Create(trainable, settings);
    }

    /// <summary>Planned optimiser steps.</summary>
    public int TotalSteps { get; }

    /// <summary>Warm-up steps.</summary>
    public int WarmupSteps { get; }

    /// <summary>Steps done.</summary>
    public int Step { get; private set; }

    /// <summary>Multiplier on the scheduled learning rate.</summary>
    public double LearningRateScale { get; set; } = 1.0;

    /// <summary>Gradient-norm ceiling set by a controller (the smaller of this and the setting applies).</summary>
    public double? GradientNormCeiling { get; set; }

    /// <summary>Why training is stopping, once requested.</summary>
    public string? StopReason { get; private set; }

    /// <summary>Every step's report so far.</summary>
    public IReadOnlyList<StepReport> History => _history;

    /// <summary>Ends training after the current step; optionally restores an in-memory checkpoint at the end.</summary>
    public void RequestStop(string reason, string? restoreCheckpoint = null)
    {
        if (restoreCheckpoint != null && !_snapshots.ContainsKey(restoreCheckpoint))
            throw new ArgumentException($"no checkpoint named '{restoreCheckpoint}' was saved", nameof(restoreCheckpoint));
        StopReason ??= reason;
        _restoreAtEnd ??= restoreCheckpoint;
    }

    /// <summary>Copies the current weights under a tag.</summary>
    public void SaveSnapshot(string tag)
    {
        using var noGrad = no_grad();
        if (_snapshots.TryGetValue(tag, out var existing))
        {
            for (var i = 0; i < existing.Length; i++) existing[i].copy_(_parameters[i]);
            return;
        }
        _snapshots[tag] = _parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
    }

    /// <summary>True when a snapshot exists.</summary>
    public bool HasSnapshot(string tag) => _snapshots.ContainsKey(tag);

    /// <summary>Writes a snapshot's weights back into the parameters.</summary>
    public void RestoreSnapshot(string tag)
    {
        using var noGrad = no_grad();
        var saved = _snapshots[tag];
        for (var i = 0; i < saved.Length; i++) _parameters[i].copy_(saved[i]);
    }

    /// <summary>Runs the remaining steps. <paramref name="lossFor"/> gets (0-based step, micro-batch index) and
    /// must be deterministic in them so that a resumed run sees the same batches. With a
    /// <paramref name="checkpointDir"/>, an existing checkpoint there is resumed first, one is written every
    /// <see cref="TrainerSettings.CheckpointEvery"/> steps and when cancelled (then the cancellation is rethrown).</summary>
    public TrainingResult Run(Func<int, int, StepLoss> lossFor, ITrainingObserver? observer, CancellationToken cancellationToken, string? checkpointDir = null)
    {
        if (checkpointDir != null) TryResume(checkpointDir);
        observer?.OnStart(this);
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        while (Step < TotalSteps && StopReason == null)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                if (checkpointDir != null) SaveCheckpoint(checkpointDir);
                cancellationToken.ThrowIfCancellationRequested();
            }
            var report = RunStep(lossFor);
            tokens += report.Tokens;
            _history.Add(report);
            observer?.OnStep(this, report);
            if (checkpointDir != null && _settings.CheckpointEvery > 0 && Step % _settings.CheckpointEvery == 0 && Step < TotalSteps)
                SaveCheckpoint(checkpointDir);
        }
        if (_restoreAtEnd != null) RestoreSnapshot(_restoreAtEnd);
        observer?.OnEnd(this);
        var seconds = clock.Elapsed.TotalSeconds;
        return new TrainingResult(Step, StopReason, _restoreAtEnd, _history.ToList(), seconds > 0 ? tokens / seconds : 0);
    }

    private StepReport RunStep(Func<int, int, StepLoss> lossFor)
    {
        var clock = Stopwatch.StartNew();
        var cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        foreach (var p in _parameters) p.grad?.zero_();
        var accumulation = _settings.GradientAccumulation;
        double lossSum = 0;
        long tokens = 0;
        var logs = new Dictionary<string, double>(StringComparer.Ordinal);
        var finite = true;
        for (var micro = 0; micro < accumulation; micro++)
        {
            using var scope = NewDisposeScope();
            var stepLoss = lossFor(Step, micro);
            var value = stepLoss.Loss.item<float>();
            if (!double.IsFinite(value)) { finite = false; lossSum = value; break; }
            var terms = stepLoss.Terms ?? [stepLoss.Loss];
            // Terms may share part of a graph, so all but the last keep theirs for the next.
            for (var i = 0; i < terms.Count; i++)
                (terms[i] / accumulation).backward(retain_graph: i < terms.Count - 1);
            lossSum += value;
            tokens += stepLoss.Tokens;
            foreach (var (k, v) in stepLoss.Logs) logs[k] = logs.GetValueOrDefault(k) + v / accumulation;
        }
        var lr = _settings.LearningRateAt(Step, TotalSteps, WarmupSteps) * LearningRateScale;
        double norm = double.NaN;
        if (finite)
        {
            norm = GlobalNorm();
            finite = double.IsFinite(norm);
        }
        if (finite)
        {
            var ceiling = _settings.MaxGradNorm > 0 ? _settings.MaxGradNorm : double.PositiveInfinity;
            if (GradientNormCeiling is { } c) ceiling = Math.Min(ceiling, c);
            if (norm > ceiling) ScaleGradients(ceiling / (norm + 1e-6));
            _optimizer.Step(lr);
        }
        foreach (var p in _parameters) p.grad?.zero_();
        Step++;
        var meanLoss = finite ? lossSum / accumulation : lossSum;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuStart).TotalSeconds;
        return new StepReport(Step, TotalSteps, meanLoss, norm, lr, logs, tokens, Skipped: !finite, clock.Elapsed.TotalSeconds, cpu);
    }

    private double GlobalNorm()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor? sum = null;
        foreach (var p in _parameters)
        {
            if (p.grad is null) continue;
            // Each tensor's norm is reduced in place (no squared copy of the gradient); the inner scope frees the
            // partial results as it goes.
            using var inner = NewDisposeScope();
            var sq = p.grad.norm().square();
            sum = (sum is null ? sq : sum + sq).MoveToOuterDisposeScope();
        }
        return sum is null ? 0 : Math.Sqrt(sum.item<float>());
    }

    private void ScaleGradients(double factor)
    {
        using var noGrad = no_grad();
        foreach (var p in _parameters) p.grad?.mul_(factor);
    }

    /// <summary>Writes weights, optimiser state and progress to <paramref name="dir"/> atomically.</summary>
    public void SaveCheckpoint(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, StateFile);
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        using (var stream = File.Create(temp))
        using (var writer = new BinaryWriter(stream))
        {
            var header = JsonSerializer.Serialize(new CheckpointHeader(Step, _optimizer.Steps, LearningRateScale, _parameters.Count, TotalSteps));
            writer.Write(header);
            foreach (var p in _parameters) p.detach().Save(writer);
            foreach (var (_, t) in _optimizer.State()) t.Save(writer);
        }
        File.Move(temp, path, overwrite: true);
        AtomicFile.WriteAllText(Path.Combine(dir, HistoryFile), JsonSerializer.Serialize(_history, AtomicFile.Json));
    }

    /// <summary>Loads a checkpoint from <paramref name="dir"/> when one exists; returns whether it did.</summary>
    public bool TryResume(string dir)
    {
        var path = Path.Combine(dir, StateFile);
        if (!File.Exists(path)) return false;
        // The history is read first: a checkpoint whose history cannot be read (written by a process killed mid-write
        // before writes were atomic, or damaged since) is not resumed but started over, instead of failing every run.
        var historyPath = Path.Combine(dir, HistoryFile);
        List<StepReport>? history = null;
        if (File.Exists(historyPath))
        {
            try { history = JsonSerializer.Deserialize<List<StepReport>>(File.ReadAllText(historyPath), AtomicFile.Json); }
            catch (JsonException) { return false; }
        }
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        var header = JsonSerializer.Deserialize<CheckpointHeader>(reader.ReadString())
            ?? throw new InvalidDataException($"{path}: unreadable trainer checkpoint header.");
        if (header.Parameters != _parameters.Count || header.TotalSteps != TotalSteps)
            throw new InvalidDataException($"{path}: the checkpoint was written for another training setup ({header.Parameters} parameters, {header.TotalSteps} steps; now {_parameters.Count}, {TotalSteps}). Delete the folder to start over.");
        using (no_grad())
        {
            foreach (var p in _parameters) p.Load(reader);
            foreach (var (_, t) in _optimizer.State()) t.Load(reader);
        }
        _optimizer.SetSteps(header.OptimizerSteps);
        Step = header.Step;
        LearningRateScale = header.LearningRateScale;
        if (history != null) { _history.Clear(); _history.AddRange(history.Take(Step)); }
        return true;
    }

    private sealed record CheckpointHeader(int Step, long OptimizerSteps, double LearningRateScale, int Parameters, int TotalSteps);

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
        foreach (var snapshot in _snapshots.Values) foreach (var t in snapshot) t.Dispose();
    }
}
