namespace Unlearn.Models;

/// <summary>Checks and helpers for Hugging Face model folders.</summary>
public static class ModelFolder
{
    /// <summary>Files the tool's stages write into a model folder beside the weights (training and unlearning records).</summary>
    public static readonly IReadOnlySet<string> RecordFiles = new HashSet<string>(StringComparer.Ordinal) { "training.json", "unlearn.json" };

    /// <summary>Throws a clear error when a folder is not a loadable model folder.</summary>
    public static void Check(string dir, string key)
    {
        if (!Directory.Exists(dir))
            throw new InvalidDataException($"{key}: model folder '{dir}' does not exist. Point {key} at a Hugging Face model folder (config.json + model.safetensors + tokenizer files).");
        if (!File.Exists(Path.Combine(dir, "config.json")))
            throw new InvalidDataException($"{key}: '{dir}' has no config.json, so it is not a Hugging Face model folder.");
        if (!File.Exists(Path.Combine(dir, "model.safetensors")) && !File.Exists(Path.Combine(dir, "model.safetensors.index.json")))
            throw new InvalidDataException($"{key}: '{dir}' has no model.safetensors (or model.safetensors.index.json). Convert PyTorch .bin weights to safetensors; pickle files are never loaded.");
    }

    /// <summary>Sizes and times of a folder's files (a cheap identity for user model folders).</summary>
    public static string Stamp(string dir) =>
        string.Join(";", Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal).Select(f => $"{Path.GetFileName(f)}:{new FileInfo(f).Length}:{File.GetLastWriteTimeUtc(f).Ticks}"));

    /// <summary>Copies tokenizer files (everything but weights, config, records and checkpoints) from one model folder to
    /// another, each atomically and replacing what an interrupted attempt left.</summary>
    public static void CopyTokenizerFiles(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from))
        {
            var name = Path.GetFileName(file);
            if (name.StartsWith("model.safetensors", StringComparison.Ordinal) || name is "config.json" || RecordFiles.Contains(name)
                || name.Contains(".tmp-", StringComparison.Ordinal)) continue;
            var target = Path.Combine(to, name);
            var temp = target + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
            File.Copy(file, temp);
            File.Move(temp, target, overwrite: true);
        }
    }

    /// <summary>Deletes the resumable checkpoint of a finished stage.</summary>
    public static void RemoveCheckpoint(string dir)
    {
        var checkpoint = Path.Combine(dir, "checkpoint");
        if (Directory.Exists(checkpoint)) Directory.Delete(checkpoint, recursive: true);
    }
}
