using System.Runtime.InteropServices;

namespace Unlearn.Host.Running;

/// <summary>Turns Ctrl-C and SIGTERM (a scheduler ending the job) into a cancellation: the run stops after the current
/// step, keeping finished stages and checkpoints; a second Ctrl-C ends the process.</summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly ConsoleCancelEventHandler _onCancel;
    private readonly PosixSignalRegistration _onTerminate;

    /// <summary>Starts listening; <paramref name="log"/> says when a signal came.</summary>
    public StopSignals(RunLog log)
    {
        _onCancel = (_, e) =>
        {
            if (_cts.IsCancellationRequested) return; // a second Ctrl-C ends the process
            e.Cancel = true;
            log.Info("interrupt received: stopping after the current step (finished stages are kept)...");
            _cts.Cancel();
        };
        Console.CancelKeyPress += _onCancel;
        _onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            if (!_cts.IsCancellationRequested) { log.Info("termination signal: stopping after the current step..."); _cts.Cancel(); }
        });
    }

    /// <summary>Cancelled when a signal came.</summary>
    public CancellationToken Token => _cts.Token;

    /// <inheritdoc />
    public void Dispose()
    {
        Console.CancelKeyPress -= _onCancel;
        _onTerminate.Dispose();
        _cts.Dispose();
    }
}
