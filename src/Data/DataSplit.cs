using Unlearn.Plugins;

namespace Unlearn.Data;

/// <summary>A named, ordered list of question/answer rows read from a file or generated in memory.</summary>
/// <param name="Name">The logical name used in pipeline files (e.g. "forget", "retain", or a file name such as "forget05").</param>
/// <param name="Source">Where the rows came from: a file path, or a description such as "built-in world (seed 0)".</param>
/// <param name="Items">The rows, in file order.</param>
public sealed record DataSplit(string Name, string Source, IReadOnlyList<QaItem> Items) : IDataSplit
{
    /// <summary>Number of rows.</summary>
    public int Count => Items.Count;

    /// <summary>The same rows under another logical name.</summary>
    public DataSplit WithName(string name) => this with { Name = name };
}
