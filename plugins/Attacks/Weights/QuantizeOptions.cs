using System.ComponentModel;

namespace Unlearn.Plugins.Attacks.Weights;

/// <summary>Options of the <c>quantize</c> attack.</summary>
public sealed class QuantizeOptions : IValidatableOptions
{
    /// <summary>Bits per weight: 8 (int8) or 4.</summary>
    [Description("Bits per weight: 8 (int8) or 4.")]
    public int Bits { get; init; } = 8;

    /// <summary>Weights sharing one scale along a row; null for one scale per output channel (row).</summary>
    [Description("Weights that share one scale along each row (group-wise); null for one scale per output channel (per-channel).")]
    public int? GroupSize { get; init; }

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Bits is not (8 or 4)) yield return $"bits must be 8 or 4, got {Bits}";
        foreach (var problem in OptionChecks.AtLeast("group_size", GroupSize, 1)) yield return problem;
    }
}
