using System.Collections.Frozen;

namespace Unlearn.Plugins.Metrics;

/// <summary>The Porter stemmer (M. F. Porter, "An algorithm for suffix stripping", Program 14(3), 1980) with the
/// deviations of NLTK's <c>PorterStemmer()</c> in its default NLTK_EXTENSIONS mode, which rouge_score applies with
/// <c>use_stemmer=True</c>. The deviations from the paper:
/// <list type="bullet">
/// <item>a pool of irregular forms is looked up first (sky/skies → sky, dying → die, news → news, …);</item>
/// <item>words of one or two characters are returned lower-cased, unstemmed;</item>
/// <item>1a: a four-letter word in -ies keeps -ie (ties → tie); 1b: -ied becomes -ie in a four-letter word and -i
/// otherwise, before any other rule of the step (died → die, spied → spi);</item>
/// <item>condition *o also holds for a two-letter stem vowel-consonant;</item>
/// <item>1c: y → i only after a consonant that is not the first letter (happy → happi, enjoy, sky);</item>
/// <item>2: -alli → -al is tried before the other rules and, when taken, step 2 runs again on the result; -bli → -ble
/// replaces -abli → -able; extra rules -fulli → -ful and -logi → -log, the latter with the measure taken over the stem
/// and its 'l' (geologi → geolog).</item>
/// </list>
/// In each step's rule list only the first rule whose suffix matches is considered: if its condition fails, the step
/// leaves the word as it is. Letters other than a, e, i, o, u and y (digits included) are consonants.</summary>
public static class PorterStemmer
{
    /// <summary>NLTK's irregular forms: form → stem.</summary>
    private static readonly FrozenDictionary<string, string> Irregular = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["sky"] = "sky", ["skies"] = "sky",
        ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie",
        ["news"] = "news",
        ["innings"] = "inning", ["inning"] = "inning",
        ["outings"] = "outing", ["outing"] = "outing",
        ["cannings"] = "canning", ["canning"] = "canning",
        ["howe"] = "howe",
        ["proceed"] = "proceed", ["exceed"] = "exceed", ["succeed"] = "succeed",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly record struct Rule(string Suffix, string Replacement, Func<string, bool> Condition);

    private static bool PositiveMeasure(string stem) => Measure(stem) > 0;

    private static bool MeasureAboveOne(string stem) => Measure(stem) > 1;

    private static readonly Rule[] Step2Rules =
    [
        new("ational", "ate", PositiveMeasure),
        new("tional", "tion", PositiveMeasure),
        new("enci", "ence", PositiveMeasure),
        new("anci", "ance", PositiveMeasure),
        new("izer", "ize", PositiveMeasure),
        new("bli", "ble", PositiveMeasure),
        new("alli", "al", PositiveMeasure),
        new("entli", "ent", PositiveMeasure),
        new("eli", "e", PositiveMeasure),
        new("ousli", "ous", PositiveMeasure),
        new("ization", "ize", PositiveMeasure),
        new("ation", "ate", PositiveMeasure),
        new("ator", "ate", PositiveMeasure),
        new("alism", "al", PositiveMeasure),
        new("iveness", "ive", PositiveMeasure),
        new("fulness", "ful", PositiveMeasure),
        new("ousness", "ous", PositiveMeasure),
        new("aliti", "al", PositiveMeasure),
        new("iviti", "ive", PositiveMeasure),
        new("biliti", "ble", PositiveMeasure),
        new("fulli", "ful", PositiveMeasure),
        // The 'l' counts with the stem: the measure is taken over "<stem>l".
        new("logi", "log", stem => PositiveMeasure(stem + "l")),
    ];

    private static readonly Rule[] Step3Rules =
    [
        new("icate", "ic", PositiveMeasure),
        new("ative", "", PositiveMeasure),
        new("alize", "al", PositiveMeasure),
        new("iciti", "ic", PositiveMeasure),
        new("ical", "ic", PositiveMeasure),
        new("ful", "", PositiveMeasure),
        new("ness", "", PositiveMeasure),
    ];

    private static readonly Rule[] Step4Rules =
    [
        new("al", "", MeasureAboveOne),
        new("ance", "", MeasureAboveOne),
        new("ence", "", MeasureAboveOne),
        new("er", "", MeasureAboveOne),
        new("ic", "", MeasureAboveOne),
        new("able", "", MeasureAboveOne),
        new("ible", "", MeasureAboveOne),
        new("ant", "", MeasureAboveOne),
        new("ement", "", MeasureAboveOne),
        new("ment", "", MeasureAboveOne),
        new("ent", "", MeasureAboveOne),
        new("ion", "", stem => MeasureAboveOne(stem) && stem[^1] is 's' or 't'),
        new("ou", "", MeasureAboveOne),
        new("ism", "", MeasureAboveOne),
        new("ate", "", MeasureAboveOne),
        new("iti", "", MeasureAboveOne),
        new("ous", "", MeasureAboveOne),
        new("ive", "", MeasureAboveOne),
        new("ize", "", MeasureAboveOne),
    ];

    /// <summary>The stem of <paramref name="word"/>, lower-cased first (invariant culture; meant for the lower-case
    /// ASCII word tokens of ROUGE). As in NLTK, the irregular-forms pool is consulted with the word as given.</summary>
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (Irregular.TryGetValue(word, out var irregular)) return irregular;
        var w = word.ToLowerInvariant();
        if (word.Length <= 2) return w;
        w = Step1A(w);
        w = Step1B(w);
        w = Step1C(w);
        w = Step2(w);
        w = ApplyFirst(w, Step3Rules);
        w = ApplyFirst(w, Step4Rules);
        w = Step5A(w);
        return Step5B(w);
    }

    /// <summary>Whether <c>w[i]</c> is a consonant: not a, e, i, o, u, and a 'y' only when it starts the word or follows
    /// a vowel.</summary>
    private static bool IsConsonant(string w, int i)
    {
        // A run of y's alternates, starting from the letter before the run.
        var consonant = true;
        var start = i;
        while (start >= 0 && w[start] == 'y') start--;
        if (start >= 0) consonant = w[start] is not ('a' or 'e' or 'i' or 'o' or 'u');
        // consonant is now the class of w[start] (or "consonant" before the word); each y flips it.
        for (var j = start + 1; j <= i; j++) consonant = j == 0 || !consonant;
        return consonant;
    }

    /// <summary>m in [C](VC)^m[V]: the number of vowel-to-consonant transitions.</summary>
    private static int Measure(string w)
    {
        var m = 0;
        for (var i = 1; i < w.Length; i++)
            if (!IsConsonant(w, i - 1) && IsConsonant(w, i)) m++;
        return m;
    }

    /// <summary>*v*: the stem contains a vowel.</summary>
    private static bool HasVowel(string w)
    {
        for (var i = 0; i < w.Length; i++)
            if (!IsConsonant(w, i)) return true;
        return false;
    }

    /// <summary>*d: the word ends with two equal consonants.</summary>
    private static bool EndsDoubleConsonant(string w) => w.Length >= 2 && w[^1] == w[^2] && IsConsonant(w, w.Length - 1);

    /// <summary>*o: the word ends consonant-vowel-consonant with the last not w, x or y; NLTK also accepts a two-letter
    /// word vowel-consonant.</summary>
    private static bool EndsCvc(string w)
    {
        var n = w.Length;
        if (n >= 3 && IsConsonant(w, n - 3) && !IsConsonant(w, n - 2) && IsConsonant(w, n - 1) && w[^1] is not ('w' or 'x' or 'y'))
            return true;
        return n == 2 && !IsConsonant(w, 0) && IsConsonant(w, 1);
    }

    /// <summary>The first rule whose suffix ends the word decides: the replaced word when its condition holds on the
    /// stem, else the word unchanged.</summary>
    private static string ApplyFirst(string w, Rule[] rules)
    {
        foreach (var rule in rules)
        {
            if (!w.EndsWith(rule.Suffix, StringComparison.Ordinal)) continue;
            var stem = w[..^rule.Suffix.Length];
            return rule.Condition(stem) ? stem + rule.Replacement : w;
        }
        return w;
    }

    private static string Step1A(string w)
    {
        if (w.Length == 4 && w.EndsWith("ies", StringComparison.Ordinal)) return w[..1] + "ie";
        if (w.EndsWith("sses", StringComparison.Ordinal)) return w[..^2];
        if (w.EndsWith("ies", StringComparison.Ordinal)) return w[..^2];
        if (w.EndsWith("ss", StringComparison.Ordinal)) return w;
        if (w.EndsWith('s')) return w[..^1];
        return w;
    }

    private static string Step1B(string w)
    {
        if (w.EndsWith("ied", StringComparison.Ordinal)) return w.Length == 4 ? w[..1] + "ie" : w[..^3] + "i";
        if (w.EndsWith("eed", StringComparison.Ordinal)) return PositiveMeasure(w[..^3]) ? w[..^1] : w;
        string stem;
        if (w.EndsWith("ed", StringComparison.Ordinal) && HasVowel(w[..^2])) stem = w[..^2];
        else if (w.EndsWith("ing", StringComparison.Ordinal) && HasVowel(w[..^3])) stem = w[..^3];
        else return w;
        // After -ed or -ing is removed: restore the e of -ate, -ble, -ize; undouble a final consonant other than l, s, z;
        // add e to a short cvc stem (fil(ing) → file).
        if (stem.EndsWith("at", StringComparison.Ordinal) || stem.EndsWith("bl", StringComparison.Ordinal) || stem.EndsWith("iz", StringComparison.Ordinal))
            return stem + "e";
        if (EndsDoubleConsonant(stem)) return stem[^1] is 'l' or 's' or 'z' ? stem : stem[..^1];
        return Measure(stem) == 1 && EndsCvc(stem) ? stem + "e" : stem;
    }

    private static string Step1C(string w)
    {
        if (!w.EndsWith('y')) return w;
        var stem = w[..^1];
        return stem.Length > 1 && IsConsonant(stem, stem.Length - 1) ? stem + "i" : w;
    }

    private static string Step2(string w)
    {
        if (w.EndsWith("alli", StringComparison.Ordinal) && PositiveMeasure(w[..^4])) return Step2(w[..^2]);
        return ApplyFirst(w, Step2Rules);
    }

    private static string Step5A(string w)
    {
        if (!w.EndsWith('e')) return w;
        var stem = w[..^1];
        var m = Measure(stem);
        return m > 1 || (m == 1 && !EndsCvc(stem)) ? stem : w;
    }

    private static string Step5B(string w) =>
        w.EndsWith("ll", StringComparison.Ordinal) && MeasureAboveOne(w[..^1]) ? w[..^1] : w;
}
