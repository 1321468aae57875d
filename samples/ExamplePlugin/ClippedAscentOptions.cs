using System.ComponentModel;
using Unlearn.Plugins;

namespace Unlearn.Samples.ExamplePlugin;

/// <summary>Options of <c>ga-clipped</c>.</summary>
/// <remarks>Options classes follow three rules: a public parameterless constructor, <c>{ get; init; }</c>
/// properties with defaults, and a <see cref="DescriptionAttribute"/> on each property (shown by
/// <c>dotnet unlearn plugins</c>). The pipeline key of a property is its snake_case name: <see cref="MaxNll"/> is
/// written <c>max_nll</c>.</remarks>
public sealed class ClippedAscentOptions : IValidatableOptions
{
    /// <summary>The per-token NLL (nats) above which a token no longer contributes to the ascent.</summary>
    [Description("Per-token answer NLL (nats) at which the ascent stops pushing a token: the loss uses min(nll, max_nll).")]
    public double MaxNll { get; init; } = 5.0;

    /// <summary>Checked once after binding; each message names the option and the offending value.</summary>
    public IEnumerable<string> Validate()
    {
        // !(x > 0) also refuses NaN.
        if (!(MaxNll > 0) || double.IsInfinity(MaxNll))
            yield return $"max_nll must be a finite number > 0, got {MaxNll}";
    }
}

/// <summary>Options of <c>mean-nll</c>.</summary>
public sealed class MeanNllOptions
{
    /// <summary>Which question text the answer is scored after.</summary>
    [Description("Score answers after the original or the paraphrased question.")]
    public QuestionField Question { get; init; } = QuestionField.Original;
}
