using System.Globalization;
using Cocona;
using Unlearn.Host.Evaluation;
using Unlearn.Host.Plugins;

namespace Unlearn.Host.Cli;

/// <summary><c>dotnet unlearn bench-es</c>: exact Extraction Strength in one teacher-forced pass against its
/// generation-based definition, on the same model and a 200-item split, measured in one run.</summary>
public sealed class EsBenchCommand(CommandOutcome outcome)
{
    /// <summary>Runs the comparison.</summary>
    [Command("bench-es", Description = "Time ES in one teacher-forced pass against generation-based ES on the built-in world's 200-item split.")]
    public int BenchEs(
        [Option("model", Description = "A trained model folder (default: a fresh built-in model; the timing does not depend on the weights)")] string? model = null,
        [Option("architecture", Description = "Built-in architecture when no --model is given")] string architecture = "tiny",
        [Option("plugins", Description = "Extra plugin folder (repeatable)")] string[]? plugins = null)
    {
        outcome.Ran = true;
        return Commands.Guard(() =>
        {
            var registry = PluginLoader.LoadRegistry(plugins ?? [], []);
            var t = ExtractionStrengthBenchmark.Run(registry, architecture, modelDir: model);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ES on {t.Items} items: one pass {t.OnePassSeconds:F3} s (ES {t.OnePassValue:F4}), generation-based {t.GenerationSeconds:F3} s (ES {t.GenerationValue:F4}); one pass is {t.Speedup:F1}x faster."));
            return Math.Abs(t.OnePassValue - t.GenerationValue) < 1e-9 ? ExitCodes.Success : ExitCodes.RunFailure;
        });
    }
}
