using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Unlearn.Training;

namespace Unlearn.Host.Running;

/// <summary>Progress and log lines of a run. On a terminal: Spectre.Console progress bars with rate and ETA
/// (on stderr; stdout carries only the run folder). When stderr is not a terminal: stage lines only, no per-step
/// progress. Everything, including throttled training progress, also goes to the run's log file.</summary>
public sealed class RunLog : IDisposable
{
    private readonly TextWriter _console;
    private readonly bool _quiet;
    private StreamWriter? _file;
    private readonly List<string> _buffer = [];
    private readonly object _gate = new();
    private IAnsiConsole? _ansi;

    /// <summary>Creates a log writing to <paramref name="console"/> (stderr by default).</summary>
    public RunLog(TextWriter? console = null, bool quiet = false)
    {
        _console = console ?? Console.Error;
        _quiet = quiet;
        Interactive = console == null && !quiet && !Console.IsErrorRedirected;
    }

    /// <summary>True when progress bars are shown (stderr is a terminal and the log is not quiet).</summary>
    public bool Interactive { get; }

    /// <summary>The live progress display while one is active.</summary>
    public ProgressContext? Progress { get; private set; }

    /// <summary>Runs <paramref name="body"/> inside a live progress display when interactive, else directly.</summary>
    public T WithProgress<T>(Func<T> body)
    {
        if (!Interactive) return body();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        _ansi = console;
        return console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                Progress = ctx;
                try { return body(); }
                finally { Progress = null; }
            });
    }

    /// <summary>A progress task (a bar on a terminal; nothing otherwise).</summary>
    public ProgressTask? StartTask(string description, double total)
    {
        lock (_gate) return Progress?.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total));
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
        lock (_gate)
        {
            // During a live display, lines go through Spectre so they print above the bars.
            if (Progress != null && _ansi != null) _ansi.WriteLine(line);
            else if (!_quiet) _console.WriteLine(line);
            if (_file != null) _file.WriteLine(line); else _buffer.Add(line);
        }
    }

    /// <summary>Logs a line that is printed even with --quiet (why a run failed).</summary>
    public void Error(string message)
    {
        Info(message);
        if (_quiet) lock (_gate) _console.WriteLine(message);
    }

    /// <summary>Writes to the log file only (throttled progress when no progress bar shows it).</summary>
    public void Detail(string message)
    {
        var line = $"[{DateTime.Now:HH:mm:ss}] {message}";
        lock (_gate)
        {
            if (_file != null) _file.WriteLine(line); else _buffer.Add(line);
        }
    }

    /// <summary>A time left as m:ss, or h:mm:ss from an hour on (a long fine-tune must not read as minutes).</summary>
    public static string FormatEta(TimeSpan eta) =>
        eta.TotalHours >= 1 ? $"{(int)eta.TotalHours}:{eta:mm\\:ss}" : eta.ToString("m\\:ss", CultureInfo.InvariantCulture);

    /// <summary>A training observer that logs progress about every two seconds and at the end.</summary>
    public ITrainingObserver TrainingProgress(string label) => new TrainingProgressObserver(this, label);

    private sealed class TrainingProgressObserver(RunLog log, string label) : ITrainingObserver
    {
        private readonly Stopwatch _clock = new();
        private long _tokens;
        private int _firstStep;
        private double _lastPrint = -10;
        private ProgressTask? _task;

        public void OnStart(TrainingLoop loop)
        {
            _clock.Restart();
            _firstStep = loop.Step;
            _task = log.StartTask(label, loop.TotalSteps);
            if (_task != null) _task.Value = loop.Step;
            if (loop.Step > 0) log.Info($"{label}: resuming at step {loop.Step}/{loop.TotalSteps}");
        }

        public void OnStep(TrainingLoop loop, StepReport report)
        {
            _tokens += report.Tokens;
            var elapsed = _clock.Elapsed.TotalSeconds;
            if (_task != null)
            {
                _task.Value = report.Step;
                _task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{label} loss {report.Loss:F3} {(elapsed > 0 ? _tokens / elapsed : 0):F0} tok/s"));
            }
            if (elapsed - _lastPrint < 2 && report.Step < report.TotalSteps) return;
            _lastPrint = elapsed;
            var rate = elapsed > 0 ? _tokens / elapsed : 0;
            var stepsDone = report.Step - _firstStep;
            var eta = stepsDone > 0 ? TimeSpan.FromSeconds(elapsed / stepsDone * (report.TotalSteps - report.Step)) : TimeSpan.Zero;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{label}: step {report.Step}/{report.TotalSteps} loss {report.Loss:F4} lr {report.LearningRate:G3} {rate:F0} tok/s ETA {FormatEta(eta)}{(report.Skipped ? " (non-finite, skipped)" : "")}");
            log.Detail(line);
        }

        public void OnEnd(TrainingLoop loop)
        {
            if (_task != null) { _task.Value = _task.MaxValue; _task.StopTask(); }
            var seconds = _clock.Elapsed.TotalSeconds;
            var last = loop.History.Count > 0 ? loop.History[^1] : null;
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"{label}: {loop.Step}/{loop.TotalSteps} steps in {seconds:F1} s, {(seconds > 0 ? _tokens / seconds : 0):F0} tok/s, final loss {last?.Loss ?? double.NaN:F4}"));
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
