using Unlearn.Plugins;
using Unlearn.Plugins.GradientAscent;

namespace Unlearn.Objectives.Tests;

/// <summary>A catalog that records what a module registers.</summary>
internal sealed class RecordingCatalog : IPluginCatalog
{
    public List<(PluginInfo Info, Type Options, Func<object, IObjective> Create)> Objectives { get; } = [];

    public void AddObjective<TOptions>(PluginInfo info, Func<TOptions, IObjective> create) where TOptions : class, new() =>
        Objectives.Add((info, typeof(TOptions), o => create((TOptions)o)));

    public void AddController<TOptions>(PluginInfo info, Func<TOptions, IController> create) where TOptions : class, new() =>
        throw new InvalidOperationException("the objectives plugin registers no controllers");

    public void AddCalibrator<TOptions>(PluginInfo info, Func<TOptions, ICalibrator> create) where TOptions : class, new() =>
        throw new InvalidOperationException("the objectives plugin registers no calibrators");

    public void AddMetric<TOptions>(PluginInfo info, Func<TOptions, IMetric> create) where TOptions : class, new() =>
        throw new InvalidOperationException("the objectives plugin registers no metrics");

    public void AddAttack<TOptions>(PluginInfo info, Func<TOptions, IAttack> create) where TOptions : class, new() =>
        throw new InvalidOperationException("the objectives plugin registers no attacks");

    public IObjective Create(string name, object options) => Objectives.Single(o => o.Info.Name == name).Create(options);
}

public class RegistrationTests
{
    [Fact]
    public void AssemblyAttributeNamesTheModule()
    {
        var attribute = typeof(GradientAscentModule).Assembly.GetCustomAttributes(typeof(UnlearnPluginAttribute), false).Cast<UnlearnPluginAttribute>().Single();
        Assert.Equal(typeof(GradientAscentModule), attribute.ModuleType);
    }

    [Fact]
    public void ModuleRegistersEveryObjectiveWithDefaultsThatValidate()
    {
        var catalog = new RecordingCatalog();
        new GradientAscentModule().Register(catalog);
        Assert.Equal(
            ["ce-u", "dpo", "ga", "gd", "kl", "npo", "npo-gd", "npo-kl", "pdu", "po", "rmu", "satimp", "simnpo", "undial", "wga"],
            catalog.Objectives.Select(o => o.Info.Name).Order());
        Assert.Contains("graddiff", catalog.Objectives.Single(o => o.Info.Name == "gd").Info.Aliases);
        foreach (var (info, optionsType, create) in catalog.Objectives)
        {
            var options = Activator.CreateInstance(optionsType)!;
            Assert.Empty(((IValidatableOptions)options).Validate());
            Assert.NotNull(create(options));
            Assert.False(string.IsNullOrWhiteSpace(info.Description));
        }
    }

    [Theory]
    [InlineData("ga", ObjectiveNeeds.None)]
    [InlineData("gd", ObjectiveNeeds.RetainBatch)]
    [InlineData("kl", ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel)]
    [InlineData("npo", ObjectiveNeeds.ReferenceForgetLoss)]
    [InlineData("npo-gd", ObjectiveNeeds.ReferenceForgetLoss | ObjectiveNeeds.RetainBatch)]
    [InlineData("npo-kl", ObjectiveNeeds.ReferenceForgetLoss | ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel)]
    [InlineData("simnpo", ObjectiveNeeds.None)]
    [InlineData("po", ObjectiveNeeds.RetainBatch)]
    [InlineData("dpo", ObjectiveNeeds.ReferenceModel)]
    [InlineData("rmu", ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel)]
    [InlineData("wga", ObjectiveNeeds.RetainBatch)]
    [InlineData("satimp", ObjectiveNeeds.RetainBatch)]
    [InlineData("ce-u", ObjectiveNeeds.None)]
    [InlineData("undial", ObjectiveNeeds.ReferenceModel)]
    [InlineData("pdu", ObjectiveNeeds.RetainBatch | ObjectiveNeeds.ReferenceModel)]
    public void DefaultsDeclareExactlyWhatEachObjectiveNeeds(string name, ObjectiveNeeds needs)
    {
        var catalog = new RecordingCatalog();
        new GradientAscentModule().Register(catalog);
        var (_, optionsType, create) = catalog.Objectives.Single(o => o.Info.Name == name);
        Assert.Equal(needs, create(Activator.CreateInstance(optionsType)!).Needs);
    }

    [Fact]
    public void DefaultsFollowTheSpec()
    {
        Assert.Equal(0.5, new NpoOptions().Beta);
        Assert.Equal((0.5, 1.0), (new NpoRetainOptions().Beta, new NpoRetainOptions().RetainWeight));
        Assert.Equal((2.5, 0.0), (new SimNpoOptions().Beta, new SimNpoOptions().Gamma));
        Assert.Equal(0.1, new DpoOptions().Beta);
        Assert.Equal(1.0, new GdOptions().RetainWeight);
        Assert.Equal(1.0, new KlOptions().RetainWeight);
        Assert.Equal(1.0, new PoOptions().RetainWeight);
        Assert.Equal(6.5, new RmuOptions().SteeringCoefficient);
        Assert.Equal((1.0, 1.0, (double?)null), (new GaOptions().Temperature, new GaOptions().LikelihoodCap, new GaOptions().Bound));
        Assert.Equal((1.0, 1.0), (new WgaOptions().Beta, new WgaOptions().RetainWeight));
        Assert.Equal((5.0, 1.0, 0.1), (new SatImpOptions().Beta1, new SatImpOptions().Beta2, new SatImpOptions().RetainWeight));
        Assert.Equal((1, 0.0), (new CeuOptions().IgnoreFirstAnswerTokens, new CeuOptions().RetainWeight));
        Assert.Equal((10.0, 0.0), (new UndialOptions().Strength, new UndialOptions().RetainWeight));
        Assert.Equal((0.1, (double?)null, 1.0, 1.0), (new PduOptions().RetainTolerance, new PduOptions().RetainBound, new PduOptions().DualStepSize, new PduOptions().InitialDual));
    }
}

public class OptionsValidationTests
{
    [Fact]
    public void InvalidValuesAreReportedByOptionName()
    {
        Assert.Contains("beta must be > 0, got -1", new NpoOptions { Beta = -1 }.Validate());
        Assert.Contains(new NpoRetainOptions { RetainWeight = -0.5 }.Validate(), m => m.StartsWith("retain_weight must be >= 0", StringComparison.Ordinal));
        Assert.Contains(new GaOptions { Temperature = 0 }.Validate(), m => m.StartsWith("temperature must be > 0", StringComparison.Ordinal));
        Assert.Contains(new GdOptions { LikelihoodCap = 1.5 }.Validate(), m => m.StartsWith("likelihood_cap must be in (0, 1]", StringComparison.Ordinal));
        Assert.Contains(new KlOptions { LikelihoodCap = 0 }.Validate(), m => m.StartsWith("likelihood_cap", StringComparison.Ordinal));
        Assert.Contains(new GaOptions { Bound = -2 }.Validate(), m => m.StartsWith("bound must be > 0", StringComparison.Ordinal));
        Assert.Contains(new SimNpoOptions { Beta = 0 }.Validate(), m => m.StartsWith("beta", StringComparison.Ordinal));
        Assert.Contains(new DpoOptions { Beta = double.NaN }.Validate(), m => m.StartsWith("beta", StringComparison.Ordinal));
        Assert.Contains(new PoOptions { RefusalsFile = "/no/such/refusals.txt" }.Validate(), m => m.StartsWith("refusals_file", StringComparison.Ordinal));
        Assert.Contains(new RmuOptions { Layer = 0 }.Validate(), m => m.StartsWith("layer must be >= 1", StringComparison.Ordinal));
        Assert.Contains(new RmuOptions { SteeringCoefficient = -6.5 }.Validate(), m => m.StartsWith("steering_coefficient", StringComparison.Ordinal));
        Assert.Contains(new RmuOptions { Alpha = -1 }.Validate(), m => m.StartsWith("alpha", StringComparison.Ordinal));
        Assert.Contains(new RmuOptions { UpdateLayers = [0, 2] }.Validate(), m => m.StartsWith("update_layers", StringComparison.Ordinal));
        Assert.Contains("beta must be >= 0, got -1", new WgaOptions { Beta = -1 }.Validate());
        Assert.Contains(new WgaOptions { LikelihoodCap = 2 }.Validate(), m => m.StartsWith("likelihood_cap", StringComparison.Ordinal));
        Assert.Contains(new SatImpOptions { Beta2 = double.NaN }.Validate(), m => m.StartsWith("beta2 must be >= 0", StringComparison.Ordinal));
        Assert.Contains(new SatImpOptions { RetainWeight = -1 }.Validate(), m => m.StartsWith("retain_weight", StringComparison.Ordinal));
        Assert.Contains("ignore_first_answer_tokens must be >= 0, got -2", new CeuOptions { IgnoreFirstAnswerTokens = -2 }.Validate());
        Assert.Contains(new UndialOptions { Strength = 0 }.Validate(), m => m.StartsWith("strength must be > 0", StringComparison.Ordinal));
        Assert.Contains(new PduOptions { RetainBound = -1 }.Validate(), m => m.StartsWith("retain_bound must be > 0", StringComparison.Ordinal));
        Assert.Contains(new PduOptions { DualStepSize = 0 }.Validate(), m => m.StartsWith("dual_step_size", StringComparison.Ordinal));
        Assert.Contains(new PduOptions { InitialDual = -1 }.Validate(), m => m.StartsWith("initial_dual", StringComparison.Ordinal));
    }
}
