namespace Unlearn.Host.Running;

/// <summary>A user's file (model folder, data file) that cannot be used, found while the run's inputs are checked
/// before any work starts. It is bad input (exit code 2) whatever the underlying error was: the exit code follows
/// where the error came from, not its exception type.</summary>
/// <param name="message">What is wrong, naming the file.</param>
/// <param name="inner">The underlying error.</param>
public sealed class InputException(string message, Exception? inner = null) : Exception(message, inner);
