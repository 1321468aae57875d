namespace Unlearn.Text;

/// <summary>A tokenizer cannot be loaded; the message names the folder or file and what was looked for.</summary>
public sealed class TokenizerException(string message, Exception? inner = null) : Exception(message, inner);
