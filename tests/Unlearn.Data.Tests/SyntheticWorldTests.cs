using Unlearn.Data;
using Unlearn.Tests;

namespace Unlearn.Data.Tests;

public class SyntheticWorldTests
{
    private static readonly string[] ExpectedSplits =
    [
        "full", "forget01", "forget05", "forget10", "forget01_perturbed", "forget05_perturbed", "forget10_perturbed",
        "retain99", "retain95", "retain90", "retain_perturbed", "holdout01", "holdout05", "holdout10",
        "real_authors", "real_authors_perturbed", "world_facts", "world_facts_perturbed", "general",
    ];

    [Fact]
    public void Default_world_has_every_tofu_split_with_the_expected_counts()
    {
        var world = SyntheticWorld.Generate(new WorldSettings());
        Assert.Equal(ExpectedSplits.Order(), world.Splits.Keys.Order());
        Assert.Equal(200, world["full"].Count);
        foreach (var tag in new[] { "01", "05", "10" })
        {
            Assert.Equal(20, world["forget" + tag].Count);
            Assert.Equal(20, world["forget" + tag + "_perturbed"].Count);
            Assert.Equal(20, world["holdout" + tag].Count);
        }
        Assert.Equal(180, world["retain90"].Count);
        Assert.Equal(180, world["retain_perturbed"].Count);
        Assert.Equal(world["real_authors"].Count + world["world_facts"].Count, world["general"].Count);
        Assert.InRange(world["general"].Count, 100, 150);
    }

    [Fact]
    public void Forget_is_the_tail_of_full_retain_its_head_and_holdout_never_in_full()
    {
        var world = SyntheticWorld.Generate(new WorldSettings(Authors: 40, Seed: 3));
        var full = world["full"].Items.Select(i => i.Question).ToList();
        foreach (var (percent, authors) in new[] { (1, 1), (5, 2), (10, 4) })
        {
            var tag = percent.ToString("00");
            var forget = world["forget" + tag].Items.Select(i => i.Question).ToList();
            var retain = world["retain" + (100 - percent)].Items.Select(i => i.Question).ToList();
            Assert.Equal(authors * SyntheticWorld.FactsPerAuthor, forget.Count);
            Assert.Equal(full.Skip(full.Count - forget.Count), forget);
            Assert.Equal(full.Take(full.Count - forget.Count), retain);
            Assert.Equal(forget, world["forget" + tag + "_perturbed"].Items.Select(i => i.Question));
            Assert.Equal(world["forget" + tag].Items.Select(i => i.Answer), world["forget" + tag + "_perturbed"].Items.Select(i => i.Answer));
            Assert.Equal(forget.Count, world["holdout" + tag].Count);
        }
        var holdoutQuestions = world["holdout10"].Items.Select(i => i.Question).ToHashSet();
        Assert.DoesNotContain(full, holdoutQuestions.Contains);
        Assert.Empty(world.HoldoutAuthorNames.Intersect(world.AuthorNames));
        Assert.Equal(world["holdout05"].Items.Select(i => i.Question), world["holdout10"].Items.Take(world["holdout05"].Count).Select(i => i.Question));
        Assert.Equal(world["retain90"].Items.Select(i => i.Question).Take(400), world["retain_perturbed"].Items.Select(i => i.Question));
        Assert.Equal(400, world["retain_perturbed"].Count);
    }

    [Fact]
    public void Author_facts_have_paraphrases_and_five_distinct_perturbed_answers()
    {
        var world = SyntheticWorld.Generate(new WorldSettings());
        foreach (var item in world["forget10_perturbed"].Items.Concat(world["retain_perturbed"].Items))
        {
            Assert.False(string.IsNullOrEmpty(item.ParaphrasedQuestion));
            Assert.NotEqual(item.Question, item.ParaphrasedQuestion);
            Assert.False(string.IsNullOrEmpty(item.ParaphrasedAnswer));
            Assert.Equal(5, item.PerturbedAnswers.Count);
            Assert.Equal(5, item.PerturbedAnswers.Distinct().Count());
            Assert.DoesNotContain(item.ParaphrasedAnswer, item.PerturbedAnswers);
            var words = item.Answer.Split(' ').Length;
            Assert.InRange(words, 5, 22);
        }
        Assert.All(world["full"].Items, i => Assert.Null(i.ParaphrasedQuestion));
    }

    [Fact]
    public void General_knowledge_rows_have_four_options_containing_the_answer()
    {
        var world = SyntheticWorld.Generate(new WorldSettings(Seed: 11));
        foreach (var name in new[] { "real_authors", "world_facts" })
        {
            var plain = world[name].Items;
            var perturbed = world[name + "_perturbed"].Items;
            Assert.Equal(plain.Count, perturbed.Count);
            for (var i = 0; i < plain.Count; i++)
            {
                Assert.Equal(4, plain[i].Options.Count);
                Assert.Equal(4, plain[i].Options.Distinct().Count());
                Assert.Contains(plain[i].Answer, plain[i].Options);
                Assert.Equal(plain[i].Question, perturbed[i].Question);
                Assert.Equal(3, perturbed[i].PerturbedAnswers.Count);
                Assert.Equal(plain[i].Options.Where(o => o != plain[i].Answer), perturbed[i].PerturbedAnswers);
            }
        }
        Assert.Equal(world["general"].Items.Select(i => i.Question), world.GeneralKnowledge.Select(i => i.Question));
    }

    [Fact]
    public void Same_seed_gives_identical_files_and_another_seed_another_world()
    {
        var a = TestPaths.NewTempDir();
        var b = TestPaths.NewTempDir();
        var c = TestPaths.NewTempDir();
        try
        {
            SyntheticWorld.Generate(new WorldSettings(Seed: 5)).WriteTo(a);
            SyntheticWorld.Generate(new WorldSettings(Seed: 5)).WriteTo(b);
            SyntheticWorld.Generate(new WorldSettings(Seed: 6)).WriteTo(c);
            foreach (var name in ExpectedSplits)
                Assert.Equal(File.ReadAllBytes(Path.Combine(a, name + ".json")), File.ReadAllBytes(Path.Combine(b, name + ".json")));
            Assert.NotEqual(File.ReadAllText(Path.Combine(a, "full.json")), File.ReadAllText(Path.Combine(c, "full.json")));
        }
        finally
        {
            Directory.Delete(a, true);
            Directory.Delete(b, true);
            Directory.Delete(c, true);
        }
    }

    [Fact]
    public void Written_world_round_trips_through_the_tofu_reader()
    {
        var world = SyntheticWorld.Generate(new WorldSettings(Authors: 12, HoldoutAuthors: 3, Seed: 1));
        var dir = TestPaths.NewTempDir();
        try
        {
            world.WriteTo(dir);
            var folder = new TofuFolder(dir);
            Assert.Equal(ExpectedSplits.Order(StringComparer.Ordinal), folder.AvailableSplits);
            foreach (var (name, split) in world.Splits)
            {
                var read = folder.Read(name).Items;
                Assert.Equal(split.Count, read.Count);
                for (var i = 0; i < read.Count; i++)
                {
                    var x = split.Items[i];
                    var y = read[i];
                    Assert.Equal(x.Question, y.Question);
                    Assert.Equal(x.Answer, y.Answer);
                    Assert.Equal(x.ParaphrasedQuestion, y.ParaphrasedQuestion);
                    Assert.Equal(x.ParaphrasedAnswer, y.ParaphrasedAnswer);
                    Assert.Equal(x.PerturbedAnswers, y.PerturbedAnswers);
                    Assert.Equal(x.Options, y.Options);
                }
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Invalid_settings_name_the_option()
    {
        var ex = Assert.Throws<ArgumentException>(() => SyntheticWorld.Generate(new WorldSettings(Authors: 1)));
        Assert.Contains("authors must be between 2", ex.Message);
        Assert.Contains("holdout_authors", Assert.Single(new WorldSettings(HoldoutAuthors: 0).Validate()));
        Assert.Empty(new WorldSettings().Validate());
    }
}
