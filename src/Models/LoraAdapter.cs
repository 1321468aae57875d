using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Unlearn.Models;

/// <summary>LoRA settings (Hu et al.): rank r, scaling alpha (the delta is alpha / r · B·A), dropout on the adapter's
/// input while training, and the linear layers adapted, by their last name segment (q_proj, v_proj, ...).</summary>
public sealed record LoraSettings(int Rank, double Alpha, double Dropout, IReadOnlyList<string> TargetModules);

/// <summary>Low-rank adapters on a model's linear layers: y = W·x + s·(alpha / r)·B·(A·x), with A [r, in] and B [out, r]
/// the only trained weights (the base stays as it is) and s the <see cref="Strength"/> (1 for the adapted model; model
/// mixing at α sets s = α, which is mixing the merged weights at α without a weight copy; see <see cref="AdapterMixer"/>).
/// Saved and loaded as a PEFT adapter folder (adapter_config.json and adapter_model.safetensors, PEFT key names), and mergeable into the base.</summary>
public sealed class LoraAdapter : IDisposable
{
    /// <summary>The PEFT adapter config file.</summary>
    public const string ConfigFile = "adapter_config.json";
    /// <summary>The PEFT adapter weights file.</summary>
    public const string WeightsFile = "adapter_model.safetensors";
    private const string KeyPrefix = "base_model.model.";

    private readonly List<Target> _targets;
    private readonly List<Linear.HookRemover> _hooks = [];
    private readonly CausalLM _model;

    private sealed record Target(string Module, Linear Layer, Parameter A, Parameter B);

    private LoraAdapter(CausalLM model, LoraSettings settings, List<Target> targets)
    {
        _model = model;
        Settings = settings;
        _targets = targets;
        foreach (var t in targets)
        {
            _hooks.Add(t.Layer.register_forward_hook((_, input, output) => Adapt(t, input, output)));
            Owner(t).AttachedWeights.AddRange([t.A, t.B]);
        }
    }

    // The decoder layer whose forward runs the adapted projection.
    private DecoderLayer Owner(Target t) => _model.Body.Layers.First(layer => layer.modules().Contains(t.Layer));

    /// <summary>The settings.</summary>
    public LoraSettings Settings { get; }

    /// <summary>Multiplier on the adapter delta: 1 = the adapted model, 0 = the base exactly, α = the model mix at α.</summary>
    public double Strength { get; set; } = 1;

    /// <summary>The trained weights (every A and B).</summary>
    public IReadOnlyList<Parameter> Parameters => _targets.SelectMany(t => new[] { t.A, t.B }).ToList();

    /// <summary>The adapted layers' module names (model.layers.0.self_attn.q_proj, ...).</summary>
    public IReadOnlyList<string> Modules => _targets.Select(t => t.Module).ToList();

    private double Scale => Strength * Settings.Alpha / Settings.Rank;

    private Tensor Adapt(Target t, Tensor input, Tensor output)
    {
        if (Strength == 0) return output;
        var x = Settings.Dropout > 0 && _model.training ? nn.functional.dropout(input, Settings.Dropout, training: true) : input;
        return output + nn.functional.linear(nn.functional.linear(x, t.A), t.B) * Scale;
    }

    /// <summary>Fresh adapters on <paramref name="model"/>: A uniform in ±1/√in (PEFT's Kaiming default), B zero, so
    /// the adapted model starts equal to the base. The same seed gives the same A.</summary>
    public static LoraAdapter Create(CausalLM model, LoraSettings settings, int seed)
    {
        var layers = Layers(model, settings, "lora");
        using var generator = new Generator((ulong)seed);
        var targets = new List<Target>();
        using (no_grad())
        {
            foreach (var (name, layer) in layers)
            {
                var (outFeatures, inFeatures) = (layer.weight!.shape[0], layer.weight.shape[1]);
                var bound = 1 / Math.Sqrt(inFeatures);
                var a = new Parameter(empty(settings.Rank, inFeatures).uniform_(-bound, bound, generator));
                var b = new Parameter(zeros(outFeatures, settings.Rank));
                targets.Add(new Target(name, layer, a, b));
            }
        }
        return new LoraAdapter(model, settings, targets);
    }

    private static List<(string Name, Linear Layer)> Layers(CausalLM model, LoraSettings settings, string where)
    {
        if (settings.Rank < 1) throw new ArgumentException($"{where}: rank must be >= 1, got {settings.Rank}");
        if (!(settings.Alpha > 0) || !double.IsFinite(settings.Alpha)) throw new ArgumentException($"{where}: alpha must be a finite number > 0, got {settings.Alpha}");
        if (settings.Dropout is < 0 or >= 1 || double.IsNaN(settings.Dropout)) throw new ArgumentException($"{where}: dropout must be in [0, 1), got {settings.Dropout}");
        if (settings.TargetModules.Count == 0) throw new ArgumentException($"{where}: target_modules is empty; name the linear layers to adapt, e.g. [q_proj, v_proj]");
        var linear = model.named_modules().Where(m => m.module is Linear).Select(m => (m.name, Layer: (Linear)m.module)).ToList();
        var available = linear.Select(m => m.name[(m.name.LastIndexOf('.') + 1)..]).Distinct().Order(StringComparer.Ordinal).ToList();
        var unknown = settings.TargetModules.Where(t => !available.Contains(t)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"{where}: target_modules names {string.Join(", ", unknown)}, which this model's linear layers do not have; it has {string.Join(", ", available)}");
        return linear.Where(m => settings.TargetModules.Contains(m.name[(m.name.LastIndexOf('.') + 1)..])).ToList();
    }

    /// <summary>Removes the hooks: the model computes with its own weights again; the adapter weights stay.</summary>
    public void Detach()
    {
        foreach (var h in _hooks) h.remove();
        if (_hooks.Count > 0)
            foreach (var t in _targets) Owner(t).AttachedWeights.RemoveAll(w => ReferenceEquals(w, t.A) || ReferenceEquals(w, t.B));
        _hooks.Clear();
    }

    /// <summary>Detaches the adapter and adds <paramref name="strength"/>·(alpha/r)·B·A into the adapted layers' weights,
    /// leaving a plain model (one that clones and saves as any other) equal to the adapted one at that strength.</summary>
    public void Merge(double strength = 1)
    {
        Detach();
        using var noGrad = no_grad();
        foreach (var t in _targets)
        {
            using var scope = NewDisposeScope();
            t.Layer.weight!.add_(matmul(t.B, t.A).mul_(strength * Settings.Alpha / Settings.Rank));
        }
    }

    /// <summary>Base weights of the adapted layers, for restoring them from the base checkpoint before another merge.</summary>
    internal IEnumerable<(string Key, Tensor Weight)> AdaptedWeights() => _targets.Select(t => (t.Module + ".weight", (Tensor)t.Layer.weight!));

    /// <summary>The base model in <paramref name="baseDir"/> with the PEFT adapter in <paramref name="adapterDir"/>
    /// merged into it: a plain model.</summary>
    public static CausalLM LoadMerged(string baseDir, string adapterDir)
    {
        var model = CausalLM.Load(baseDir);
        try
        {
            using var adapter = Load(model, adapterDir);
            adapter.Merge();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Writes a PEFT adapter folder: adapter_config.json and adapter_model.safetensors (float32) with PEFT's
    /// key names (base_model.model.{module}.lora_A.weight / lora_B.weight).</summary>
    public void Save(string dir, string baseModel)
    {
        Directory.CreateDirectory(dir);
        var config = new JsonObject
        {
            ["peft_type"] = "LORA", ["task_type"] = "CAUSAL_LM", ["base_model_name_or_path"] = baseModel,
            ["r"] = Settings.Rank, ["lora_alpha"] = Settings.Alpha, ["lora_dropout"] = Settings.Dropout,
            ["target_modules"] = new JsonArray(Settings.TargetModules.Select(m => (JsonNode)m).ToArray()),
            ["bias"] = "none", ["fan_in_fan_out"] = false, ["use_rslora"] = false, ["use_dora"] = false, ["inference_mode"] = true,
        };
        File.WriteAllText(Path.Combine(dir, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        SafetensorsFile.Write(Path.Combine(dir, WeightsFile),
            _targets.SelectMany(t => new[]
            {
                new KeyValuePair<string, Tensor>(KeyPrefix + t.Module + ".lora_A.weight", t.A),
                new KeyValuePair<string, Tensor>(KeyPrefix + t.Module + ".lora_B.weight", t.B),
            }), new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Loads a PEFT LoRA adapter folder onto <paramref name="model"/>. Refused, naming the file and key: a
    /// config that is not plain LoRA (rsLoRA, DoRA, fan_in_fan_out, trained biases), a missing, unexpected or misshapen
    /// weight, and non-finite values.</summary>
    public static LoraAdapter Load(CausalLM model, string dir)
    {
        var configPath = Path.Combine(dir, ConfigFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{dir}: {ConfigFile} is missing; an adapter folder holds {ConfigFile} and {WeightsFile} (PEFT format)", configPath);
        JsonObject config;
        try { config = JsonNode.Parse(File.ReadAllText(configPath)) as JsonObject ?? throw new InvalidDataException($"{configPath}: not a JSON object"); }
        catch (JsonException e) { throw new InvalidDataException($"{configPath}: not valid JSON ({e.Message})", e); }
        InvalidDataException Bad(string what) => new($"{configPath}: {what}");
        if (config["peft_type"]?.GetValue<string>() is not "LORA") throw Bad($"peft_type is '{config["peft_type"]}', only LORA adapters are supported");
        foreach (var flag in new[] { "use_rslora", "use_dora", "fan_in_fan_out" })
            if (config[flag] is JsonValue v && v.TryGetValue<bool>(out var on) && on) throw Bad($"{flag} is true, which this tool does not implement; use a plain LoRA adapter");
        if (config["bias"] is JsonValue bias && bias.GetValue<string>() != "none") throw Bad($"bias is '{bias}', only 'none' is supported");
        var targetsNode = config["target_modules"];
        var targetModules = targetsNode is JsonArray list ? list.Select(n => n!.GetValue<string>()).ToList()
            : targetsNode is JsonValue one ? [one.GetValue<string>()]
            : throw Bad("target_modules is missing");
        var settings = new LoraSettings(
            config["r"]?.GetValue<int>() ?? throw Bad("r is missing"),
            config["lora_alpha"]?.GetValue<double>() ?? throw Bad("lora_alpha is missing"),
            config["lora_dropout"]?.GetValue<double>() ?? 0, targetModules);
        var adapter = Create(model, settings, seed: 0);
        var weightsPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weightsPath)) { adapter.Dispose(); throw new FileNotFoundException($"{dir}: {WeightsFile} is missing", weightsPath); }
        try
        {
            var file = SafetensorsFile.Open(weightsPath);
            var expected = adapter._targets.SelectMany(t => new[] { (Key: KeyPrefix + t.Module + ".lora_A.weight", P: t.A), (Key: KeyPrefix + t.Module + ".lora_B.weight", P: t.B) }).ToList();
            using (no_grad())
            {
                foreach (var (key, p) in expected)
                {
                    var entry = file.Entries.GetValueOrDefault(key) ?? throw new InvalidDataException($"{weightsPath}: weight '{key}' is missing (the adapter was made for another model or other target_modules)");
                    if (!entry.Shape.SequenceEqual(p.shape))
                        throw new InvalidDataException($"{weightsPath}: weight '{key}' has shape [{string.Join(", ", entry.Shape)}] but this model and r = {settings.Rank} need [{string.Join(", ", p.shape)}]");
                    using var t = file.ReadFloat32(key);
                    if (!t.isfinite().all().item<bool>()) throw new InvalidDataException($"{weightsPath}: weight '{key}' holds non-finite values");
                    p.copy_(t);
                }
            }
            var unexpected = file.Entries.Keys.Except(expected.Select(e => e.Key)).Order(StringComparer.Ordinal).ToList();
            if (unexpected.Count > 0) throw new InvalidDataException($"{weightsPath}: weights this adapter's config does not describe: {string.Join(", ", unexpected.Take(5))}");
            return adapter;
        }
        catch
        {
            adapter.Dispose();
            throw;
        }
    }

    /// <summary>True when <paramref name="dir"/> is an adapter folder.</summary>
    public static bool IsAdapterFolder(string dir) => File.Exists(Path.Combine(dir, ConfigFile));

    /// <summary>Removes the hooks (the model is the base again) and frees the adapter weights.</summary>
    public void Dispose()
    {
        Detach();
        foreach (var t in _targets) { t.A.Dispose(); t.B.Dispose(); }
        _targets.Clear();
    }
}
