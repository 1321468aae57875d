using System.ComponentModel;
using System.Reflection;
using Unlearn.Plugins;
using Unlearn.Plugins.Controls;
using Unlearn.Plugins.Controls.Bounded;
using Unlearn.Plugins.Controls.Calibration;
using Unlearn.Plugins.Controls.EarlyStopping;

namespace Unlearn.Controls.Tests;

public sealed class RegistrationTests
{
    private sealed class RecordingCatalog : IPluginCatalog
    {
        public List<(PluginKind Kind, PluginInfo Info, Type Options, object Created)> Entries { get; } = [];

        public void AddObjective<TOptions>(PluginInfo info, Func<TOptions, IObjective> create) where TOptions : class, new() =>
            Entries.Add((PluginKind.Objective, info, typeof(TOptions), create(new TOptions())));

        public void AddController<TOptions>(PluginInfo info, Func<TOptions, IController> create) where TOptions : class, new() =>
            Entries.Add((PluginKind.Controller, info, typeof(TOptions), create(new TOptions())));

        public void AddCalibrator<TOptions>(PluginInfo info, Func<TOptions, ICalibrator> create) where TOptions : class, new() =>
            Entries.Add((PluginKind.Calibrator, info, typeof(TOptions), create(new TOptions())));

        public void AddMetric<TOptions>(PluginInfo info, Func<TOptions, IMetric> create) where TOptions : class, new() =>
            Entries.Add((PluginKind.Metric, info, typeof(TOptions), create(new TOptions())));

        public void AddAttack<TOptions>(PluginInfo info, Func<TOptions, IAttack> create) where TOptions : class, new() =>
            Entries.Add((PluginKind.Attack, info, typeof(TOptions), create(new TOptions())));
    }

    [Fact]
    public void AssemblyAttribute_NamesTheModule()
    {
        var attribute = typeof(ControlsModule).Assembly.GetCustomAttribute<UnlearnPluginAttribute>();
        Assert.Equal(typeof(ControlsModule), attribute!.ModuleType);
    }

    [Fact]
    public void Module_RegistersEveryControl_WithDefaultOptions()
    {
        var catalog = new RecordingCatalog();
        new ControlsModule().Register(catalog);
        var byName = catalog.Entries.ToDictionary(e => e.Info.Name);
        Assert.Equal(["divergence-guard", "early-stopping", "gradient-ceiling", "lr-backoff", "model-mixing"], byName.Keys.Order());
        Assert.Equal(PluginKind.Calibrator, byName["model-mixing"].Kind);
        Assert.IsType<ModelMixingCalibrator>(byName["model-mixing"].Created);
        Assert.IsType<EarlyStoppingController>(byName["early-stopping"].Created);
        Assert.IsType<GradientCeilingController>(byName["gradient-ceiling"].Created);
        Assert.IsType<LearningRateBackoffController>(byName["lr-backoff"].Created);
        Assert.IsType<DivergenceGuardController>(byName["divergence-guard"].Created);
        Assert.All(catalog.Entries.Where(e => e.Kind != PluginKind.Calibrator), e => Assert.Equal(PluginKind.Controller, e.Kind));
        Assert.All(catalog.Entries, e => Assert.False(string.IsNullOrWhiteSpace(e.Info.Description)));
    }

    [Fact]
    public void EveryOption_HasADescription_AndDefaultsValidate()
    {
        var catalog = new RecordingCatalog();
        new ControlsModule().Register(catalog);
        foreach (var (_, info, options, _) in catalog.Entries)
        {
            var instance = (IValidatableOptions)Activator.CreateInstance(options)!;
            Assert.Empty(instance.Validate());
            foreach (var p in options.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                Assert.False(string.IsNullOrWhiteSpace(p.GetCustomAttribute<DescriptionAttribute>()?.Description), $"{info.Name}.{p.Name} has no description");
        }
    }
}
