using System.ComponentModel;
using System.Reflection;
using Unlearn.Plugins;
using Unlearn.Plugins.Metrics;

namespace Unlearn.Metrics.Tests;

public class RegistrationTests
{
    private sealed class RecordingCatalog : IPluginCatalog
    {
        public List<(PluginInfo Info, Type OptionsType, IMetric Metric)> Metrics { get; } = [];

        public void AddObjective<TOptions>(PluginInfo info, Func<TOptions, IObjective> create) where TOptions : class, new() =>
            throw new InvalidOperationException("the metrics plugin registers no objective");

        public void AddController<TOptions>(PluginInfo info, Func<TOptions, IController> create) where TOptions : class, new() =>
            throw new InvalidOperationException("the metrics plugin registers no controller");

        public void AddCalibrator<TOptions>(PluginInfo info, Func<TOptions, ICalibrator> create) where TOptions : class, new() =>
            throw new InvalidOperationException("the metrics plugin registers no calibrator");

        public void AddMetric<TOptions>(PluginInfo info, Func<TOptions, IMetric> create) where TOptions : class, new() =>
            Metrics.Add((info, typeof(TOptions), create(new TOptions())));

        public void AddAttack<TOptions>(PluginInfo info, Func<TOptions, IAttack> create) where TOptions : class, new() =>
            throw new InvalidOperationException("the metrics plugin registers no attack");
    }

    private static RecordingCatalog Registered()
    {
        var catalog = new RecordingCatalog();
        new MetricsModule().Register(catalog);
        return catalog;
    }

    [Fact]
    public void Assembly_attribute_names_the_module()
    {
        var attribute = typeof(MetricsModule).Assembly.GetCustomAttribute<UnlearnPluginAttribute>();
        Assert.Equal(typeof(MetricsModule), attribute?.ModuleType);
    }

    [Fact]
    public void Registers_exactly_the_documented_names()
    {
        string[] expected =
        [
            "es", "es-paraphrased", "es-generate", "es-similar", "em", "perplexity", "probability", "rouge-l", "truth-ratio",
            "forget-quality", "model-utility", "mia-loss", "mia-zlib", "mia-min-k", "mia-min-k-pp", "mia-gradnorm", "mia-reference", "privleak", "fluency",
        ];
        var names = Registered().Metrics.Select(m => m.Info.Name).ToList();
        Assert.Equal(expected.OrderBy(n => n), names.OrderBy(n => n));
        Assert.All(Registered().Metrics, m => Assert.False(string.IsNullOrWhiteSpace(m.Info.Description)));
    }

    [Fact]
    public void Composite_metrics_declare_dependencies_and_directions_are_set()
    {
        var metrics = Registered().Metrics.ToDictionary(m => m.Info.Name, m => m.Metric);
        Assert.Equal(2, metrics["forget-quality"].Dependencies.Count);
        Assert.Equal(9, metrics["model-utility"].Dependencies.Count);
        Assert.Equal("mia-min-k", metrics["privleak"].Dependencies[0].Metric);
        Assert.Empty(metrics["es"].Dependencies);
        Assert.Equal(MetricDirection.Neutral, metrics["es"].Direction);
        Assert.Equal(MetricDirection.HigherIsBetter, metrics["model-utility"].Direction);
        Assert.Equal(MetricDirection.LowerIsBetter, metrics["fluency"].Direction);
    }

    [Fact]
    public void Every_option_has_a_description_and_defaults_validate()
    {
        foreach (var type in Registered().Metrics.Select(m => m.OptionsType).Distinct().Where(t => t != typeof(NoOptions)))
        {
            Assert.True(typeof(IValidatableOptions).IsAssignableFrom(type), type.Name);
            foreach (var property in type.GetProperties())
                Assert.False(string.IsNullOrWhiteSpace(property.GetCustomAttribute<DescriptionAttribute>()?.Description), $"{type.Name}.{property.Name}");
            Assert.Empty(((IValidatableOptions)Activator.CreateInstance(type)!).Validate());
        }
    }

    [Fact]
    public void Invalid_options_name_the_option()
    {
        Assert.Contains("threshold", Assert.Single(new SimilarExtractionOptions { Threshold = 1.5 }.Validate()));
        Assert.Contains("max_new_tokens", Assert.Single(new RougeOptions { MaxNewTokens = 0 }.Validate()));
        Assert.Contains("k must", Assert.Single(new MembershipOptions { K = 0 }.Validate()));
        Assert.Contains("n must", Assert.Single(new FluencyOptions { N = 0 }.Validate()));
        Assert.Contains("retain_split", Assert.Single(new ModelUtilityOptions { RetainSplit = " " }.Validate()));
    }
}
