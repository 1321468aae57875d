namespace Unlearn.Models;

/// <summary>Model mixing θ(α) = (1 − α)·θ_orig + α·θ_unl into one resident model, the same instance for every α.</summary>
public interface IModelMixer : IDisposable
{
    /// <summary>The one model every mix is written into.</summary>
    CausalLM Model { get; }

    /// <summary>Sets <see cref="Model"/> to θ(α) and returns it.</summary>
    CausalLM Mix(double alpha);

    /// <summary>The mixer for an unlearned folder: <see cref="AdapterMixer"/> for a LoRA adapter folder, else
    /// <see cref="CheckpointMixer"/>.</summary>
    static IModelMixer Open(string originalDir, string unlearnedDir) => LoraAdapter.IsAdapterFolder(unlearnedDir)
        ? new AdapterMixer(originalDir, unlearnedDir)
        : new CheckpointMixer(originalDir, unlearnedDir);
}

/// <summary>Mixing full models with one resident model: it is loaded from the unlearned folder, and each
/// <see cref="Mix"/> rewrites it tensor by tensor from the two checkpoints (see
/// <see cref="ModelWeights.Interpolate(CausalLM, SafetensorsCheckpoint, SafetensorsCheckpoint, double)"/>), so neither
/// θ_orig nor a second copy of θ_unl is held in memory, and α = 0 or 1 restores either one exactly.</summary>
public sealed class CheckpointMixer : IModelMixer
{
    private readonly SafetensorsCheckpoint _original;
    private readonly SafetensorsCheckpoint _unlearned;
    private double _alpha = 1;

    /// <summary>Opens both checkpoints (validating their headers) and loads the unlearned model.</summary>
    public CheckpointMixer(string originalDir, string unlearnedDir)
    {
        _original = SafetensorsCheckpoint.Open(originalDir);
        _unlearned = SafetensorsCheckpoint.Open(unlearnedDir);
        Model = CausalLM.Load(unlearnedDir);
    }

    /// <inheritdoc />
    public CausalLM Model { get; }

    /// <inheritdoc />
    public CausalLM Mix(double alpha)
    {
        if (alpha != _alpha)
        {
            ModelWeights.Interpolate(Model, _original, _unlearned, alpha);
            _alpha = alpha;
        }
        return Model;
    }

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();
}

/// <summary>Mixing a LoRA result: θ_unl = θ_orig + Δ with Δ = (alpha/r)·B·A on the adapted layers, so θ(α) = θ_orig + α·Δ.
/// The one resident model is the original; each <see cref="Mix"/> restores the adapted layers' weights from the
/// original checkpoint and adds α·Δ (no other weight is touched, none copied). The model is a plain one (no hooks).</summary>
public sealed class AdapterMixer : IModelMixer
{
    private readonly SafetensorsCheckpoint _original;
    private readonly LoraAdapter _adapter;
    private double _alpha;

    /// <summary>Loads the original model and the adapter (detached, at α = 0).</summary>
    public AdapterMixer(string originalDir, string adapterDir)
    {
        _original = SafetensorsCheckpoint.Open(originalDir);
        Model = CausalLM.Load(originalDir);
        try
        {
            _adapter = LoraAdapter.Load(Model, adapterDir);
            _adapter.Detach();
        }
        catch
        {
            Model.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public CausalLM Model { get; }

    /// <inheritdoc />
    public CausalLM Mix(double alpha)
    {
        if (double.IsNaN(alpha) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be finite");
        if (alpha == _alpha) return Model;
        using (TorchSharp.torch.no_grad())
        {
            foreach (var (key, weight) in _adapter.AdaptedWeights())
            {
                using var scope = TorchSharp.torch.NewDisposeScope();
                weight.copy_(_original.ReadFloat32(key));
            }
        }
        if (alpha != 0) _adapter.Merge(alpha);
        _alpha = alpha;
        return Model;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _adapter.Dispose();
        Model.Dispose();
    }
}
