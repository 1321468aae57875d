using System.Text.RegularExpressions;

namespace Unlearn.Host.Configuration;

/// <summary>One entry of the <c>attacks</c> section: a label (the <c>attack</c> column of the results) and the attack
/// plugins it applies, in order (one, or a <c>chain:</c> of several).</summary>
/// <param name="Label">How results under this attack are labelled; unique in the run, never "none".</param>
/// <param name="Steps">The attacks applied, in order.</param>
/// <param name="KeyPath">Where the entry is (e.g. "attacks.1").</param>
/// <param name="Location">Where the entry was written.</param>
public sealed record AttackUse(string Label, IReadOnlyList<PluginUse> Steps, string KeyPath, SourceLocation Location);

/// <summary>Binds the <c>attacks</c> section: a list whose entries are an attack name, <c>{name:, options:, label:}</c>,
/// or a combination <c>{label:, chain: [entry, ...]}</c> applied in order.</summary>
public static partial class AttacksBinder
{
    /// <summary>The label of results without an attack.</summary>
    public const string None = "none";

    /// <summary>The entries, or an empty list when the section is absent.</summary>
    public static IReadOnlyList<AttackUse> Bind(ConfigNode? node)
    {
        if (node == null) return [];
        var items = node is ConfigList list ? list.Items : [node];
        var uses = new List<AttackUse>();
        for (var i = 0; i < items.Count; i++)
        {
            var use = Entry(items[i], $"attacks.{i}");
            if (use.Label == None || !LabelPattern().IsMatch(use.Label))
                throw new PipelineException(use.Location, use.KeyPath,
                    $"'{use.Label}' cannot label an attack: use letters, digits, '.', '_', '-' or '+', and not \"{None}\" (the label of clean results). Set label: to another name.");
            if (uses.FirstOrDefault(u => u.Label == use.Label) is { } first)
                throw new PipelineException(use.Location, use.KeyPath,
                    $"two attacks are labelled '{use.Label}' ({first.KeyPath} and {use.KeyPath}); give one of them another label: (e.g. label: {use.Label}-2).");
            uses.Add(use);
        }
        return uses;
    }

    private static AttackUse Entry(ConfigNode node, string path)
    {
        if (node is not ConfigMap map)
        {
            var step = Step(node, path);
            return new AttackUse(step.Name, [step], path, step.Location);
        }
        var entry = PipelineBinder.Section<AttackEntry>(map, path, map.Location);
        if (entry.Chain is { } chain)
        {
            if (chain is not ConfigList { Items.Count: > 0 } steps)
                throw new PipelineException(chain.Location, path + ".chain", $"expected a non-empty list of attacks applied in order, found {chain.KindName}.");
            var chained = steps.Items.Select((item, j) => Step(item, $"{path}.chain.{j}")).ToList();
            return new AttackUse(entry.Label ?? string.Join('+', chained.Select(c => c.Name)), chained, path, map.LocationOf("chain"));
        }
        return new AttackUse(entry.Label ?? entry.Name!, [new PluginUse(entry.Name!, entry.Options, path + ".options", map.LocationOf("name"))], path, map.LocationOf("name"));
    }

    // A name or {name:, options:}; attacks run on every evaluated split, so an entry has no splits: of its own.
    private static PluginUse Step(ConfigNode node, string path)
    {
        if (node is ConfigMap { } map && map["splits"] is { } splits)
            throw new PipelineException(splits.Location, path + ".splits", "an attack applies to every split evaluate evaluates; remove splits: here.");
        return PipelineBinder.ReadPluginEntry(node, path);
    }

    [GeneratedRegex("^[A-Za-z0-9._+-]+$")]
    private static partial Regex LabelPattern();
}
