namespace Unlearn.Training;

/// <summary>Which items each micro-batch of a training run holds: a seeded shuffle per epoch, deterministic in its
/// arguments, so a resumed run sees the same batches. With sequence lengths given (grouping by length), each window of
/// <see cref="BatchesPerWindow"/> batches of the shuffled order is sorted by length before it is cut into batches, and
/// the epoch's batches are then shuffled: a batch holds sequences of similar length (little padding) while the order
/// of batches stays random, as Hugging Face's <c>group_by_length</c> does with its mega-batches.</summary>
public sealed class EpochBatches
{
    /// <summary>Batches per length-sorted window.</summary>
    public const int BatchesPerWindow = 50;

    private readonly int _count;
    private readonly int _batchSize;
    private readonly int _seed;
    private readonly IReadOnlyList<int>? _lengths;
    private int _epoch = -1;
    private int[][] _batches = [];

    /// <summary>Batches over items 0..<paramref name="count"/>−1.</summary>
    /// <param name="count">Items in the split (at least 1).</param>
    /// <param name="batchSize">Items per micro-batch (at least 1).</param>
    /// <param name="seed">Seeds the shuffles.</param>
    /// <param name="lengths">Token length of each item to group by, or null for a plain shuffle.</param>
    public EpochBatches(int count, int batchSize, int seed, IReadOnlyList<int>? lengths = null)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "a training split needs at least one item");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be >= 1");
        if (lengths != null && lengths.Count != count) throw new ArgumentException($"{lengths.Count} lengths for {count} items", nameof(lengths));
        _count = count;
        _batchSize = batchSize;
        _seed = seed;
        _lengths = lengths;
    }

    /// <summary>Micro-batches in one pass over the split.</summary>
    public int BatchesPerEpoch => (_count + _batchSize - 1) / _batchSize;

    /// <summary>The items of micro-batch <paramref name="micro"/> of 0-based optimiser step <paramref name="step"/>.</summary>
    public IReadOnlyList<int> At(int step, int accumulation, int micro)
    {
        var global = (long)step * accumulation + micro;
        var epoch = (int)(global / BatchesPerEpoch);
        if (epoch != _epoch)
        {
            _batches = EpochOrder(epoch);
            _epoch = epoch;
        }
        return _batches[global % BatchesPerEpoch];
    }

    private int[][] EpochOrder(int epoch)
    {
        var order = Enumerable.Range(0, _count).ToArray();
        new Random(unchecked(_seed * 1_000_003 + epoch)).Shuffle(order);
        if (_lengths is null) return order.Chunk(_batchSize).ToArray();
        var lengths = _lengths;
        var batches = order.Chunk(_batchSize * BatchesPerWindow)
            .SelectMany(window => window.OrderBy(i => lengths[i]).Chunk(_batchSize))
            .ToArray();
        new Random(unchecked(_seed * 1_000_003 + epoch + 0x5bd1e995)).Shuffle(batches);
        return batches;
    }
}
