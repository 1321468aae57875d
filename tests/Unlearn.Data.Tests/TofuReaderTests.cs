using Unlearn.Data;
using Unlearn.Plugins;
using Unlearn.Tests;

namespace Unlearn.Data.Tests;

public sealed class TofuReaderTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("unlearn-tofu");

    public void Dispose() => Directory.Delete(_dir, true);

    private static TofuFolder Tofu => new(TestPaths.TofuDir);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Theory]
    [InlineData("full", 4000)]
    [InlineData("forget01", 40)]
    [InlineData("forget05", 200)]
    [InlineData("forget10", 400)]
    [InlineData("retain99", 3960)]
    [InlineData("retain95", 3800)]
    [InlineData("retain90", 3600)]
    [InlineData("forget01_perturbed", 40)]
    [InlineData("forget05_perturbed", 200)]
    [InlineData("forget10_perturbed", 400)]
    [InlineData("retain_perturbed", 400)]
    [InlineData("holdout01", 40)]
    [InlineData("holdout05", 200)]
    [InlineData("holdout10", 400)]
    [InlineData("real_authors", 100)]
    [InlineData("real_authors_perturbed", 100)]
    [InlineData("world_facts", 117)]
    [InlineData("world_facts_perturbed", 117)]
    public void Tofu_splits_have_their_documented_row_counts(string split, int rows)
    {
        var data = Tofu.Read(split, "logical");
        Assert.Equal(rows, data.Count);
        Assert.Equal("logical", data.Name);
        Assert.EndsWith(split + ".json", data.Source);
    }

    [Theory]
    [InlineData("01", "99")]
    [InlineData("05", "95")]
    [InlineData("10", "90")]
    public void Forget_is_the_tail_of_full_and_retain_its_head(string forget, string retain)
    {
        var full = Tofu.Read("full").Items;
        var f = Tofu.Read("forget" + forget).Items;
        var r = Tofu.Read("retain" + retain).Items;
        Assert.Equal(full.Count, f.Count + r.Count);
        Assert.Equal(full.Take(r.Count).Select(Key), r.Select(Key));
        Assert.Equal(full.Skip(r.Count).Select(Key), f.Select(Key));
        var perturbed = Tofu.Read("forget" + forget + "_perturbed").Items;
        Assert.Equal(f.Select(Key), perturbed.Select(Key));
        Assert.All(perturbed, p =>
        {
            Assert.NotNull(p.ParaphrasedQuestion);
            Assert.NotNull(p.ParaphrasedAnswer);
            Assert.Equal(5, p.PerturbedAnswers.Count);
        });
    }

    [Fact]
    public void Retain_perturbed_is_the_first_400_rows_of_retain90_and_holdout_is_not_in_full()
    {
        var retain90 = Tofu.Read("retain90").Items;
        Assert.Equal(retain90.Take(400).Select(Key), Tofu.Read("retain_perturbed").Items.Select(Key));
        var full = Tofu.Read("full").Items.Select(i => i.Question).ToHashSet();
        Assert.DoesNotContain(Tofu.Read("holdout10").Items, i => full.Contains(i.Question));
    }

    [Theory]
    [InlineData("real_authors")]
    [InlineData("world_facts")]
    public void General_knowledge_has_four_options_and_three_perturbed_answers(string name)
    {
        var plain = Tofu.Read(name).Items;
        var perturbed = Tofu.Read(name + "_perturbed").Items;
        Assert.All(plain, i =>
        {
            Assert.Equal(4, i.Options.Count);
            Assert.Contains(i.Answer, i.Options);
        });
        Assert.Equal(plain.Select(Key), perturbed.Select(Key));
        Assert.All(perturbed, i => Assert.Equal(3, i.PerturbedAnswers.Count));
    }

    [Fact]
    public void Json_array_files_read_like_json_lines()
    {
        var lines = Write("a.jsonl", "{\"question\": \"Q1\", \"answer\": \"A1\"}\n\n{\"question\": \"Q2\", \"answer\": \"A2\", \"perturbed_answer\": [\"x\", \"y\"]}\n");
        var array = Write("b.json", "[\n  {\"question\": \"Q1\",\n   \"answer\": \"A1\"},\n  {\"question\": \"Q2\", \"answer\": \"A2\",\n   \"perturbed_answer\": [\"x\", \"y\"]}\n]\n");
        var a = TofuReader.ReadItems(lines);
        var b = TofuReader.ReadItems(array);
        Assert.Equal(2, a.Count);
        Assert.Equal(a.Select(Key), b.Select(Key));
        Assert.Equal(["x", "y"], b[1].PerturbedAnswers);
        Assert.Empty(b[0].PerturbedAnswers);
        Assert.Null(b[0].ParaphrasedQuestion);
    }

    [Fact]
    public void Missing_field_names_file_line_and_field()
    {
        var path = Write("missing.jsonl", "{\"question\": \"Q1\", \"answer\": \"A1\"}\n{\"question\": \"Q2\", \"answer\": \"A2\"}\n{\"question\": \"Q3\"}\n");
        var ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(path));
        Assert.Equal(3, ex.Line);
        Assert.StartsWith(path + ":3: missing field \"answer\"", ex.Message);
        Assert.Contains("Add \"answer\"", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Non_utf8_files_name_the_line_and_byte(bool array)
    {
        // "Müller" saved as Latin-1: 0xFC is not UTF-8. Inside a JSON string the JSON reader alone does not notice it.
        var text = array ? "[\n{\"question\": \"Q1\", \"answer\": \"A1\"},\n{\"question\": \"Who?\", \"answer\": \"M\u00fcller\"}\n]\n"
            : "{\"question\": \"Q1\", \"answer\": \"A1\"}\n{\"question\": \"Who?\", \"answer\": \"M\u00fcller\"}\n";
        var path = Path.Combine(_dir, "latin1.json");
        File.WriteAllBytes(path, System.Text.Encoding.Latin1.GetBytes(text));
        var ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(path));
        Assert.Equal(array ? 3 : 2, ex.Line);
        Assert.Contains("not UTF-8 text (byte 0xFC at byte 34 of the line)", ex.Message);
        Assert.Contains("re-save the file as UTF-8", ex.Message);
    }

    [Fact]
    public void Utf16_files_are_refused_at_line_one()
    {
        var path = Path.Combine(_dir, "utf16.jsonl");
        File.WriteAllText(path, "{\"question\": \"Q1\", \"answer\": \"A1\"}\n", System.Text.Encoding.Unicode);
        var ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(path));
        Assert.Equal(1, ex.Line);
        Assert.Contains("not UTF-8 text (byte 0xFF at byte 1 of the line)", ex.Message);
    }

    [Fact]
    public void Malformed_json_line_is_reported_with_its_line_number()
    {
        var path = Write("bad.jsonl", "{\"question\": \"Q1\", \"answer\": \"A1\"}\n{\"question\": \"Q2\", \"answer\": \n");
        var ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(path));
        Assert.Equal(2, ex.Line);
        Assert.Contains("malformed JSON", ex.Message);
        Assert.Contains("one complete JSON object per line", ex.Message);
    }

    [Fact]
    public void Wrong_types_are_reported()
    {
        var number = Write("n.jsonl", "{\"question\": \"Q1\", \"answer\": 42}\n");
        var ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(number));
        Assert.Equal(1, ex.Line);
        Assert.Contains("field \"answer\" is a Number, expected a string", ex.Message);

        var list = Write("l.jsonl", "{\"question\": \"Q1\", \"answer\": \"A\"}\n{\"question\": \"Q1\", \"answer\": \"A\", \"perturbed_answer\": \"not a list\"}\n");
        ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(list));
        Assert.Equal(2, ex.Line);
        Assert.Contains("\"perturbed_answer\" is a String, expected a list of strings", ex.Message);

        var options = Write("o.jsonl", "{\"question\": \"Q\", \"answer\": \"A\", \"option1\": \"A\", \"option2\": \"B\"}\n");
        ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(options));
        Assert.Contains("only 2 of the fields option1..option4", ex.Message);
    }

    [Fact]
    public void Errors_inside_a_json_array_point_at_the_element_line()
    {
        var path = Write("arr.json", "[\n  {\"question\": \"Q1\", \"answer\": \"A1\"},\n  {\"question\": \"Q2\",\n   \"answer\": \"A2\"},\n  {\"answer\": \"A3\"}\n]");
        var ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(path));
        Assert.Equal(5, ex.Line);
        Assert.Contains("missing field \"question\"", ex.Message);

        var broken = Write("broken.json", "[\n  {\"question\": \"Q1\", \"answer\": \"A1\"},\n  {\"question\": \"Q2\" \"answer\": \"A2\"}\n]");
        ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(broken));
        Assert.Equal(3, ex.Line);
        Assert.Contains("malformed JSON", ex.Message);
    }

    [Fact]
    public void Empty_and_missing_files_are_refused()
    {
        var empty = Write("empty.jsonl", "\n  \n");
        var ex = Assert.Throws<DataFileException>(() => TofuReader.ReadItems(empty));
        Assert.Null(ex.Line);
        Assert.Contains("the split is empty", ex.Message);
        Assert.Contains("the split is empty", Assert.Throws<DataFileException>(() => TofuReader.ReadItems(Write("e.json", "[]"))).Message);
        Assert.Contains("file not found", Assert.Throws<DataFileException>(() => TofuReader.ReadItems(Path.Combine(_dir, "nope.json"))).Message);
    }

    [Fact]
    public void Folder_resolves_json_and_jsonl_and_lists_available_splits_on_failure()
    {
        Write("forget05_perturbed.jsonl", "{\"question\": \"Q\", \"answer\": \"A\"}\n");
        Write("full.json", "{\"question\": \"Q\", \"answer\": \"A\"}\n");
        var folder = new TofuFolder(_dir);
        Assert.Equal(["forget05_perturbed", "full"], folder.AvailableSplits);
        Assert.EndsWith("forget05_perturbed.jsonl", folder.ResolvePath("forget05_perturbed"));
        Assert.Equal("forget", folder.Read("forget05_perturbed", "forget").Name);
        Assert.True(folder.Contains("full.json"));
        var ex = Assert.Throws<DataFileException>(() => folder.Read("retain90"));
        Assert.Contains("no file for split \"retain90\"", ex.Message);
        Assert.Contains("retain90.json, retain90.jsonl", ex.Message);
        Assert.Contains("Available splits: forget05_perturbed, full", ex.Message);
        Assert.Contains("data folder not found", Assert.Throws<DataFileException>(() => new TofuFolder(Path.Combine(_dir, "none"))).Message);
    }

    private static (string, string) Key(QaItem item) => (item.Question, item.Answer);
}
