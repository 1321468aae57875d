using System.Text.Json.Nodes;

namespace Unlearn.Text;

/// <summary>Special-token settings of a model folder, merged from tokenizer_config.json (first), special_tokens_map.json
/// and config.json (ids only).</summary>
internal sealed record SpecialTokenConfig(
    string? EosToken, string? BosToken, string? PadToken, int? EosId, int? BosId, int? PadId, bool? AddBos)
{
    public static SpecialTokenConfig Read(string dir)
    {
        string? eos = null, bos = null, pad = null;
        int? eosId = null, bosId = null, padId = null;
        bool? addBos = null;
        foreach (var name in new[] { "tokenizer_config.json", "special_tokens_map.json" })
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) continue;
            var json = ModelTokenizer.ReadJsonObject(path);
            eos ??= TokenText(json["eos_token"]);
            bos ??= TokenText(json["bos_token"]);
            pad ??= TokenText(json["pad_token"]);
            if (addBos is null && json["add_bos_token"] is JsonValue v && v.TryGetValue<bool>(out var b)) addBos = b;
        }
        var configPath = Path.Combine(dir, "config.json");
        if (File.Exists(configPath))
        {
            var json = ModelTokenizer.ReadJsonObject(configPath);
            eosId = FirstInt(json["eos_token_id"]);
            bosId = FirstInt(json["bos_token_id"]);
            padId = FirstInt(json["pad_token_id"]);
        }
        return new SpecialTokenConfig(eos, bos, pad, eosId, bosId, padId, addBos);
    }

    /// <summary>EOS: the configured token, else the configured id, else the format's default token.</summary>
    public (int Id, string? Token) ResolveEos(IReadOnlyDictionary<string, int> ids, string? defaultToken, string dir)
    {
        if (EosToken is { } t)
            return ids.TryGetValue(t, out var id) ? (id, t)
                : throw new TokenizerException($"{dir}: eos_token \"{t}\" is not in the vocabulary");
        if (EosId is { } configured) return (configured, null);
        if (defaultToken is not null && ids.TryGetValue(defaultToken, out var d)) return (d, defaultToken);
        throw new TokenizerException($"{dir}: no end-of-sequence token; set eos_token in tokenizer_config.json or eos_token_id in config.json");
    }

    /// <summary>An optional special: the configured token if in the vocabulary, else the configured id, else the fallback.</summary>
    public int? ResolveOptional(string? token, int? id, IReadOnlyDictionary<string, int> ids, int? fallback) =>
        token is not null && ids.TryGetValue(token, out var fromToken) ? fromToken : id ?? fallback;

    private static string? TokenText(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };

    private static int? FirstInt(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        JsonArray { Count: > 0 } a when a[0] is JsonValue first && first.TryGetValue<int>(out var j) => j,
        _ => null,
    };
}
