using Unlearn.Models;

namespace Unlearn.Host.Running.Stages;

/// <summary><c>report.save_model</c>: the calibrated and/or unlearned model as Hugging Face folders under the run
/// folder's <c>models/</c>, each built beside its place and renamed into it (a folder an earlier attempt finished is kept).</summary>
public sealed class SaveModelsStage : IStage
{
    /// <inheritdoc />
    public string Name => "save-models";

    /// <inheritdoc />
    public void Run(RunContext context)
    {
        foreach (var role in context.Spec.Report.SaveModels)
        {
            if (!context.HasModel(role)) continue; // a diverged run has neither
            var target = Path.Combine(context.ModelsFolder, role);
            if (!Directory.Exists(target))
            {
                var staging = target + ".partial";
                if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
                context.Model(role).Save(staging);
                ModelFolder.CopyTokenizerFiles(context.Learned.TargetDir, staging);
                Directory.Move(staging, target);
            }
            context.ModelFolders[role] = target;
            context.Log.Info($"report: {role} model saved as a Hugging Face folder: {target}");
        }
    }
}
