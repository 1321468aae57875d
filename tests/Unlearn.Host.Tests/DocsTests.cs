using Unlearn.Host.Configuration;
using Unlearn.Host.Plugins;
using Unlearn.Tests;

namespace Unlearn.Host.Tests;

/// <summary>docs/methods.md is the `plugins` listing laid out as tables: every built-in plugin is there with each
/// option's key, type, default and meaning as the built plugins report them, so the page cannot drift from the code.</summary>
public sealed class DocsTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void PipelinesPageGivesEachTrainerSectionsDefaultsAndEveryTrainerSetting()
    {
        var page = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "pipelines.md")).ReplaceLineEndings("\n");
        Assert.Contains($"| `base` | trainer, `{TrainerDefaults.Describe(TrainerDefaults.LearnBase)}` (others as below) |", page);
        Assert.Contains($"| `target` | trainer, `{TrainerDefaults.Describe(TrainerDefaults.LearnTarget)}` (others as below) |", page);
        Assert.Contains($"| `trainer` | `{TrainerDefaults.Describe(TrainerDefaults.Unlearn)}` (others as below) |", page);
        var table = Section(page, "### Trainer settings (`learn.base`, `learn.target`, `unlearn.trainer`)");
        Assert.NotNull(table);
        Assert.All(OptionsBinder.Describe(typeof(Unlearn.Training.TrainerSettings)), o => Assert.Contains($"`{o.Key}`", table));
        // What the binder gives a section nobody wrote is exactly its defaults.
        var pipeline = _files.Write("p.yaml", "name: p\nunlearn:\n  method: ga\n");
        var spec = PipelineBinder.Bind(PipelineDocument.Load(pipeline), pipeline, []);
        Assert.Equal(TrainerDefaults.Describe(TrainerDefaults.Unlearn), TrainerDefaults.Describe(spec.Unlearn!.Trainer));
        Assert.Equal(TrainerDefaults.Describe(TrainerDefaults.LearnTarget), TrainerDefaults.Describe(spec.Learn.Target));
    }

    // The pipeline file's keys are the properties of the section classes the binder reads: each is on its page.
    [Theory]
    [InlineData(typeof(PipelineSections), "", "pipelines.md")]
    [InlineData(typeof(ModelSpec), "", "pipelines.md")]
    [InlineData(typeof(DataSection), "", "pipelines.md")]
    [InlineData(typeof(WorldSpec), "world.", "pipelines.md")]
    [InlineData(typeof(LearnSpec), "", "pipelines.md")]
    [InlineData(typeof(UnlearnSection), "", "pipelines.md")]
    [InlineData(typeof(AdapterSection), "", "pipelines.md")]
    [InlineData(typeof(EvaluateSection), "", "pipelines.md")]
    [InlineData(typeof(ReportSection), "", "pipelines.md")]
    [InlineData(typeof(Unlearn.Host.Running.Executors.ExecutorSettings), "", "pipelines.md")]
    [InlineData(typeof(AttackEntry), "", "pipelines.md")]
    [InlineData(typeof(MetricEntry), "", "pipelines.md")]
    public void EveryPipelineKeyIsDocumented(Type section, string prefix, string page)
    {
        var text = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", page));
        Assert.All(OptionsBinder.Describe(section), o => Assert.True(text.Contains($"`{prefix}{o.Key}`", StringComparison.Ordinal), $"docs/{page} does not name `{prefix}{o.Key}`"));
    }

    [Fact]
    public void MethodsPageListsEveryBuiltInPluginWithItsOptionsAndDefaults()
    {
        var registry = new PluginRegistry();
        new PluginLoader(Path.Combine(_files.Dir, "package-cache")).LoadInto(registry, [new PluginSource(HostTestPaths.BuiltInPlugins, "built-in")]);
        Assert.True(registry.Plugins.Count > 20, $"only {registry.Plugins.Count} built-in plugins loaded");
        var page = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "methods.md")).ReplaceLineEndings("\n");

        var stale = new List<string>();
        foreach (var plugin in registry.Plugins.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var aliases = string.Join(", ", plugin.Aliases.Select(a => $"`{a}`"));
            var summary = $"| `{plugin.Name}` | {aliases} | {Cell(plugin.Description)} |";
            if (!page.Contains(summary, StringComparison.Ordinal)) stale.Add($"{plugin.Name}: summary row should read\n    {summary}");
            var options = OptionsBinder.Describe(plugin.OptionsType);
            var section = Section(page, $"### `{plugin.Name}` options");
            if (options.Count == 0)
            {
                if (section != null) stale.Add($"{plugin.Name}: has no options, but the page has an options section for it");
                continue;
            }
            if (section == null)
            {
                stale.Add($"{plugin.Name}: the section '### `{plugin.Name}` options' is missing");
                continue;
            }
            var rows = section.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal)).ToList();
            var expected = options.Select(o => $"| `{o.Key}` | {Cell(o.Type)} | `{o.Default}` | {Cell(o.Description)} |").ToList();
            foreach (var row in expected.Except(rows)) stale.Add($"{plugin.Name}: option row should read\n    {row}");
            foreach (var row in rows.Except(expected)) stale.Add($"{plugin.Name}: the page lists an option row the plugin does not have\n    {row}");
        }
        Assert.True(stale.Count == 0, "docs/methods.md is out of date with `dotnet unlearn plugins`:\n" + string.Join("\n", stale));
    }

    /// <summary>A Markdown table cell: pipes escaped.</summary>
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    /// <summary>The text from <paramref name="heading"/> to the next heading, or null.</summary>
    private static string? Section(string page, string heading)
    {
        var start = page.IndexOf(heading + "\n", StringComparison.Ordinal);
        if (start < 0) return null;
        var body = start + heading.Length + 1;
        var next = page.IndexOf("\n#", body, StringComparison.Ordinal);
        return next < 0 ? page[body..] : page[body..next];
    }
}
