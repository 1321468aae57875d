using static TorchSharp.torch;

namespace Unlearn.Models;

/// <summary>Keys and values of every layer for the tokens seen so far, used by incremental decoding. The cached
/// tensors live outside any dispose scope and are released by <see cref="Dispose"/>.</summary>
public sealed class KeyValueCache : IDisposable
{
    private readonly Tensor?[] keys;
    private readonly Tensor?[] values;

    /// <summary>An empty cache for a model with <paramref name="numLayers"/> layers.</summary>
    public KeyValueCache(int numLayers)
    {
        keys = new Tensor?[numLayers];
        values = new Tensor?[numLayers];
    }

    /// <summary>Number of cached positions.</summary>
    public long Length => keys[0]?.shape[2] ?? 0;

    /// <summary>Appends new keys/values [B, Hkv, T, D] of a layer and returns the full ones.</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor k, Tensor v)
    {
        var oldK = keys[layer];
        var oldV = values[layer];
        var newK = oldK is null ? k.detach().clone() : cat([oldK, k.detach()], 2);
        var newV = oldV is null ? v.detach().clone() : cat([oldV, v.detach()], 2);
        newK.DetachFromDisposeScope();
        newV.DetachFromDisposeScope();
        keys[layer] = newK;
        values[layer] = newV;
        oldK?.Dispose();
        oldV?.Dispose();
        // Return copies owned by the caller's scope so the cache can replace its tensors freely.
        return (newK.alias(), newV.alias());
    }

    /// <summary>Keeps only the rows in <paramref name="rows"/> (int64 indices), e.g. after sequences finish.</summary>
    public void SelectRows(Tensor rows)
    {
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] is { } k)
            {
                var nk = k.index_select(0, rows);
                nk.DetachFromDisposeScope();
                k.Dispose();
                keys[i] = nk;
            }
            if (values[i] is { } v)
            {
                var nv = v.index_select(0, rows);
                nv.DetachFromDisposeScope();
                v.Dispose();
                values[i] = nv;
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i]?.Dispose();
            values[i]?.Dispose();
            keys[i] = null;
            values[i] = null;
        }
    }
}
