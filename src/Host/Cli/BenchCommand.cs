using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Cocona;
using Unlearn.Models;
using Unlearn.Models.Benchmarks;
using Unlearn.Training;

namespace Unlearn.Host.Cli;

/// <summary>One architecture's benchmark in the output of <c>dotnet unlearn bench</c>.</summary>
/// <param name="Architecture">Built-in architecture name ("tiny", "small", "medium").</param>
/// <param name="VocabSize">Vocabulary size the model was built with.</param>
/// <param name="Result">What <see cref="ModelBenchmark"/> measured.</param>
public sealed record ArchitectureBenchmark(string Architecture, int VocabSize, ModelBenchmarkResult Result);

/// <summary>The whole output of <c>dotnet unlearn bench</c>: the machine and one entry per architecture.</summary>
/// <param name="Date">When the run started (UTC, ISO 8601).</param>
/// <param name="Machine">OS, CPU architecture and logical cores.</param>
/// <param name="LogicalCores">Environment.ProcessorCount.</param>
/// <param name="DenormalsFlushed">Whether denormal floats were flushed to zero (see <see cref="DenormalControl"/>).</param>
/// <param name="Architectures">One measurement per architecture, in the order asked for.</param>
public sealed record BenchReport(string Date, string Machine, int LogicalCores, bool DenormalsFlushed, IReadOnlyList<ArchitectureBenchmark> Architectures);

/// <summary><c>dotnet unlearn bench</c>: how fast the built-in model sizes train and run on this machine, against the
/// machine's own GEMM rate, and whether gradient ascent slows down late in a run (denormals).</summary>
public sealed class BenchCommand(CommandOutcome outcome)
{
    /// <summary>Runs the benchmark.</summary>
    [Command("bench", Description = "Measure training/forward tokens/s of the built-in architectures, the GEMM rate, and late-ascent throughput.")]
    public int Bench(
        [Option("architectures", Description = "Comma-separated built-in architectures")] string architectures = "tiny,small",
        [Option("vocab", Description = "Vocabulary size (the quickstart world's compact vocabulary is about 900)")] int vocab = 900,
        [Option("batch", Description = "Sequences per step")] int batch = 16,
        [Option("seq-len", Description = "Tokens per sequence")] int seqLen = 128,
        [Option("steps", Description = "Timed training steps (as many forward passes, twice as many ascent steps)")] int steps = 8,
        [Option("no-flush-denormal", Description = "Leave denormal floats on (to see the slowdown flushing avoids)")] bool noFlushDenormal = false,
        [Option("seed", Description = "Seed for weights and tokens")] int seed = 0,
        [Option("json", Description = "Print the measurements as JSON")] bool json = false,
        [Option("model", Description = "Benchmark this Hugging Face model folder instead: load time, unlearning step time, tokens/s, model FLOP rate against GEMM, peak RSS")] string? model = null,
        [Option("method", Description = "With --model: the objective timed (ga: gradient ascent on random tokens)")] string method = "ga",
        [Option("optimizer", Description = "With --model: adamw, adamw-bf16-state or sgd")] string optimizer = "adamw",
        [Option("gradient-checkpointing", Description = "With --model: recompute each decoder layer in backward")] bool gradientCheckpointing = false,
        [Option("lora-rank", Description = "With --model: train LoRA adapters of this rank on q_proj and v_proj instead of the weights (0: all weights)")] int loraRank = 0,
        [Option("make-random-model", Description = "Write a random TinyLlama-shaped llama folder (BF16 weights) here and exit; needs --tokenizer-from")] string? makeRandomModel = null,
        [Option("tokenizer-from", Description = "With --make-random-model: a folder whose tokenizer files are copied")] string? tokenizerFrom = null)
    {
        outcome.Ran = true;
        if (makeRandomModel != null)
        {
            if (tokenizerFrom == null) { Console.Error.WriteLine("error: --make-random-model needs --tokenizer-from FOLDER (a model folder with tokenizer files)"); return ExitCodes.BadInput; }
            return Commands.Guard(() =>
            {
                ModelFolderBench.WriteRandomModel(makeRandomModel, ModelFolderBench.TinyLlama, tokenizerFrom, seed);
                Console.WriteLine(makeRandomModel);
                return ExitCodes.Success;
            });
        }
        if (model != null) return BenchFolder(model, method, optimizer, gradientCheckpointing, loraRank, batch, seqLen, steps, seed, json);
        var names = architectures.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var problems = Problems(names, vocab, batch, seqLen, steps);
        if (problems.Count > 0)
        {
            foreach (var problem in problems) Console.Error.WriteLine("error: " + problem);
            return ExitCodes.BadInput;
        }
        return Commands.Guard(() =>
        {
            using var cts = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
            Console.CancelKeyPress += onCancel;
            try
            {
                var date = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                var flushed = DenormalControl.TrySetFlushDenormal(!noFlushDenormal) && !noFlushDenormal;
                var benchmark = new ModelBenchmark { Seed = seed };
                var measured = new List<ArchitectureBenchmark>();
                foreach (var name in names)
                {
                    var config = TransformerConfig.BuiltIn(name, vocab);
                    if (!json) Console.Error.WriteLine($"bench: {name} (vocab {vocab}, batch {batch} x {seqLen}, {steps} steps) ...");
                    measured.Add(new ArchitectureBenchmark(name, vocab, benchmark.Run(config, batch, seqLen, steps, cts.Token)));
                }
                var report = new BenchReport(date, MachineDescription(), Environment.ProcessorCount, flushed, measured);
                Console.WriteLine(json ? ToJson(report) : ToTable(report));
                return ExitCodes.Success;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("bench interrupted.");
                return ExitCodes.Interrupted;
            }
            finally { Console.CancelKeyPress -= onCancel; }
        });
    }

    private static int BenchFolder(string model, string method, string optimizer, bool gradientCheckpointing, int loraRank, int batch, int seqLen, int steps, int seed, bool json)
    {
        var problems = new List<string>();
        if (method != "ga") problems.Add($"--method: '{method}' is not timed by bench --model; use ga");
        var kinds = Enum.GetValues<OptimizerKind>().ToDictionary(k => Configuration.OptionsBinder.ToSnakeCase(k.ToString()).Replace('_', '-'));
        if (!kinds.TryGetValue(optimizer, out var kind)) problems.Add($"--optimizer: '{optimizer}' is not one of {string.Join(", ", kinds.Keys)}");
        if (loraRank < 0) problems.Add($"--lora-rank must be >= 0, got {loraRank}");
        if (batch <= 0) problems.Add($"--batch must be > 0, got {batch}");
        if (seqLen < 2) problems.Add($"--seq-len must be >= 2, got {seqLen}");
        if (steps <= 0) problems.Add($"--steps must be > 0, got {steps}");
        if (problems.Count > 0)
        {
            foreach (var problem in problems) Console.Error.WriteLine("error: " + problem);
            return ExitCodes.BadInput;
        }
        return Commands.Guard(() =>
        {
            DenormalControl.TrySetFlushDenormal(true);
            var settings = new TrainerSettings
            {
                Lr = 1e-5, Epochs = 1, BatchSize = batch, WarmupSteps = 0, Schedule = LearningRateSchedule.Constant,
                MaxSteps = steps + 1, Optimizer = kind, GradientCheckpointing = gradientCheckpointing,
            };
            var setup = $"{method}, batch {batch} x {seqLen}, {steps} timed steps, {optimizer}{(gradientCheckpointing ? ", gradient checkpointing" : "")}{(loraRank > 0 ? $", LoRA r={loraRank} on q_proj, v_proj" : "")}";
            if (!json) Console.Error.WriteLine($"bench: {model}: {setup} ...");
            var result = ModelFolderBench.Run(model, settings, loraRank, batch, seqLen, steps, seed, CancellationToken.None);
            Console.WriteLine(json ? JsonSerializer.Serialize(new { model, setup, result }, new JsonSerializerOptions { WriteIndented = true }) : ModelFolderBench.ToTable(model, setup, result));
            return ExitCodes.Success;
        });
    }

    /// <summary>The report as indented JSON (camelCase names; the ascent ratio included).</summary>
    public static string ToJson(BenchReport report) => JsonSerializer.Serialize(new
    {
        date = report.Date,
        machine = report.Machine,
        logicalCores = report.LogicalCores,
        flushDenormal = report.DenormalsFlushed,
        architectures = report.Architectures.Select(a => new
        {
            architecture = a.Architecture,
            vocabSize = a.VocabSize,
            parameters = a.Result.Parameters,
            batch = a.Result.Batch,
            sequenceLength = a.Result.SequenceLength,
            threads = a.Result.Threads,
            trainingTokensPerSecond = a.Result.TrainingTokensPerSecond,
            forwardTokensPerSecond = a.Result.ForwardTokensPerSecond,
            gemmGflops = a.Result.GemmGflops,
            modelTrainingGflops = a.Result.ModelTrainingGflops,
            trainingVsGemm = a.Result.EfficiencyVsGemm,
            ascentFirstWindowTokensPerSecond = a.Result.AscentFirstWindowTokensPerSecond,
            ascentLastWindowTokensPerSecond = a.Result.AscentLastWindowTokensPerSecond,
            ascentThroughputRatio = a.Result.AscentThroughputRatio,
            ascentFinalLoss = a.Result.AscentFinalLoss,
        }),
    }, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>The report as an aligned text table, one column per architecture.</summary>
    public static string ToTable(BenchReport report)
    {
        var rows = new List<(string Label, Func<ModelBenchmarkResult, string> Value)>
        {
            ("parameters", r => (r.Parameters / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " M"),
            ("batch x tokens", r => $"{r.Batch} x {r.SequenceLength}"),
            ("threads", r => r.Threads.ToString(CultureInfo.InvariantCulture)),
            ("training tokens/s", r => r.TrainingTokensPerSecond.ToString("0", CultureInfo.InvariantCulture)),
            ("forward tokens/s", r => r.ForwardTokensPerSecond.ToString("0", CultureInfo.InvariantCulture)),
            ("GEMM GFLOP/s", r => r.GemmGflops.ToString("0.0", CultureInfo.InvariantCulture)),
            ("training model GFLOP/s", r => r.ModelTrainingGflops.ToString("0.0", CultureInfo.InvariantCulture)),
            ("training / GEMM", r => r.EfficiencyVsGemm.ToString("0.00", CultureInfo.InvariantCulture)),
            ("ascent tokens/s first window", r => r.AscentFirstWindowTokensPerSecond.ToString("0", CultureInfo.InvariantCulture)),
            ("ascent tokens/s last window", r => r.AscentLastWindowTokensPerSecond.ToString("0", CultureInfo.InvariantCulture)),
            ("late-ascent throughput ratio", r => r.AscentThroughputRatio.ToString("0.00", CultureInfo.InvariantCulture)),
            ("ascent final NLL", r => r.AscentFinalLoss.ToString("0.0", CultureInfo.InvariantCulture)),
        };
        var labelWidth = rows.Max(r => r.Label.Length);
        var columns = report.Architectures.Select(a => (Header: $"{a.Architecture} (vocab {a.VocabSize})", Values: rows.Select(r => r.Value(a.Result)).ToList())).ToList();
        var widths = columns.Select(c => Math.Max(c.Header.Length, c.Values.Max(v => v.Length))).ToList();
        var lines = new List<string>
        {
            $"{report.Date}  {report.Machine}  denormals flushed: {(report.DenormalsFlushed ? "yes" : "no")}",
            "".PadRight(labelWidth) + string.Concat(columns.Select((c, i) => "  " + c.Header.PadLeft(widths[i]))),
        };
        for (var row = 0; row < rows.Count; row++)
            lines.Add(rows[row].Label.PadRight(labelWidth) + string.Concat(columns.Select((c, i) => "  " + c.Values[row].PadLeft(widths[i]))));
        return string.Join(Environment.NewLine, lines);
    }

    private static string MachineDescription() =>
        $"{RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores, .NET {Environment.Version}";

    /// <summary>Problems with the command-line values, each naming the option.</summary>
    public static IReadOnlyList<string> Problems(IReadOnlyList<string> architectures, int vocab, int batch, int seqLen, int steps)
    {
        var problems = new List<string>();
        var unknown = architectures.Where(n => !TransformerConfig.BuiltInNames.Contains(n.ToLowerInvariant())).ToList();
        if (architectures.Count == 0 || unknown.Count > 0)
            problems.Add($"--architectures: unknown name(s) '{string.Join(", ", unknown)}'; valid names: {string.Join(", ", TransformerConfig.BuiltInNames)}");
        if (vocab < 2) problems.Add($"--vocab must be >= 2, got {vocab}");
        if (batch <= 0) problems.Add($"--batch must be > 0, got {batch}");
        if (seqLen < 2) problems.Add($"--seq-len must be >= 2, got {seqLen}");
        if (steps <= 0) problems.Add($"--steps must be > 0, got {steps}");
        return problems;
    }
}
