using System.Text;
using Unlearn.Models;
using Unlearn.Tests;
using static TorchSharp.torch;

namespace Unlearn.Models.Tests;

public class SafetensorsTests : IDisposable
{
    private readonly string dir = TestPaths.NewTempDir("safetensors");

    public void Dispose() => Directory.Delete(dir, true);

    private string WriteRaw(string header, int dataBytes, long? declaredLength = null)
    {
        var path = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".safetensors");
        var h = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes(declaredLength ?? h.Length));
        f.Write(h);
        f.Write(new byte[dataBytes]);
        return path;
    }

    private static string Reject(string path) => Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path)).Message;

    [Fact]
    public void HeaderNamingATensorTwiceIsRefused()
    {
        var path = WriteRaw("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        Assert.Equal($"{path}: the header names 'w' twice; a safetensors header lists each tensor once (re-save the checkpoint)", Reject(path));
    }

    [Fact]
    public void WriteThenReadRoundTripsValuesAndMetadata()
    {
        var path = Path.Combine(dir, "t.safetensors");
        using var scope = NewDisposeScope();
        var a = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        var b = tensor(new float[] { -1.5f });
        SafetensorsFile.Write(path, [new("b", b), new("a", a)], new Dictionary<string, string> { ["format"] = "pt" });
        var file = SafetensorsFile.Open(path);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(new SafetensorsEntry("a", "F32", [2, 3], 0, 24), file.Entries["a"] with { Shape = file.Entries["a"].Shape }, new EntryComparer());
        Assert.True(file.ReadFloat32("a").equal(a).all().item<bool>());
        Assert.Equal(-1.5f, file.ReadFloat32("b").item<float>());
        Assert.Equal(0, file.DataStart % 8);
    }

    private sealed class EntryComparer : IEqualityComparer<SafetensorsEntry>
    {
        public bool Equals(SafetensorsEntry? x, SafetensorsEntry? y) =>
            x!.Name == y!.Name && x.DType == y.DType && x.Shape.SequenceEqual(y.Shape) && x.Begin == y.Begin && x.End == y.End;

        public int GetHashCode(SafetensorsEntry obj) => obj.Name.GetHashCode();
    }

    [Fact]
    public void HalfPrecisionValuesAreConvertedExactly()
    {
        // F16 0x3C00 = 1.0, 0xC000 = -2.0; BF16 0x4049 = 3.140625.
        var header = """{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"g":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}""";
        var path = Path.Combine(dir, "half.safetensors");
        var hb = Encoding.UTF8.GetBytes(header);
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((long)hb.Length));
            f.Write(hb);
            f.Write(new byte[] { 0x00, 0x3C, 0x00, 0xC0, 0x49, 0x40 });
        }
        var file = SafetensorsFile.Open(path);
        using var scope = NewDisposeScope();
        Assert.Equal(new[] { 1.0f, -2.0f }, file.ReadFloat32("h").data<float>().ToArray());
        Assert.Equal(3.140625f, file.ReadFloat32("g").item<float>());
    }

    [Fact]
    public void TruncatedFileIsRejected()
    {
        var msg = Reject(WriteRaw("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8));
        Assert.Contains("'w'", msg);
        Assert.Contains("past the end", msg);
        Assert.Contains(".safetensors", msg);
    }

    [Fact]
    public void TooShortFileIsRejected()
    {
        var path = Path.Combine(dir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("not a safetensors file", Reject(path));
    }

    [Fact]
    public void HugeHeaderLengthIsRejectedWithoutReadingIt()
    {
        var msg = Reject(WriteRaw("""{}""", 0, declaredLength: long.MaxValue));
        Assert.Contains("header length", msg);
        msg = Reject(WriteRaw("""{}""", 0, declaredLength: 1000));
        Assert.Contains("header length 1000", msg);
    }

    [Fact]
    public void BadJsonIsRejected() =>
        Assert.Contains("not valid JSON", Reject(WriteRaw("""{"w": [1,""", 0)));

    [Fact]
    public void UnknownDtypeIsRejected()
    {
        var msg = Reject(WriteRaw("""{"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}}""", 4));
        Assert.Contains("'w'", msg);
        Assert.Contains("unknown dtype 'F12'", msg);
    }

    [Fact]
    public void ShapeSizeMismatchIsRejected()
    {
        var msg = Reject(WriteRaw("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""", 20));
        Assert.Contains("needs 24 bytes", msg);
        Assert.Contains("'w'", msg);
    }

    [Fact]
    public void OverlappingTensorsAreRejected()
    {
        var msg = Reject(WriteRaw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12));
        Assert.Contains("'b'", msg);
        Assert.Contains("overlap", msg);
    }

    [Fact]
    public void GapsAndTrailingBytesAreRejected()
    {
        var gap = Reject(WriteRaw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", 12));
        Assert.Contains("gap", gap);
        var trailing = Reject(WriteRaw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 16));
        Assert.Contains("cover 4 bytes but the data section has 16", trailing);
    }

    [Fact]
    public void BadOffsetsAreRejected()
    {
        Assert.Contains("end before they begin", Reject(WriteRaw("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}""", 8)));
        Assert.Contains("data_offsets", Reject(WriteRaw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 4)));
    }

    [Fact]
    public void LoadNamesMissingAndMisshapedWeights()
    {
        using var model = CausalLM.Create(TestModels.Gpt2, 0);
        model.Save(dir);
        var path = Path.Combine(dir, "model.safetensors");
        var kept = SafetensorsFile.Open(path);
        using (var scope = NewDisposeScope())
        {
            var tensors = kept.Entries.Keys.Where(k => k != "transformer.ln_f.bias").Select(k => new KeyValuePair<string, Tensor>(k, kept.ReadFloat32(k))).ToList();
            SafetensorsFile.Write(path, tensors);
        }
        var msg = Assert.Throws<InvalidDataException>(() => CausalLM.Load(dir)).Message;
        Assert.Contains("'transformer.ln_f.bias' is missing", msg);
    }
}
