using System.ComponentModel;

namespace Unlearn.Plugins.Attacks.Prompts;

/// <summary>Options of the <c>noise</c> attack.</summary>
public sealed class PromptNoiseOptions : IValidatableOptions
{
    /// <summary>Probability that a prompt token is replaced.</summary>
    [Description("Probability p that each prompt token is replaced by a random other token id (seeded).")]
    public double Rate { get; init; } = 0.1;

    /// <inheritdoc />
    public IEnumerable<string> Validate() => OptionChecks.Fraction("rate", Rate);
}
