using Unlearn.Host.Reporting;

namespace Unlearn.Host.Running.Stages;

/// <summary>The last stage: writes the run's results into its folder (result.json first, then the manifest, summaries,
/// per-item values, curves, charts and report.md, the commit marker last; see <see cref="ResultWriter"/>). What it
/// writes is derived from the earlier stages' cached results, so re-running it costs no training or evaluation; a
/// folder whose result.json is written is finished by <c>--resume</c> from that file alone.</summary>
public sealed class ReportStage : IStage
{
    /// <inheritdoc />
    public string Name => "report";

    /// <inheritdoc />
    public void Run(RunContext context) =>
        ResultWriter.WriteAll(context.Folder, context.Spec, context.Result(), context.Started, context.Elapsed);
}
