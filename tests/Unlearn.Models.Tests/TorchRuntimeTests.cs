using TorchSharp;
using Unlearn.NativeSupport;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class TorchRuntimeTests
{
    [Fact]
    public void TensorOpAndBackwardRun()
    {
        var x = tensor(new float[] { 1, 2, 3 }, requires_grad: true);
        var y = (x * x).sum();
        y.backward();
        Assert.Equal(new float[] { 2, 4, 6 }, x.grad!.data<float>().ToArray());
        var m = matmul(ones(2, 3), ones(3, 4));
        Assert.Equal(3f, m[1, 2].item<float>());
    }

    [Fact]
    public void NativeLibraryInOutputNeedsNoMissingLibStdCxxVersion()
    {
        var lib = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!OperatingSystem.IsLinux() || !File.Exists(lib)) return;
        var requirement = ElfVersionPatch.ReadRequirements(File.ReadAllBytes(lib))
            .Single(r => r.Key == ElfVersionPatch.TorchSharpGlibcxxVersion);
        var systemHasIt = ElfVersionPatch.SystemLibStdCxxHasVersion(ElfVersionPatch.TorchSharpGlibcxxVersion);
        // Patched (weak) exactly where the system lacks the version; left alone elsewhere.
        Assert.Equal(!systemHasIt, requirement.Value);
    }
}
