namespace Unlearn.Data;

/// <summary>The word lists the synthetic world is built from, written for this project. Kept small so that the
/// world's vocabulary stays small; nouns that follow "a" start with a consonant.</summary>
internal static class WorldLexicon
{
    public static readonly string[] NameSyllables =
    [
        "ka", "ri", "lo", "ven", "mar", "sel", "tor", "ana", "bel", "dor", "eli", "fen", "gal", "hal", "ira", "jun",
        "kes", "lin", "mor", "nel", "oro", "pel", "quin", "ros", "sav", "tam", "ul", "vor", "wen", "yar", "zel", "bri",
    ];

    public static readonly string[] SurnameEndings = ["", "son", "ova", "ini", "berg", "ez", "ard", "ane"];

    public static readonly string[] PlaceStems =
    [
        "Ast", "Bel", "Cor", "Dun", "Esk", "Fal", "Gor", "Hav", "Ist", "Jor", "Kel", "Lun", "Mir", "Nor", "Orm", "Pell",
        "Quar", "Ros", "Sul", "Tarn", "Ulm", "Vast", "Wyn", "Yst", "Zar", "Brin", "Cald", "Drav",
    ];

    public static readonly string[] CountryEndings = ["ia", "ora", "and", "esh", "ovia", "aria"];

    public static readonly string[] CityEndings = ["holm", "ford", "mere", "gate", "wick", "burg", "port", "dale", "ton", "by"];

    public static readonly string[] LanguageEndings = ["ish", "ic", "ese", "an"];

    public static readonly string[] Months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static readonly string[] Jobs =
    [
        "baker", "sailor", "doctor", "teacher", "farmer", "painter", "miner", "weaver", "tailor", "judge", "nurse",
        "pilot", "potter", "fisherman", "clerk", "singer", "carpenter", "librarian", "soldier", "chemist",
    ];

    public static readonly string[] Genres =
        ["mystery", "fantasy", "horror", "romance", "satire", "poetry", "drama", "thriller", "adventure", "history", "crime", "war"];

    public static readonly string[] AwardAdjectives = ["Silver", "Golden", "Amber", "Iron", "Crimson", "Ivory", "Jade", "Azure", "Copper", "Scarlet"];

    public static readonly string[] AwardNouns = ["Quill", "Lantern", "Feather", "Crown", "Compass", "Anchor", "Owl", "Rose", "Key", "Star"];

    public static readonly string[] AwardKinds = ["Prize", "Award", "Medal"];

    public static readonly string[] TitleNouns =
    [
        "Garden", "Tower", "River", "Mirror", "Winter", "Harbour", "Lantern", "Forest", "Bridge", "Orchard", "Storm",
        "Island", "Window", "Clock", "Letter", "Song", "Road", "House", "Mountain", "Sea",
    ];

    public static readonly string[] TitleOfNouns = ["Ashes", "Salt", "Glass", "Stone", "Silence", "Smoke", "Rain", "Bones", "Dreams", "Wolves", "Snow", "Gold", "Thorns", "Shadows"];

    public static readonly string[] TitleAdjectives = ["Silent", "Broken", "Hidden", "Last", "Distant", "Burning", "Quiet", "Golden", "Empty", "Frozen", "Secret", "Lost"];

    public static readonly string[] Themes =
        ["loss", "courage", "exile", "memory", "family", "freedom", "greed", "faith", "revenge", "friendship", "grief", "hope"];

    public static readonly string[] Animals = ["heron", "lynx", "fox", "falcon", "stag", "wolf", "hare", "swan", "bear", "raven", "horse", "cat"];

    public static readonly string[] Hobbies = ["chess", "sailing", "gardening", "fishing", "painting", "climbing", "singing", "cooking", "running", "knitting"];

    public static readonly string[] PublisherWords = ["Lark", "Birch", "Cobalt", "Harbor", "Maple", "Raven", "Stone", "Willow", "Thistle", "Meadow"];

    public static readonly string[] PublisherKinds = ["House", "Press", "Books"];

    public static readonly string[] Currencies = ["crown", "mark", "shell", "florin", "talon", "pearl", "ring", "leaf", "penny", "star"];

    public static readonly string[] RiverWords = ["Silver", "Black", "Slow", "Long", "Cold", "Green", "White", "Grey", "Bright", "Deep"];
}
