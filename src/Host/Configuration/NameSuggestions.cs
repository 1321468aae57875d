namespace Unlearn.Host.Configuration;

/// <summary>"Did you mean" for unknown names.</summary>
public static class NameSuggestions
{
    /// <summary>The valid name closest to <paramref name="name"/> (edit distance ≤ a third of its length + 1), or null.</summary>
    public static string? Nearest(string name, IEnumerable<string> valid)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in valid)
        {
            var d = Distance(Normalise(name), Normalise(candidate));
            if (d < bestDistance) { bestDistance = d; best = candidate; }
        }
        return best != null && bestDistance <= name.Length / 3 + 1 ? best : null;
    }

    /// <summary>"unknown X 'name'. Did you mean 'y'? Valid: a, b, c."</summary>
    public static string Unknown(string what, string name, IReadOnlyCollection<string> valid)
    {
        var nearest = Nearest(name, valid);
        var hint = nearest != null ? $" Did you mean '{nearest}'?" : "";
        var list = valid.Count == 0 ? "none" : string.Join(", ", valid.OrderBy(v => v, StringComparer.Ordinal));
        return $"unknown {what} '{name}'.{hint} Valid: {list}.";
    }

    private static string Normalise(string s) => s.Replace("_", "").Replace("-", "").ToLowerInvariant();

    /// <summary>Levenshtein distance.</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
