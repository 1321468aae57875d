using System.Runtime.InteropServices;

namespace Unlearn.Host.Native;

/// <summary>Makes freed tensor memory go back to the operating system. libtorch allocates CPU tensors with glibc's
/// malloc, whose threshold for serving a block from its own mapping rises with every large block freed (up to 32 MiB);
/// below it, blocks come from the heap, where the holes that activations, gradients and optimiser temporaries leave
/// are kept by the process. On a 1B-parameter model that is gigabytes of resident memory that no tensor uses. A fixed
/// threshold of 1 MiB (glibc stops adjusting it once it is set) maps every tensor of 1 MiB or more on its own, so
/// freeing one unmaps it. Small allocations are untouched. Linux with glibc only; elsewhere nothing is changed.</summary>
internal static class FreedMemory
{
    private const int MmapThreshold = -3; // M_MMAP_THRESHOLD in malloc.h
    private const int Threshold = 1 << 20;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);

    /// <summary>Sets the threshold; returns whether glibc accepted it.</summary>
    public static bool ReturnToSystem()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return Mallopt(MmapThreshold, Threshold) == 1; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; } // musl has no mallopt
    }
}
