using System.Runtime.InteropServices;

namespace Unlearn.Training;

/// <summary>Flushing denormal floats to zero on the CPU. TorchSharp 0.107 has no <c>torch.set_flush_denormal</c>;
/// this calls libtorch's own <c>at::globalContext().setFlushDenormal(bool)</c> (the function PyTorch's binding calls)
/// through its exported C++ symbols, which exist in the Linux x64 libtorch_cpu.so. Like PyTorch's, it sets the
/// FTZ/DAZ flags of the calling thread only; libtorch's intra-op threads started afterwards inherit them, so
/// a command turns flushing on once, before its first tensor work (see the run and eval commands).</summary>
public static class DenormalControl
{
    private const string Library = "libtorch_cpu.so";

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContextFn();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    private delegate bool SetFlushDenormalFn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool on);

    /// <summary>Turns flushing on or off for the calling thread. Returns false when the runtime does not offer it
    /// (non-Linux, symbols missing, or a CPU without SSE3).</summary>
    public static bool TrySetFlushDenormal(bool enabled)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return false;
        // Make sure TorchSharp has loaded libtorch before looking it up by soname.
        _ = TorchSharp.torch.get_num_threads();
        if (!NativeLibrary.TryLoad(Library, out var handle)) return false;
        if (!NativeLibrary.TryGetExport(handle, "_ZN2at13globalContextEv", out var globalContext)) return false;
        if (!NativeLibrary.TryGetExport(handle, "_ZN2at7Context16setFlushDenormalEb", out var setFlush)) return false;
        var context = Marshal.GetDelegateForFunctionPointer<GlobalContextFn>(globalContext)();
        return Marshal.GetDelegateForFunctionPointer<SetFlushDenormalFn>(setFlush)(context, enabled);
    }
}
