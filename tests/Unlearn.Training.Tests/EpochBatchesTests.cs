namespace Unlearn.Training.Tests;

public class EpochBatchesTests
{
    private static List<int[]> Epoch(EpochBatches batches, int epoch) =>
        Enumerable.Range(0, batches.BatchesPerEpoch).Select(b => batches.At(epoch * batches.BatchesPerEpoch + b, 1, 0).ToArray()).ToList();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EveryItemIsInExactlyOneBatchOfEachEpoch(bool grouped)
    {
        var lengths = Enumerable.Range(0, 1003).Select(i => 5 + i * 37 % 91).ToArray();
        var batches = new EpochBatches(1003, 16, seed: 7, grouped ? lengths : null);
        Assert.Equal(63, batches.BatchesPerEpoch);
        for (var epoch = 0; epoch < 3; epoch++)
        {
            var seen = Epoch(batches, epoch).SelectMany(b => b).Order().ToArray();
            Assert.Equal(Enumerable.Range(0, 1003), seen);
        }
        Assert.NotEqual(Epoch(batches, 0)[0], Epoch(batches, 1)[0]);
    }

    [Fact]
    public void BatchesAreDeterministicInTheirArgumentsSoAResumedRunSeesTheSame()
    {
        var lengths = Enumerable.Range(0, 200).Select(i => i % 13).ToArray();
        var a = new EpochBatches(200, 8, seed: 3, lengths);
        var b = new EpochBatches(200, 8, seed: 3, lengths);
        // b starts in the middle of the second epoch, as a resumed run does.
        Assert.Equal(a.At(37, 2, 1), b.At(37, 2, 1));
        Assert.Equal(a.At(3, 2, 0), b.At(3, 2, 0));
        Assert.NotEqual(a.At(3, 2, 0), new EpochBatches(200, 8, seed: 4, lengths).At(3, 2, 0));
    }

    [Fact]
    public void WithoutLengthsTheOrderIsThePlainSeededShuffle()
    {
        var order = Enumerable.Range(0, 50).ToArray();
        new Random(unchecked(11 * 1_000_003 + 1)).Shuffle(order);
        var batches = new EpochBatches(50, 10, seed: 11);
        Assert.Equal(order.Skip(20).Take(10), batches.At(5 + 2, 1, 0));
    }

    [Fact]
    public void GroupingByLengthCutsPaddingAndKeepsTheBatchOrderRandom()
    {
        var random = new Random(5);
        var lengths = Enumerable.Range(0, 3200).Select(_ => random.Next(20, 120)).ToArray();
        double Padding(EpochBatches b) => Epoch(b, 0).Sum(batch => batch.Length * batch.Max(i => lengths[i]) - batch.Sum(i => lengths[i]))
            / (double)lengths.Sum();
        var plain = Padding(new EpochBatches(3200, 32, seed: 1));
        var grouped = new EpochBatches(3200, 32, seed: 1, lengths);
        Assert.True(plain > 0.5, $"padding of random batches {plain:P0}");
        Assert.True(Padding(grouped) < 0.05, $"padding of grouped batches {Padding(grouped):P0}");
        // Batch i is not simply the i-th shortest group: consecutive batches' maximum lengths are not sorted.
        var maxima = Epoch(grouped, 0).Select(b => b.Max(i => lengths[i])).ToArray();
        Assert.NotEqual(maxima.Order(), maxima);
    }
}
