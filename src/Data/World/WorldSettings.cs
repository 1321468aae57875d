using System.ComponentModel;
using Unlearn.Plugins;

namespace Unlearn.Data;

/// <summary>Size and seed of the built-in synthetic world.</summary>
/// <param name="Authors">Fictitious authors in <c>full</c> (20 facts each); the forget splits take the last 1 %, 5 % and
/// 10 % of them (at least one author each).</param>
/// <param name="HoldoutAuthors">Further authors never in <c>full</c>; <c>holdoutNN</c> takes the first k of them, k the
/// author count of <c>forgetNN</c> (at most this number). Null: as many as <c>forget10</c> has.</param>
/// <param name="Seed">Every random choice derives from it: the same seed gives the same world.</param>
public sealed record WorldSettings(
    [property: Description("Number of fictitious authors in the full split (20 facts each).")] int Authors = 10,
    [property: Description("Authors kept out of the full split for membership inference; default: as many as forget10.")] int? HoldoutAuthors = null,
    [property: Description("Seed of the world generator; the same seed gives the same world.")] int Seed = 0)
    : IValidatableOptions
{
    /// <summary>The defaults: 10 authors, seed 0.</summary>
    public WorldSettings() : this(10) { }

    /// <summary>Largest supported number of authors (names and titles stay unique up to here).</summary>
    public const int MaxAuthors = 1000;

    /// <summary>Authors in <c>forgetNN</c>: max(1, round(Authors · percent / 100)).</summary>
    public int ForgetAuthors(int percent) =>
        Math.Max(1, (int)Math.Round(Authors * percent / 100.0, MidpointRounding.AwayFromZero));

    /// <summary>The holdout author count in effect.</summary>
    public int EffectiveHoldoutAuthors => HoldoutAuthors ?? ForgetAuthors(10);

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (Authors < 2 || Authors > MaxAuthors)
            yield return $"authors must be between 2 and {MaxAuthors} (a retain split needs at least one author), got {Authors}";
        if (HoldoutAuthors is { } h && (h < 1 || h > MaxAuthors))
            yield return $"holdout_authors must be between 1 and {MaxAuthors}, got {h}";
    }
}
