using Cocona;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Unlearn.Host.Cli;

if (!Unlearn.Host.Native.TorchNativeBootstrap.EnsureFor(args)) return ExitCodes.RunFailure;
Unlearn.Host.Native.FreedMemory.ReturnToSystem();
var builder = CoconaApp.CreateBuilder(args, options =>
{
    options.TreatPublicMethodsAsCommands = false;
    options.EnableShellCompletionSupport = false;
});
builder.Logging.ClearProviders();
var outcome = new CommandOutcome();
builder.Services.AddSingleton(outcome);
// Help says "dotnet unlearn", however the tool was started (installed tool, dotnet run, dotnet dotnet-unlearn.dll).
builder.Services.AddSingleton<Cocona.Application.ICoconaApplicationMetadataProvider>(new ToolMetadata(new Cocona.Application.CoconaApplicationMetadataProvider()));
var app = builder.Build();
app.AddCommands<Commands>();
app.AddCommands<BenchCommand>();
app.AddCommands<EsBenchCommand>();
app.AddCommands<CompareCommand>();
app.AddCommands<RobustnessCommand>();
app.AddCommands<StatusCommand>();
app.AddCommands<CheckCommand>();
app.AddCommands<TokenizeCommand>();
app.AddCommands<Unlearn.Host.Native.SetupCommand>();
await app.RunAsync();
if (!outcome.Ran)
{
    // Cocona answered by itself: help (success) or a usage error (bad input).
    var help = args.Any(a => a is "-h" or "--help") || args.Length == 0;
    return help ? ExitCodes.Success : ExitCodes.BadInput;
}
return Environment.ExitCode;
