using Unlearn.Training;
using static TorchSharp.torch;

namespace Unlearn.Training.Tests;

public sealed class DenormalControlTests
{
    [Fact]
    public void FlushDenormalTurnsSubnormalResultsIntoZeroOnThisThread()
    {
        if (!OperatingSystem.IsLinux()) return;
        const float subnormal = 1e-39f;
        Assert.True(DenormalControl.TrySetFlushDenormal(true));
        try
        {
            using var flushed = tensor(new[] { subnormal }) * 1.0f;
            Assert.Equal(0f, flushed.item<float>());
        }
        finally
        {
            Assert.True(DenormalControl.TrySetFlushDenormal(false));
        }
        using var kept = tensor(new[] { subnormal }) * 1.0f;
        Assert.Equal(subnormal, kept.item<float>());
    }
}
