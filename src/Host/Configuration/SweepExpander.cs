using System.Text;

namespace Unlearn.Host.Configuration;

/// <summary>One run of a sweep: its label (e.g. "unlearn.options.beta=0.5,unlearn.trainer.lr=1e-4") and tree.</summary>
public sealed record SweepRun(string Label, string FolderName, ConfigMap Tree);

/// <summary>Expands a <c>sweep:</c> section (key path -> list of values) into the grid of runs. A value that is a
/// mapping is merged into the key rather than replacing it: each of its leaves is set at its own key path, so one
/// grid point can change several keys together (<c>unlearn: [{method: ga}, {method: rmu, trainer: {lr: 3e-3}}]</c>)
/// and the run's label names exactly the keys it changed.</summary>
public static class SweepExpander
{
    /// <summary>The runs of a pipeline; a pipeline without a sweep is one run labelled "".</summary>
    public static IReadOnlyList<SweepRun> Expand(ConfigMap root)
    {
        if (root["sweep"] is not { } sweepNode || sweepNode is ConfigScalar { Value: null })
            return [new SweepRun("", "", root)];
        if (sweepNode is not ConfigMap sweep || sweep.Entries.Count == 0)
            throw new PipelineException(sweepNode.Location, "sweep", "expected a mapping of key paths to lists of values, e.g.\n  sweep:\n    unlearn.trainer.lr: [1e-4, 3e-4]");
        var axes = new List<(string Path, List<ConfigNode> Values)>();
        foreach (var (path, node) in sweep.Entries)
        {
            var values = node is ConfigList list ? list.Items : [node];
            if (values.Count == 0) throw new PipelineException(node.Location, "sweep." + path, "the list of values is empty.");
            axes.Add((path, values));
        }
        var runs = new List<SweepRun>();
        var indices = new int[axes.Count];
        while (true)
        {
            var tree = (ConfigMap)root.Clone();
            tree.Entries.Remove("sweep");
            var label = new StringBuilder();
            var folder = new StringBuilder();
            for (var a = 0; a < axes.Count; a++)
            {
                var (path, values) = axes[a];
                var value = values[indices[a]];
                foreach (var (leafPath, leaf) in Leaves(path, value))
                {
                    PipelineDocument.SetPath(tree, leafPath, leaf.Clone(), leaf.Location);
                    if (label.Length > 0) { label.Append(','); folder.Append('_'); }
                    var text = leaf is ConfigScalar s ? s.ToString() : $"#{indices[a]}";
                    label.Append(leafPath).Append('=').Append(text);
                    folder.Append(leafPath.Split('.')[^1]).Append('-').Append(Sanitize(text));
                }
            }
            var name = folder.ToString();
            // Values that differ only in characters a folder name cannot hold still get folders of their own.
            for (var n = 2; runs.Any(r => r.FolderName == name); n++) name = $"{folder}_{n}";
            runs.Add(new SweepRun(label.ToString(), name, tree));
            var k = axes.Count - 1;
            while (k >= 0 && ++indices[k] == axes[k].Values.Count) { indices[k] = 0; k--; }
            if (k < 0) break;
        }
        return runs;
    }

    /// <summary>The key paths a sweep value sets: the value itself at <paramref name="path"/>, or for a mapping each of
    /// its leaves (scalars and lists) at path.key.subkey.</summary>
    private static IEnumerable<(string Path, ConfigNode Value)> Leaves(string path, ConfigNode value)
    {
        if (value is not ConfigMap map)
        {
            yield return (path, value);
            yield break;
        }
        if (map.Entries.Count == 0)
            throw new PipelineException(map.Location, "sweep." + path, "an empty mapping changes nothing: give the keys this run sets, e.g. {method: ga}, or remove it.");
        foreach (var (key, child) in map.Entries)
            foreach (var leaf in Leaves(path + "." + key, child)) yield return leaf;
    }

    private static string Sanitize(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s) sb.Append(char.IsLetterOrDigit(c) || c is '.' or '-' or '+' ? c : '_');
        return sb.ToString();
    }
}
