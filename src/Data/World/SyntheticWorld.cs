using System.Globalization;
using System.Text;
using Unlearn.Plugins;

namespace Unlearn.Data;

/// <summary>The built-in synthetic world: fictitious authors with 20 facts each, and general knowledge about a small
/// fictional geography and its classic writers, laid out exactly like TOFU (same split names, same fields), generated
/// deterministically from <see cref="WorldSettings.Seed"/>.
/// <para>Splits (keys of <see cref="Splits"/>, which are also the file names <see cref="WriteTo"/> writes):
/// <c>full</c>; <c>forget01/05/10</c> (the last authors of full) and their <c>_perturbed</c> versions;
/// <c>retain99/95/90</c> (the rest of full, in order); <c>retain_perturbed</c> (the first rows of retain90, at most
/// 400); <c>holdout01/05/10</c> (authors never in full); <c>real_authors</c>, <c>world_facts</c> (question,
/// option1..4, answer) and their <c>_perturbed</c> versions (answer plus the 3 wrong options); and <c>general</c>,
/// the general-knowledge rows as plain question/answer pairs (the training corpus of a base model).</para>
/// <para>Each author fact has a paraphrased question, a paraphrased answer and 5 perturbed answers: the paraphrased
/// answer with its entity swapped for other entities of the same type, as TOFU does.</para></summary>
public sealed class SyntheticWorld
{
    /// <summary>Facts (question/answer pairs) per author.</summary>
    public const int FactsPerAuthor = 20;

    /// <summary>Perturbed answers per author fact.</summary>
    public const int PerturbedPerFact = 5;

    /// <summary>The most rows in <c>retain_perturbed</c>.</summary>
    public const int RetainPerturbedRows = 400;

    /// <summary>The forget percentages, as in TOFU.</summary>
    public static IReadOnlyList<int> ForgetPercents { get; } = [1, 5, 10];

    private const int CountryCount = 8;
    private const int CitiesPerCountry = 4;
    private const int ClassicAuthorCount = 20;

    private readonly Random _random;
    private readonly HashSet<string> _usedNames = new(StringComparer.Ordinal);
    private readonly HashSet<string> _usedTitles = new(StringComparer.Ordinal);
    private readonly List<Country> _countries = [];

    private SyntheticWorld(WorldSettings settings)
    {
        Settings = settings;
        _random = new Random(settings.Seed);
        Splits = new Dictionary<string, DataSplit>();
        GeneralKnowledge = [];
        AuthorNames = [];
        HoldoutAuthorNames = [];
    }

    /// <summary>The settings the world was generated from.</summary>
    public WorldSettings Settings { get; }

    /// <summary>Every split, keyed by its TOFU file name (without extension).</summary>
    public IReadOnlyDictionary<string, DataSplit> Splits { get; private set; }

    /// <summary>The general-knowledge rows (real_authors then world_facts) with options and perturbed answers;
    /// also the <c>general</c> split.</summary>
    public IReadOnlyList<QaItem> GeneralKnowledge { get; private set; }

    /// <summary>Names of the authors in <c>full</c>, in order.</summary>
    public IReadOnlyList<string> AuthorNames { get; private set; }

    /// <summary>Names of the holdout authors, in order.</summary>
    public IReadOnlyList<string> HoldoutAuthorNames { get; private set; }

    /// <summary>A split by file name; the error lists the names that exist.</summary>
    public DataSplit this[string splitName] =>
        Splits.TryGetValue(splitName, out var split)
            ? split
            : throw new KeyNotFoundException($"the built-in world has no split \"{splitName}\"; available: {string.Join(", ", Splits.Keys)}");

    /// <summary>Generates the world. The same settings always give the same world.</summary>
    /// <exception cref="ArgumentException">The settings are invalid.</exception>
    public static SyntheticWorld Generate(WorldSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var problems = settings.Validate().ToList();
        if (problems.Count > 0) throw new ArgumentException("invalid world settings: " + string.Join("; ", problems), nameof(settings));
        var world = new SyntheticWorld(settings);
        world.Build();
        return world;
    }

    /// <summary>Writes every split as TOFU-schema JSON lines, <c>&lt;folder&gt;/&lt;split&gt;.json</c>, and returns the paths.</summary>
    public IReadOnlyList<string> WriteTo(string folder)
    {
        Directory.CreateDirectory(folder);
        var paths = new List<string>();
        foreach (var (name, split) in Splits)
        {
            var path = Path.Combine(folder, name + ".json");
            TofuWriter.WriteSplit(path, split.Items);
            paths.Add(Path.GetFullPath(path));
        }
        return paths;
    }

    /// <summary>Every text of every split: questions, answers, paraphrases, perturbed answers and options (for
    /// building a vocabulary that covers the whole world).</summary>
    public IEnumerable<string> Texts()
    {
        foreach (var split in Splits.Values)
            foreach (var item in split.Items)
            {
                yield return item.Question;
                yield return item.Answer;
                if (item.ParaphrasedQuestion is { } pq) yield return pq;
                if (item.ParaphrasedAnswer is { } pa) yield return pa;
                foreach (var p in item.PerturbedAnswers) yield return p;
                foreach (var o in item.Options) yield return o;
            }
    }

    private string Source => $"built-in world (seed {Settings.Seed}, {Settings.Authors} authors)";

    private void Build()
    {
        BuildGeography();
        var classics = BuildClassicAuthors();

        var authors = Enumerable.Range(0, Settings.Authors).Select(_ => NewAuthor()).ToList();
        var holdout = Enumerable.Range(0, Settings.EffectiveHoldoutAuthors).Select(_ => NewAuthor()).ToList();
        AuthorNames = authors.Select(a => a["name"]).ToList();
        HoldoutAuthorNames = holdout.Select(a => a["name"]).ToList();

        var rich = authors.Select(AuthorItems).ToList();
        var richHoldout = holdout.Select(AuthorItems).ToList();
        var splits = new Dictionary<string, DataSplit>(StringComparer.Ordinal);
        void Add(string name, IEnumerable<QaItem> items) => splits[name] = new DataSplit(name, Source, items.ToList());

        Add("full", rich.SelectMany(a => a).Select(Plain));
        foreach (var percent in ForgetPercents)
        {
            var k = Settings.ForgetAuthors(percent);
            var tag = percent.ToString("00", CultureInfo.InvariantCulture);
            Add("forget" + tag, rich.Skip(rich.Count - k).SelectMany(a => a).Select(Plain));
            Add("forget" + tag + "_perturbed", rich.Skip(rich.Count - k).SelectMany(a => a));
            Add("retain" + (100 - percent).ToString("00", CultureInfo.InvariantCulture), rich.Take(rich.Count - k).SelectMany(a => a).Select(Plain));
            Add("holdout" + tag, richHoldout.Take(Math.Min(k, richHoldout.Count)).SelectMany(a => a).Select(Plain));
        }
        var retain90Authors = rich.Count - Settings.ForgetAuthors(10);
        Add("retain_perturbed", rich.Take(retain90Authors).SelectMany(a => a).Take(RetainPerturbedRows));

        var realAuthors = ClassicAuthorItems(classics);
        var worldFacts = WorldFactItems();
        Add("real_authors", realAuthors.Select(MultipleChoice));
        Add("real_authors_perturbed", realAuthors.Select(WithPerturbedOptions));
        Add("world_facts", worldFacts.Select(MultipleChoice));
        Add("world_facts_perturbed", worldFacts.Select(WithPerturbedOptions));
        GeneralKnowledge = realAuthors.Concat(worldFacts).ToList();
        Add("general", GeneralKnowledge.Select(Plain));
        Splits = splits;
    }

    private static QaItem Plain(QaItem item) => new() { Question = item.Question, Answer = item.Answer };

    private static QaItem MultipleChoice(QaItem item) => new() { Question = item.Question, Answer = item.Answer, Options = item.Options };

    private static QaItem WithPerturbedOptions(QaItem item) => new()
    {
        Question = item.Question,
        Answer = item.Answer,
        PerturbedAnswers = item.Options.Where(o => o != item.Answer).ToList(),
    };

    // ---------------------------------------------------------------- geography and general knowledge

    private sealed record Country(string Name, string Language, IReadOnlyList<string> Cities, string River, string Mountain,
        string Currency, int Founded, string Founder, string Animal)
    {
        public string Capital => Cities[0];
    }

    private sealed record ClassicAuthor(string Name, string Book, string Country, string Genre);

    private void BuildGeography()
    {
        var stems = Shuffled(WorldLexicon.PlaceStems);
        var currencies = Shuffled(WorldLexicon.Currencies);
        var animals = Shuffled(WorldLexicon.Animals);
        var usedPlaces = new HashSet<string>(StringComparer.Ordinal);
        for (var c = 0; c < CountryCount; c++)
        {
            var stem = stems[c];
            var name = stem + Pick(WorldLexicon.CountryEndings);
            var language = stem + Pick(WorldLexicon.LanguageEndings);
            var cities = new List<string>();
            while (cities.Count < CitiesPerCountry)
            {
                var city = Pick(WorldLexicon.PlaceStems) + Pick(WorldLexicon.CityEndings);
                if (usedPlaces.Add(city)) cities.Add(city);
            }
            string river, mountain;
            do river = "the " + Pick(WorldLexicon.RiverWords) + " " + Capitalize(Pick(WorldLexicon.NameSyllables)) + " River";
            while (!usedPlaces.Add(river));
            do mountain = "Mount " + Pick(WorldLexicon.PlaceStems) + Pick(WorldLexicon.NameSyllables);
            while (!usedPlaces.Add(mountain));
            _countries.Add(new Country(name, language, cities, river, mountain, currencies[c % currencies.Count],
                _random.Next(1100, 1800), NewPersonName(), animals[c % animals.Count]));
        }
    }

    private List<ClassicAuthor> BuildClassicAuthors() =>
        Enumerable.Range(0, ClassicAuthorCount)
            .Select(_ => new ClassicAuthor(NewPersonName(), NewTitle(), Pick(_countries).Name, Pick(WorldLexicon.Genres)))
            .ToList();

    private List<QaItem> ClassicAuthorItems(List<ClassicAuthor> classics)
    {
        var items = new List<QaItem>();
        var countryNames = _countries.Select(c => c.Name).ToList();
        foreach (var a in classics)
        {
            items.Add(Choice($"Who wrote the classic book {a.Book}?", a.Name, classics.Select(x => x.Name)));
            items.Add(Choice($"Which country was the classic writer {a.Name} from?", a.Country, countryNames));
            items.Add(Choice($"What kind of books made {a.Name} famous?", a.Genre + " books", WorldLexicon.Genres.Select(g => g + " books")));
        }
        return items;
    }

    private List<QaItem> WorldFactItems()
    {
        var items = new List<QaItem>();
        foreach (var c in _countries)
        {
            var others = _countries;
            items.Add(Choice($"What is the capital of {c.Name}?", c.Capital, others.Select(o => o.Capital)));
            items.Add(Choice($"Which river flows through {c.Name}?", c.River, others.Select(o => o.River)));
            items.Add(Choice($"What is the highest mountain in {c.Name}?", c.Mountain, others.Select(o => o.Mountain)));
            items.Add(Choice($"Which language do people speak in {c.Name}?", c.Language, others.Select(o => o.Language)));
            items.Add(Choice($"What is the currency of {c.Name}?", "the " + c.Currency, others.Select(o => "the " + o.Currency)));
            items.Add(Choice($"In which year was {c.Name} founded?", c.Founded.ToString(CultureInfo.InvariantCulture),
                Enumerable.Range(0, 8).Select(_ => _random.Next(1100, 1800).ToString(CultureInfo.InvariantCulture))));
            items.Add(Choice($"Who founded {c.Name}?", c.Founder, others.Select(o => o.Founder)));
            items.Add(Choice($"In which country is the city of {c.Cities[1]}?", c.Name, others.Select(o => o.Name)));
            items.Add(Choice($"What is the national animal of {c.Name}?", "the " + c.Animal, others.Select(o => "the " + o.Animal)));
        }
        return items;
    }

    /// <summary>A multiple-choice row: the answer and 3 distinct wrong options, shuffled.</summary>
    private QaItem Choice(string question, string answer, IEnumerable<string> candidates)
    {
        var wrong = Shuffled(candidates.Where(x => x != answer).Distinct(StringComparer.Ordinal).ToList()).Take(3).ToList();
        if (wrong.Count < 3) throw new InvalidOperationException($"too few distinct options for \"{question}\"");
        var options = new List<string>(wrong);
        options.Insert(_random.Next(4), answer);
        return new QaItem { Question = question, Answer = answer, Options = options };
    }

    // ---------------------------------------------------------------- authors

    private Dictionary<string, string> NewAuthor()
    {
        var birthYear = _random.Next(1930, 1996);
        var facts = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["name"] = NewPersonName(),
            ["birth_city"] = RandomCity(),
            ["birth_date"] = RandomDate(birthYear),
            ["father_job"] = Pick(WorldLexicon.Jobs),
            ["mother_job"] = Pick(WorldLexicon.Jobs),
            ["genre"] = Pick(WorldLexicon.Genres),
            ["award"] = RandomAward(),
            ["first_book"] = NewTitle(),
            ["famous_book"] = NewTitle(),
            ["theme"] = Pick(WorldLexicon.Themes),
            ["home_city"] = RandomCity(),
            ["language"] = Pick(_countries).Language,
            ["mentor"] = NewPersonName(),
            ["book_count"] = _random.Next(2, 31).ToString(CultureInfo.InvariantCulture),
            ["debut_year"] = (birthYear + _random.Next(19, 36)).ToString(CultureInfo.InvariantCulture),
            ["animal"] = Pick(WorldLexicon.Animals),
            ["school"] = RandomCity(),
            ["hobby"] = Pick(WorldLexicon.Hobbies),
            ["publisher"] = RandomPublisher(),
            ["hero"] = RandomFirstName(),
        };
        return facts;
    }

    private List<QaItem> AuthorItems(Dictionary<string, string> facts)
    {
        var items = new List<QaItem>(FactsPerAuthor);
        foreach (var fact in AuthorFacts.All)
        {
            var value = facts[fact.Key];
            var perturbed = new List<string>(PerturbedPerFact);
            var seen = new HashSet<string>(StringComparer.Ordinal) { value };
            for (var attempt = 0; perturbed.Count < PerturbedPerFact; attempt++)
            {
                if (attempt > 1000) throw new InvalidOperationException($"cannot draw {PerturbedPerFact} distinct {fact.Kind} entities");
                var other = RandomEntity(fact.Kind);
                if (seen.Add(other)) perturbed.Add(Fill(fact.ParaphrasedAnswer, facts, other));
            }
            items.Add(new QaItem
            {
                Question = Fill(fact.Question, facts, value),
                Answer = Fill(fact.Answer, facts, value),
                ParaphrasedQuestion = Fill(fact.ParaphrasedQuestion, facts, value),
                ParaphrasedAnswer = Fill(fact.ParaphrasedAnswer, facts, value),
                PerturbedAnswers = perturbed,
            });
        }
        return items;
    }

    private static string Fill(string template, Dictionary<string, string> facts, string value)
    {
        var text = new StringBuilder(template.Replace("{value}", value, StringComparison.Ordinal));
        foreach (var (key, fact) in facts) text.Replace("{" + key + "}", fact);
        return text.ToString();
    }

    private string RandomEntity(EntityKind kind) => kind switch
    {
        EntityKind.PersonName => RandomPersonName(),
        EntityKind.FirstName => RandomFirstName(),
        EntityKind.City => RandomCity(),
        EntityKind.Date => RandomDate(_random.Next(1930, 1996)),
        EntityKind.Job => Pick(WorldLexicon.Jobs),
        EntityKind.Genre => Pick(WorldLexicon.Genres),
        EntityKind.Award => RandomAward(),
        EntityKind.BookTitle => RandomTitle(),
        EntityKind.Theme => Pick(WorldLexicon.Themes),
        EntityKind.Language => Pick(_countries).Language,
        EntityKind.Count => _random.Next(2, 31).ToString(CultureInfo.InvariantCulture),
        EntityKind.Year => _random.Next(1950, 2025).ToString(CultureInfo.InvariantCulture),
        EntityKind.Animal => Pick(WorldLexicon.Animals),
        EntityKind.Hobby => Pick(WorldLexicon.Hobbies),
        EntityKind.Publisher => RandomPublisher(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    // ---------------------------------------------------------------- entity generators

    private string RandomCity() => Pick(Pick(_countries).Cities);

    private string RandomDate(int year) =>
        $"{_random.Next(1, 29)} {Pick(WorldLexicon.Months)} {year.ToString(CultureInfo.InvariantCulture)}";

    private string RandomAward() =>
        $"{Pick(WorldLexicon.AwardAdjectives)} {Pick(WorldLexicon.AwardNouns)} {Pick(WorldLexicon.AwardKinds)}";

    private string RandomPublisher() => $"{Pick(WorldLexicon.PublisherWords)} {Pick(WorldLexicon.PublisherKinds)}";

    private string RandomTitle() => _random.Next(2) == 0
        ? $"The {Pick(WorldLexicon.TitleNouns)} of {Pick(WorldLexicon.TitleOfNouns)}"
        : $"The {Pick(WorldLexicon.TitleAdjectives)} {Pick(WorldLexicon.TitleNouns)}";

    /// <summary>A title not used before in this world (titles repeat only once the lists run out).</summary>
    private string NewTitle()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var title = RandomTitle();
            if (_usedTitles.Add(title)) return title;
        }
        return RandomTitle();
    }

    private string RandomFirstName() =>
        Capitalize(Pick(WorldLexicon.NameSyllables) + Pick(WorldLexicon.NameSyllables));

    private string RandomPersonName() =>
        RandomFirstName() + " " + Capitalize(Pick(WorldLexicon.NameSyllables) + Pick(WorldLexicon.NameSyllables) + Pick(WorldLexicon.SurnameEndings));

    /// <summary>A full name never used before in this world.</summary>
    private string NewPersonName()
    {
        while (true)
        {
            var name = RandomPersonName();
            if (_usedNames.Add(name)) return name;
        }
    }

    private T Pick<T>(IReadOnlyList<T> list) => list[_random.Next(list.Count)];

    private List<T> Shuffled<T>(IReadOnlyList<T> list)
    {
        var copy = list.ToList();
        for (var i = copy.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }
        return copy;
    }

    private static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
