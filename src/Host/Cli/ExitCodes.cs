namespace Unlearn.Host.Cli;

/// <summary>Process exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;
    /// <summary>The run started but failed (training diverged, a plugin threw, I/O failed).</summary>
    public const int RunFailure = 1;
    /// <summary>Bad input: pipeline file, command-line value, model or data folder, plugin.</summary>
    public const int BadInput = 2;
    /// <summary>Interrupted by the user (Ctrl-C); finished stages are kept for --resume.</summary>
    public const int Interrupted = 130;
}
