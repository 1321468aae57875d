using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Unlearn.Models;

/// <summary>One tensor entry of a safetensors header.</summary>
/// <param name="Name">Tensor name (state-dict key).</param>
/// <param name="DType">Safetensors dtype code ("F32", "BF16", ...).</param>
/// <param name="Shape">Shape.</param>
/// <param name="Begin">Start of the bytes, relative to the data section.</param>
/// <param name="End">End (exclusive) of the bytes, relative to the data section.</param>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>A safetensors file whose header has been read and fully validated. Tensor bytes are read on demand
/// with positioned reads (never more than the tensor's own span).</summary>
public sealed class SafetensorsFile
{
    /// <summary>Largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<string, int> ItemSizes = new()
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    private readonly Dictionary<string, SafetensorsEntry> entries;

    private SafetensorsFile(string path, long dataStart, Dictionary<string, SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        DataStart = dataStart;
        this.entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Byte offset of the data section in the file.</summary>
    public long DataStart { get; }

    /// <summary>The <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Entries by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries => entries;

    /// <summary>Item size in bytes of a dtype code, or null when unknown.</summary>
    public static int? ItemSize(string dtype) => ItemSizes.TryGetValue(dtype, out var s) ? s : null;

    /// <summary>Opens and validates a file: the header length is sane and inside the file, the header is a JSON
    /// object, every dtype is known, every byte span equals shape × item size, and the spans tile the data section
    /// exactly (sorted, no overlap, no gap, nothing past the end). Throws <see cref="InvalidDataException"/> naming
    /// the file and the tensor.</summary>
    public static SafetensorsFile Open(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.RandomAccess);
        var fileLength = stream.Length;
        if (fileLength < 8) throw new InvalidDataException($"{path}: not a safetensors file (only {fileLength} bytes, the 8-byte header length is missing)");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength == 0 || headerLength > MaxHeaderBytes || headerLength > (ulong)(fileLength - 8))
            throw new InvalidDataException($"{path}: header length {headerLength} is not sane (file has {fileLength} bytes, limit {MaxHeaderBytes})");
        var headerBytes = new byte[(int)headerLength];
        stream.ReadExactly(headerBytes);
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;

        JsonObject header;
        try
        {
            // A JSON object may repeat a key; a header that names one tensor twice is ambiguous, so it is refused.
            using (var document = JsonDocument.Parse(headerBytes))
            {
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    var names = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var property in document.RootElement.EnumerateObject())
                        if (!names.Add(property.Name))
                            throw new InvalidDataException($"{path}: the header names '{property.Name}' twice; a safetensors header lists each tensor once (re-save the checkpoint)");
                }
            }
            header = JsonNode.Parse(Encoding.UTF8.GetString(headerBytes)) as JsonObject
                ?? throw new InvalidDataException($"{path}: the header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: the header is not valid JSON ({e.Message})", e);
        }

        var metadata = new Dictionary<string, string>();
        var entries = new Dictionary<string, SafetensorsEntry>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is not JsonObject meta) throw new InvalidDataException($"{path}: __metadata__ must be an object of strings");
                foreach (var (k, v) in meta)
                    metadata[k] = v is JsonValue sv && sv.TryGetValue<string>(out var s) ? s : throw new InvalidDataException($"{path}: __metadata__ value '{k}' is not a string");
                continue;
            }
            entries[name] = ParseEntry(path, name, node);
        }

        long expected = 0;
        foreach (var e in entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < expected)
                throw new InvalidDataException($"{path}: tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] overlap the previous tensor (which ends at {expected})");
            if (e.Begin > expected)
                throw new InvalidDataException($"{path}: tensor '{e.Name}' starts at {e.Begin} but the previous tensor ends at {expected} (gap in the data section)");
            if (e.End > dataLength)
                throw new InvalidDataException($"{path}: tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] run past the end of the data section ({dataLength} bytes; file truncated?)");
            expected = e.End;
        }
        if (expected != dataLength)
            throw new InvalidDataException($"{path}: the tensors cover {expected} bytes but the data section has {dataLength} bytes");
        return new SafetensorsFile(path, dataStart, entries, metadata);
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonNode? node)
    {
        InvalidDataException Bad(string what) => new($"{path}: tensor '{name}': {what}");
        if (node is not JsonObject o) throw Bad("entry is not an object");
        var dtype = o["dtype"] is JsonValue dv && dv.TryGetValue<string>(out var d) ? d : throw Bad("dtype is missing or not a string");
        var itemSize = ItemSize(dtype) ?? throw Bad($"unknown dtype '{dtype}'");
        if (o["shape"] is not JsonArray shapeNode) throw Bad("shape is missing or not an array");
        var shape = new long[shapeNode.Count];
        for (var i = 0; i < shape.Length; i++)
            shape[i] = shapeNode[i] is JsonValue sv && sv.TryGetValue<long>(out var s) && s >= 0 ? s : throw Bad($"shape entry {i} is not a non-negative integer");
        if (o["data_offsets"] is not JsonArray { Count: 2 } offsets) throw Bad("data_offsets must be an array of two integers");
        var begin = offsets[0] is JsonValue bv && bv.TryGetValue<long>(out var b) && b >= 0 ? b : throw Bad("data_offsets[0] is not a non-negative integer");
        var end = offsets[1] is JsonValue ev && ev.TryGetValue<long>(out var en) && en >= 0 ? en : throw Bad("data_offsets[1] is not a non-negative integer");
        if (end < begin) throw Bad($"data_offsets [{begin}, {end}] end before they begin");
        long bytes;
        try
        {
            bytes = checked(shape.Aggregate(1L, (a, x) => checked(a * x)) * itemSize);
        }
        catch (OverflowException)
        {
            throw Bad($"shape [{string.Join(", ", shape)}] is too large");
        }
        if (bytes != end - begin)
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} needs {bytes} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    /// <summary>Reads one tensor as float32 (F32, F16, BF16 and F64 are converted exactly as torch converts them);
    /// other dtypes are refused.</summary>
    public Tensor ReadFloat32(string name)
    {
        var stored = Read(name);
        if (stored.dtype == ScalarType.Float32) return stored;
        using (stored) return stored.to_type(ScalarType.Float32);
    }

    /// <summary>Reads one float tensor in the dtype it is stored in (F32, F16, BF16 or F64); other dtypes are refused.
    /// The bytes go straight into the tensor's storage.</summary>
    public Tensor Read(string name)
    {
        if (!entries.TryGetValue(name, out var e)) throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");
        var dtype = e.DType switch
        {
            "F32" => ScalarType.Float32,
            "F16" => ScalarType.Float16,
            "BF16" => ScalarType.BFloat16,
            "F64" => ScalarType.Float64,
            _ => throw new InvalidDataException($"{Path}: tensor '{name}' has dtype {e.DType}, which cannot be loaded as a float weight"),
        };
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts are not supported");
        var result = empty(e.Shape, dtype);
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        stream.Seek(DataStart + e.Begin, SeekOrigin.Begin);
        // A span is at most 2 GiB, so a larger tensor is read in slices of its flattened storage.
        using var flat = result.view(-1);
        var itemSize = ItemSize(e.DType)!.Value;
        var slice = (1L << 30) / itemSize;
        for (long start = 0; start < flat.shape[0]; start += slice)
        {
            using var part = flat.narrow(0, start, Math.Min(slice, flat.shape[0] - start));
            stream.ReadExactly(part.bytes);
        }
        return result;
    }

    /// <summary>Writes tensors (float32, float16, bfloat16, float64, int64 or int32) to a safetensors file, names
    /// sorted, data tiled without gaps, header padded with spaces to a multiple of 8 bytes. The file is written to a
    /// temporary name and moved into place.</summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var (name, t) in list)
        {
            var dtype = t.dtype switch
            {
                ScalarType.Float32 => "F32",
                ScalarType.Float16 => "F16",
                ScalarType.BFloat16 => "BF16",
                ScalarType.Float64 => "F64",
                ScalarType.Int64 => "I64",
                ScalarType.Int32 => "I32",
                _ => throw new NotSupportedException($"tensor '{name}' has dtype {t.dtype}, which this writer does not support"),
            };
            var bytes = t.numel() * ItemSizes[dtype];
            var shape = new JsonArray();
            foreach (var d in t.shape) shape.Add(d);
            header[name] = new JsonObject { ["dtype"] = dtype, ["shape"] = shape, ["data_offsets"] = new JsonArray(offset, offset + bytes) };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8;
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)padded);
            stream.Write(lengthBytes);
            stream.Write(json);
            for (var i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
            foreach (var (_, t) in list)
            {
                using var scope = NewDisposeScope();
                var cpu = t.detach().cpu().contiguous();
                stream.Write(cpu.bytes);
            }
        }
        File.Move(tmp, path, overwrite: true);
    }
}

/// <summary>The weights of a model folder: a single <c>model.safetensors</c> or shards listed by
/// <c>model.safetensors.index.json</c>.</summary>
public sealed class SafetensorsCheckpoint
{
    private readonly Dictionary<string, SafetensorsFile> byName;

    private SafetensorsCheckpoint(string directory, Dictionary<string, SafetensorsFile> byName, IReadOnlyDictionary<string, string> metadata)
    {
        Directory = directory;
        this.byName = byName;
        Metadata = metadata;
    }

    /// <summary>The model folder.</summary>
    public string Directory { get; }

    /// <summary>Metadata of the (first) file.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>All tensor names.</summary>
    public IReadOnlyCollection<string> Names => byName.Keys;

    /// <summary>The entry of a tensor, or null.</summary>
    public SafetensorsEntry? Find(string name) => byName.TryGetValue(name, out var f) ? f.Entries[name] : null;

    /// <summary>Reads a tensor as float32.</summary>
    public Tensor ReadFloat32(string name) =>
        byName.TryGetValue(name, out var f) ? f.ReadFloat32(name) : throw new KeyNotFoundException($"{Directory}: no tensor named '{name}'");

    /// <summary>Reads one float tensor in its stored dtype (see <see cref="SafetensorsFile.Read"/>).</summary>
    public Tensor Read(string name) =>
        byName.TryGetValue(name, out var f) ? f.Read(name) : throw new KeyNotFoundException($"{Directory}: no tensor named '{name}'");

    /// <summary>Opens the weights of a model folder (validating every file's header).</summary>
    public static SafetensorsCheckpoint Open(string directory)
    {
        var single = System.IO.Path.Combine(directory, "model.safetensors");
        var index = System.IO.Path.Combine(directory, "model.safetensors.index.json");
        var byName = new Dictionary<string, SafetensorsFile>();
        if (File.Exists(single))
        {
            var file = SafetensorsFile.Open(single);
            foreach (var name in file.Entries.Keys) byName[name] = file;
            return new SafetensorsCheckpoint(directory, byName, file.Metadata);
        }
        if (!File.Exists(index))
            throw new FileNotFoundException($"{directory}: neither model.safetensors nor model.safetensors.index.json exists", single);
        JsonObject map;
        try
        {
            map = (JsonNode.Parse(File.ReadAllText(index)) as JsonObject)?["weight_map"] as JsonObject
                ?? throw new InvalidDataException($"{index}: 'weight_map' object is missing");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{index}: not valid JSON ({e.Message})", e);
        }
        var files = new Dictionary<string, SafetensorsFile>();
        IReadOnlyDictionary<string, string>? metadata = null;
        foreach (var (name, node) in map)
        {
            var shard = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new InvalidDataException($"{index}: weight_map entry '{name}' is not a file name");
            if (shard.Contains('/') || shard.Contains('\\') || shard.Contains(".."))
                throw new InvalidDataException($"{index}: weight_map entry '{name}' names '{shard}', which is not a file in the model folder");
            if (!files.TryGetValue(shard, out var file))
            {
                file = SafetensorsFile.Open(System.IO.Path.Combine(directory, shard));
                files[shard] = file;
                metadata ??= file.Metadata;
            }
            if (!file.Entries.ContainsKey(name)) throw new InvalidDataException($"{index}: tensor '{name}' is mapped to {shard}, which does not contain it");
            byName[name] = file;
        }
        return new SafetensorsCheckpoint(directory, byName, metadata ?? new Dictionary<string, string>());
    }
}
