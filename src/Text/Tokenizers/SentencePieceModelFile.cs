namespace Unlearn.Text;

/// <summary>The special ids of a SentencePiece <c>tokenizer.model</c> (a <c>ModelProto</c> protocol buffer) and a copy
/// that Microsoft.ML.Tokenizers can load. That library indexes its vocabulary with the BOS and EOS ids, so a model that
/// disables them (<c>bos_id: -1</c> in T5's and ALBERT's models, <c>eos_id: -1</c> in ALBERT's) fails there with an
/// index error; the copy names the unknown piece instead. Encoding never adds BOS or EOS, so its ids are unchanged.
/// <see cref="Pieces"/> lists every piece by id, control symbols such as ALBERT's <c>[SEP]</c> included (that library's
/// vocabulary leaves them out).</summary>
internal sealed record SentencePieceModelFile(byte[] LoadableModel, IReadOnlyList<string> Pieces, int UnknownId, int? BosId, int? EosId)
{
    // sentencepiece_model.proto: ModelProto.pieces = 1 (SentencePiece.piece = 1), trainer_spec = 2;
    // TrainerSpec.unk_id = 40, bos_id = 41, eos_id = 42.
    private const int PiecesField = 1;
    private const int TrainerSpecField = 2;
    private const int UnknownIdField = 40;
    private const int BosIdField = 41;
    private const int EosIdField = 42;

    /// <summary>Reads the ids and makes the loadable copy.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a protocol buffer.</exception>
    public static SentencePieceModelFile Read(byte[] model)
    {
        var fields = Fields(model);
        var pieces = fields.Where(f => f.Number == PiecesField && f.WireType == 2)
            .Select(f => Fields(f.Bytes).FirstOrDefault(p => p.Number == 1 && p.WireType == 2).Bytes is { } text
                ? System.Text.Encoding.UTF8.GetString(text) : "").ToList();
        var spec = fields.FirstOrDefault(f => f.Number == TrainerSpecField && f.WireType == 2);
        if (spec.Bytes is null) return new SentencePieceModelFile(model, pieces, 0, 1, 2);
        var specFields = Fields(spec.Bytes);
        int Id(int field, int fallback) => specFields.LastOrDefault(f => f.Number == field && f.WireType == 0) is { Bytes: not null } f
            ? (int)ReadVarint(f.Bytes, 0, out _) : fallback;
        var unknown = Id(UnknownIdField, 0);
        var bos = Id(BosIdField, 1);
        var eos = Id(EosIdField, 2);
        if (bos >= 0 && eos >= 0) return new SentencePieceModelFile(model, pieces, unknown, bos, eos);
        var patchedSpec = Write(specFields.Where(f => f.Number is not (BosIdField or EosIdField) || f.WireType != 0)
            .Append(Varint(BosIdField, bos >= 0 ? bos : unknown)).Append(Varint(EosIdField, eos >= 0 ? eos : unknown)));
        var patched = Write(fields.Select(f => f.Number == TrainerSpecField && f.WireType == 2 ? f with { Bytes = patchedSpec } : f));
        return new SentencePieceModelFile(patched, pieces, unknown, bos >= 0 ? bos : null, eos >= 0 ? eos : null);
    }

    private readonly record struct Field(int Number, int WireType, byte[] Bytes);

    private static List<Field> Fields(byte[] data)
    {
        var fields = new List<Field>();
        var at = 0;
        while (at < data.Length)
        {
            var key = ReadVarint(data, at, out at);
            var (number, wire) = ((int)(key >> 3), (int)(key & 7));
            var start = at;
            switch (wire)
            {
                case 0: ReadVarint(data, at, out at); break;
                case 1: at += 8; break;
                case 2:
                    var length = checked((int)ReadVarint(data, at, out at));
                    start = at;
                    at += length;
                    break;
                case 5: at += 4; break;
                default: throw new InvalidDataException($"unsupported protocol buffer wire type {wire} at byte {start}");
            }
            if (at > data.Length) throw new InvalidDataException("truncated protocol buffer");
            fields.Add(new Field(number, wire, data[start..at]));
        }
        return fields;
    }

    private static byte[] Write(IEnumerable<Field> fields)
    {
        using var output = new MemoryStream();
        foreach (var field in fields)
        {
            WriteVarint(output, ((ulong)field.Number << 3) | (uint)field.WireType);
            if (field.WireType == 2) WriteVarint(output, (ulong)field.Bytes.Length);
            output.Write(field.Bytes);
        }
        return output.ToArray();
    }

    private static Field Varint(int number, int value)
    {
        using var bytes = new MemoryStream();
        WriteVarint(bytes, (ulong)(long)value);
        return new Field(number, 0, bytes.ToArray());
    }

    private static ulong ReadVarint(byte[] data, int at, out int next)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= data.Length) throw new InvalidDataException("truncated protocol buffer varint");
            var b = data[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                next = at;
                return value;
            }
        }
        throw new InvalidDataException("protocol buffer varint longer than 10 bytes");
    }

    private static void WriteVarint(Stream output, ulong value)
    {
        while (value >= 0x80)
        {
            output.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        output.WriteByte((byte)value);
    }
}
