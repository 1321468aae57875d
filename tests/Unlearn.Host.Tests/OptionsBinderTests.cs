using System.ComponentModel;
using Unlearn.Host.Configuration;
using Unlearn.Plugins;

namespace Unlearn.Host.Tests;

/// <summary>How strict an imaginary sampler is (an enum option).</summary>
public enum SamplingMode
{
    /// <summary>Default.</summary>
    Greedy,
    /// <summary>Two words, to test snake/kebab spellings.</summary>
    TopK,
}

/// <summary>An options class covering every supported option type.</summary>
public sealed class SampleOptions : IValidatableOptions
{
    /// <summary>An int.</summary>
    [Description("Tokens to generate.")]
    public int MaxNewTokens { get; init; } = 48;

    /// <summary>A double.</summary>
    [Description("Inverse temperature.")]
    public double Beta { get; init; } = 0.1;

    /// <summary>A long.</summary>
    [Description("A seed.")]
    public long Seed { get; init; } = 7;

    /// <summary>A bool.</summary>
    [Description("Switch.")]
    public bool Enabled { get; init; } = true;

    /// <summary>An enum.</summary>
    [Description("Sampling mode.")]
    public SamplingMode Mode { get; init; } = SamplingMode.Greedy;

    /// <summary>A nullable int.</summary>
    [Description("Probe size.")]
    public int? ProbeSize { get; init; } = 16;

    /// <summary>A nullable double.</summary>
    [Description("Bound.")]
    public double? Bound { get; init; }

    /// <summary>A list of text.</summary>
    [Description("Splits.")]
    public IReadOnlyList<string> Splits { get; init; } = ["forget"];

    /// <summary>A list of numbers.</summary>
    [Description("Taus.")]
    public IReadOnlyList<double> Taus { get; init; } = [];

    /// <summary>A string.</summary>
    [Description("A label.")]
    public string Label { get; init; } = "x";

    /// <inheritdoc />
    public IEnumerable<string> Validate()
    {
        if (!(Beta > 0)) yield return $"beta must be > 0, got {Beta}";
        if (MaxNewTokens < 1) yield return $"max_new_tokens must be >= 1, got {MaxNewTokens}";
    }
}

/// <summary>A section holding another options class and a mapping kept as written (as the tool's own sections do).</summary>
public sealed class OuterOptions
{
    /// <summary>Nested options with defaults of their own.</summary>
    public SampleOptions Inner { get; init; } = new() { Beta = 0.5, Label = "outer default" };

    /// <summary>Kept as written.</summary>
    public ConfigMap? Raw { get; init; }
}

/// <summary>Binding plugin options (and the tool's own sections) from pipeline mappings.</summary>
public sealed class OptionsBinderTests
{
    [Fact]
    public void NestedSectionsBindOnTopOfTheirDefaultsAndRawMappingsStayAsWritten()
    {
        var o = OptionsBinder.Bind<OuterOptions>(Map("  inner:\n    max_new_tokens: 8\n  raw:\n    anything: [1, 2]\n"), "s", SourceLocation.Default);
        Assert.Equal(8, o.Inner.MaxNewTokens);
        Assert.Equal(0.5, o.Inner.Beta);             // the outer default, not SampleOptions' own 0.1
        Assert.Equal("outer default", o.Inner.Label);
        Assert.IsType<ConfigList>(o.Raw!["anything"]);
        Assert.Equal(0.5, OptionsBinder.Bind<OuterOptions>(null, "s", SourceLocation.Default).Inner.Beta);
        Assert.Contains("s.inner: expected a mapping", Assert.Throws<PipelineException>(() => OptionsBinder.Bind<OuterOptions>(Map("  inner: 3\n"), "s", SourceLocation.Default)).Message);
        var nested = Assert.Throws<PipelineException>(() => OptionsBinder.Bind<OuterOptions>(Map("  inner:\n    beta: -1\n"), "s", SourceLocation.Default));
        Assert.Equal("s.inner.beta", nested.KeyPath);
        var unknown = Assert.Throws<PipelineException>(() => OptionsBinder.Bind<OuterOptions>(Map("  inner:\n    betta: 1\n"), "s", SourceLocation.Default, keyNoun: "key"));
        Assert.Contains("s.inner.betta: unknown key 'betta'. Did you mean 'beta'?", unknown.Message);
    }

    [Fact]
    public void AListWrittenAsOneValueIsSplitOnCommas()
    {
        var o = Bind("  splits: forget, retain\n  taus: 0.5,0.9\n");
        Assert.Equal(["forget", "retain"], o.Splits);
        Assert.Equal([0.5, 0.9], o.Taus);
        Assert.Equal(["holdout"], Bind("  splits: holdout\n").Splits);
    }

    private static ConfigMap Map(string yaml) => (ConfigMap)PipelineDocument.ParseText(new StringReader("options:\n" + yaml), "opts.yaml")["options"]!;

    private static SampleOptions Bind(string yaml) =>
        (SampleOptions)OptionsBinder.Bind(typeof(SampleOptions), Map(yaml), "unlearn.options", new SourceLocation("opts.yaml", 1, 1));

    [Fact]
    public void DefaultsWhenNoOptionsAreWritten()
    {
        var o = (SampleOptions)OptionsBinder.Bind(typeof(SampleOptions), null, "unlearn.options", SourceLocation.Default);
        Assert.Equal(48, o.MaxNewTokens);
        Assert.Equal(0.1, o.Beta);
        Assert.Equal(16, o.ProbeSize);
        Assert.Null(o.Bound);
        Assert.Equal(["forget"], o.Splits);
    }

    [Fact]
    public void SnakeCaseKeysBindEveryType()
    {
        var o = Bind("  max_new_tokens: 12\n  beta: 2.5e-1\n  seed: 12345678901\n  enabled: no\n  mode: top-k\n  probe_size: 4\n  bound: 1.5\n  splits: [retain, holdout]\n  taus: [0.5, 1]\n  label: '42'\n");
        Assert.Equal(12, o.MaxNewTokens);
        Assert.Equal(0.25, o.Beta);
        Assert.Equal(12345678901L, o.Seed);
        Assert.False(o.Enabled);
        Assert.Equal(SamplingMode.TopK, o.Mode);
        Assert.Equal(4, o.ProbeSize);
        Assert.Equal(1.5, o.Bound);
        Assert.Equal(["retain", "holdout"], o.Splits);
        Assert.Equal([0.5, 1.0], o.Taus);
        Assert.Equal("42", o.Label);
    }

    [Theory]
    [InlineData("top_k")]
    [InlineData("TopK")]
    [InlineData("TOPK")]
    [InlineData("top-k")]
    public void EnumsBindByNameIgnoringCaseAndSeparators(string text)
    {
        Assert.Equal(SamplingMode.TopK, Bind($"  mode: {text}\n").Mode);
    }

    [Fact]
    public void UnknownEnumValueListsTheValidValues()
    {
        var e = Assert.Throws<PipelineException>(() => Bind("  mode: topp\n"));
        Assert.Equal("unlearn.options.mode", e.KeyPath);
        Assert.Contains("unknown value 'topp'. Did you mean 'top-k'? Valid: greedy, top-k.", e.Message);
        Assert.Equal(new SourceLocation("opts.yaml", 2, 9), e.Location);
    }

    [Fact]
    public void NullClearsANullableAndIsRefusedForAPlainValue()
    {
        Assert.Null(Bind("  probe_size: null\n").ProbeSize);
        Assert.Null(Bind("  probe_size: ~\n").ProbeSize);
        var e = Assert.Throws<PipelineException>(() => Bind("  max_new_tokens: null\n"));
        Assert.Contains("expected an integer, found null", e.Message);
    }

    [Fact]
    public void SingleValueBindsAsAListOfOne()
    {
        Assert.Equal(["retain"], Bind("  splits: retain\n").Splits);
        Assert.Equal([0.9], Bind("  taus: 0.9\n").Taus);
    }

    [Fact]
    public void UnknownOptionNamesItAndTheNearest()
    {
        var e = Assert.Throws<PipelineException>(() => Bind("  max_new_token: 3\n"));
        Assert.Equal("unlearn.options.max_new_token", e.KeyPath);
        Assert.Equal(new SourceLocation("opts.yaml", 2, 3), e.Location);
        Assert.Contains("unknown option 'max_new_token'. Did you mean 'max_new_tokens'?", e.Message);
        Assert.Contains("Valid: beta, bound, enabled, label, max_new_tokens, mode, probe_size, seed, splits, taus.", e.Message);
    }

    [Theory]
    [InlineData("  max_new_tokens: 2.5\n", "unlearn.options.max_new_tokens", "expected an integer, found '2.5'")]
    [InlineData("  beta: high\n", "unlearn.options.beta", "expected a number, found 'high'")]
    [InlineData("  enabled: 2\n", "unlearn.options.enabled", "expected true or false, found '2'")]
    [InlineData("  taus: [0.5, x]\n", "unlearn.options.taus.1", "expected a number, found 'x'")]
    [InlineData("  label: [a]\n", "unlearn.options.label", "expected text, found a list")]
    [InlineData("  beta:\n    x: 1\n", "unlearn.options.beta", "expected a number, found a mapping")]
    public void WrongTypesNameTheKeyPath(string yaml, string keyPath, string expected)
    {
        var e = Assert.Throws<PipelineException>(() => Bind(yaml));
        Assert.Equal(keyPath, e.KeyPath);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ValidateMessagesAreReportedTogether()
    {
        var e = Assert.Throws<PipelineException>(() => Bind("  beta: -1\n  max_new_tokens: 0\n"));
        // The first problem's option is the key path, and the error points at its line.
        Assert.Equal("unlearn.options.beta", e.KeyPath);
        Assert.Contains(":2:3: unlearn.options.beta: beta must be > 0, got -1; max_new_tokens must be >= 1, got 0.", e.Message);
        Assert.StartsWith("opts.yaml:", e.Message);
    }

    [Theory]
    [InlineData("MaxNewTokens", "max_new_tokens")]
    [InlineData("Beta", "beta")]
    [InlineData("RetainWeight", "retain_weight")]
    [InlineData("TopK", "top_k")]
    [InlineData("HTTPServer", "http_server")]
    [InlineData("Layer2Norm", "layer2_norm")]
    public void SnakeCaseOfPropertyNames(string name, string expected) => Assert.Equal(expected, OptionsBinder.ToSnakeCase(name));

    [Fact]
    public void OptionsAreWrittenAsPipelineFilesSpellThemAndBindBackToTheSameValues()
    {
        var options = Bind("  mode: top-k\n  max_new_tokens: 12\n  bound: 2.5\n");
        var json = OptionsBinder.ToJson(options);
        Assert.Contains("\"max_new_tokens\":12", json);
        Assert.Contains("\"mode\":\"top-k\"", json);
        Assert.DoesNotContain("MaxNewTokens", json);
        // JSON is YAML (a flow mapping): bound again it gives the same options.
        var again = (SampleOptions)OptionsBinder.Bind(typeof(SampleOptions), PluginLoadingTests.OptionMap(json), "o", new SourceLocation("test.yaml", 1, 1));
        Assert.Equal(json, OptionsBinder.ToJson(again));
    }

    [Fact]
    public void DescribeListsKeysTypesDefaultsAndDescriptions()
    {
        var options = OptionsBinder.Describe(typeof(SampleOptions)).ToDictionary(o => o.Key);
        Assert.Equal(new OptionDescription("max_new_tokens", "an integer", "48", "Tokens to generate."), options["max_new_tokens"]);
        Assert.Equal(new OptionDescription("mode", "one of greedy|top-k", "greedy", "Sampling mode."), options["mode"]);
        Assert.Equal(new OptionDescription("probe_size", "an integer?", "16", "Probe size."), options["probe_size"]);
        Assert.Equal(new OptionDescription("bound", "a number?", "null", "Bound."), options["bound"]);
        Assert.Equal(new OptionDescription("splits", "a list of text", "[forget]", "Splits."), options["splits"]);
    }
}
