using System.Reflection;
using Unlearn.Plugins;
using Unlearn.Plugins.Attacks;

namespace Unlearn.Attacks.Tests;

public sealed class RegistrationTests
{
    private sealed class RecordingCatalog : IPluginCatalog
    {
        public List<(PluginInfo Info, IAttack Attack)> Attacks { get; } = [];

        public void AddObjective<TOptions>(PluginInfo info, Func<TOptions, IObjective> create) where TOptions : class, new() =>
            throw new InvalidOperationException("the attacks plugin registers no objective");

        public void AddController<TOptions>(PluginInfo info, Func<TOptions, IController> create) where TOptions : class, new() =>
            throw new InvalidOperationException("the attacks plugin registers no controller");

        public void AddCalibrator<TOptions>(PluginInfo info, Func<TOptions, ICalibrator> create) where TOptions : class, new() =>
            throw new InvalidOperationException("the attacks plugin registers no calibrator");

        public void AddMetric<TOptions>(PluginInfo info, Func<TOptions, IMetric> create) where TOptions : class, new() =>
            throw new InvalidOperationException("the attacks plugin registers no metric");

        public void AddAttack<TOptions>(PluginInfo info, Func<TOptions, IAttack> create) where TOptions : class, new() =>
            Attacks.Add((info, create(new TOptions())));
    }

    [Fact]
    public void AssemblyAttributeNamesTheModule() =>
        Assert.Equal(typeof(AttacksModule), typeof(AttacksModule).Assembly.GetCustomAttribute<UnlearnPluginAttribute>()?.ModuleType);

    [Fact]
    public void RegistersTheFiveAttacksWithDefaultsThatWork()
    {
        var catalog = new RecordingCatalog();
        new AttacksModule().Register(catalog);
        Assert.Equal(["jailbreak", "noise", "probe", "quantize", "relearn"], catalog.Attacks.Select(a => a.Info.Name).Order());
        Assert.Equal(["quantize", "relearn"], catalog.Attacks.Where(a => a.Attack.ChangesWeights).Select(a => a.Info.Name).Order());
    }
}
