namespace Unlearn.Plugins.Attacks;

/// <summary>FNV-1a over ids or characters: the same input gives the same value in every process (string.GetHashCode
/// does not), so seeded choices per prompt are reproducible and independent of evaluation order.</summary>
internal static class StableHash
{
    private const uint Offset = 2166136261;
    private const uint Prime = 16777619;

    public static int Of(IEnumerable<int> values, int seed)
    {
        var hash = Offset ^ (uint)seed;
        foreach (var value in values) hash = (hash ^ (uint)value) * Prime;
        return (int)(hash & 0x7fffffff);
    }

    public static int Of(string text, int seed) => Of(text.Select(c => (int)c), seed);
}
