using Cocona.Application;

namespace Unlearn.Host.Cli;

/// <summary>The name help and usage lines show: <c>dotnet unlearn</c>, the way users invoke the tool, rather than the
/// process name (which is <c>dotnet</c> under <c>dotnet run</c>).</summary>
public sealed class ToolMetadata(ICoconaApplicationMetadataProvider inner) : ICoconaApplicationMetadataProvider
{
    /// <summary>The command users type.</summary>
    public const string Command = "dotnet unlearn";

    /// <inheritdoc />
    public string GetProductName() => Command;

    /// <inheritdoc />
    public string GetExecutableName() => Command;

    /// <inheritdoc />
    public string GetVersion() => inner.GetVersion();

    /// <inheritdoc />
    public string GetDescription() => $"Machine unlearning for language models (version {inner.GetVersion()}): run pipelines, evaluate models, compare runs.";
}
