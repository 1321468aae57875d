using System.Diagnostics;
using System.Globalization;
using Unlearn.Training;

namespace Unlearn.Host.Running;

/// <summary>Progress and log lines of a run: to the console (throttled progress lines with rate and ETA when
/// training) and to the run's log file.</summary>
public sealed class RunLog : IDisposable
{
    private readonly TextWriter _console;
    private readonly bool _quiet;
    private StreamWriter? _file;
    private readonly List<string> _buffer = [];

    /// <summary>Creates a log writing to <paramref name="console"/> (stderr by default).</summary>
    public RunLog(TextWriter? console = null, bool quiet = false)
    {
        _console = console ?? Console.Error;
        _quiet = quiet;
    }

    /// <summary>Starts writing to a file too (lines logged before are written first).</summary>
    public void AttachFile(string path)
    {
        _file = new StreamWriter(path, append: true) { AutoFlush = true };
        foreach (var line in _buffer) _file.WriteLine(line);
        _buffer.Clear();
    }

    /// <summary>Logs one line.</summary>
    public void Info(string message)
    {
        var line = $"[{DateTime.Now:HH:mm:ss}] {message}";
        if (!_quiet) _console.WriteLine(line);
        if (_file != null) _file.WriteLine(line); else _buffer.Add(line);
    }

    /// <summary>A training observer that logs progress about every two seconds and at the end.</summary>
    public ITrainingObserver TrainingProgress(string label) => new TrainingProgressObserver(this, label);

    private sealed class TrainingProgressObserver(RunLog log, string label) : ITrainingObserver
    {
        private readonly Stopwatch _clock = new();
        private long _tokens;
        private int _firstStep;
        private double _lastPrint = -10;

        public void OnStart(TrainingLoop loop)
        {
            _clock.Restart();
            _firstStep = loop.Step;
            if (loop.Step > 0) log.Info($"{label}: resuming at step {loop.Step}/{loop.TotalSteps}");
        }

        public void OnStep(TrainingLoop loop, StepReport report)
        {
            _tokens += report.Tokens;
            var elapsed = _clock.Elapsed.TotalSeconds;
            if (elapsed - _lastPrint < 2 && report.Step < report.TotalSteps) return;
            _lastPrint = elapsed;
            var rate = elapsed > 0 ? _tokens / elapsed : 0;
            var stepsDone = report.Step - _firstStep;
            var eta = stepsDone > 0 ? TimeSpan.FromSeconds(elapsed / stepsDone * (report.TotalSteps - report.Step)) : TimeSpan.Zero;
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"{label}: step {report.Step}/{report.TotalSteps} loss {report.Loss:F4} lr {report.LearningRate:G3} {rate:F0} tok/s ETA {eta:mm\\:ss}{(report.Skipped ? " (non-finite, skipped)" : "")}"));
        }

        public void OnEnd(TrainingLoop loop)
        {
            if (loop.StopReason != null) log.Info($"{label}: stopped at step {loop.Step}: {loop.StopReason}");
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file?.Dispose();
}

/// <summary>Several observers as one.</summary>
public sealed class CompositeObserver(params ITrainingObserver[] observers) : ITrainingObserver
{
    /// <inheritdoc />
    public void OnStart(TrainingLoop loop) { foreach (var o in observers) o.OnStart(loop); }
    /// <inheritdoc />
    public void OnStep(TrainingLoop loop, StepReport report) { foreach (var o in observers) o.OnStep(loop, report); }
    /// <inheritdoc />
    public void OnEnd(TrainingLoop loop) { foreach (var o in observers) o.OnEnd(loop); }
}
