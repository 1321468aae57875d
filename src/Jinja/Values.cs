using System.Collections;

namespace Unlearn.Text.Jinja;

// Runtime values. Python's None, bool, int, float and str are null, bool, long, double and string; a list is a
// List<object?>, a dict a Dictionary<string, object?> (insertion-ordered, string keys only). The classes below are
// the Python types that have no C# counterpart.

/// <summary>jinja2's default <c>Undefined</c>: prints as an empty string, is false, iterates as empty, has length 0;
/// any other use (attribute, item, call, arithmetic, ordering) raises an error that says why it is undefined.</summary>
internal sealed class Undefined
{
    private readonly string? _hint;
    private readonly object? _owner;
    private readonly bool _hasOwner;
    private readonly object? _name;

    private Undefined(string? hint, bool hasOwner, object? owner, object? name)
    {
        _hint = hint;
        _hasOwner = hasOwner;
        _owner = owner;
        _name = name;
    }

    /// <summary>A variable that does not exist.</summary>
    public static Undefined Missing(string name) => new(null, false, null, name);

    /// <summary>An attribute or item that <paramref name="owner"/> does not have.</summary>
    public static Undefined NoMember(object? owner, object? name) => new(null, true, owner, name);

    /// <summary>An undefined value with an explicit explanation.</summary>
    public static Undefined WithHint(string hint) => new(hint, false, null, null);

    /// <summary>Why the value is undefined, in jinja2's words.</summary>
    public string Message
    {
        get
        {
            if (_hint is not null) return _hint;
            if (!_hasOwner) return _name is null ? "value is undefined" : $"'{_name}' is undefined";
            var owner = _owner is null ? "None" : $"{Py.TypeName(_owner)} object";
            return _name is string s ? $"{owner} has no attribute {Py.ReprString(s)}" : $"{owner} has no element {Py.Repr(_name)}";
        }
    }

    public JinjaRuntimeError Error() => new(Message);
}

/// <summary>A Python tuple (from tuple literals, <c>dict.items()</c>, <c>varargs</c>).</summary>
internal sealed class PyTuple(IReadOnlyList<object?> items) : IReadOnlyList<object?>
{
    public static PyTuple Empty { get; } = new([]);

    public object? this[int index] => items[index];

    public int Count => items.Count;

    public IEnumerator<object?> GetEnumerator() => items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>What <c>range(...)</c> returns.</summary>
internal sealed class PyRange : IReadOnlyList<object?>
{
    public PyRange(long start, long stop, long step)
    {
        Start = start;
        Stop = stop;
        Step = step;
        var span = step > 0 ? stop - start : start - stop;
        var size = span <= 0 ? 0 : (span - 1) / Math.Abs(step) + 1;
        Count = checked((int)size);
    }

    public long Start { get; }

    public long Stop { get; }

    public long Step { get; }

    public int Count { get; }

    public object? this[int index] => Start + index * Step;

    public IEnumerator<object?> GetEnumerator()
    {
        for (var i = 0; i < Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary><c>dict.items()</c>, <c>dict.keys()</c> or <c>dict.values()</c>: sized, iterable any number of times, not
/// indexable.</summary>
internal sealed class DictView(string kind, IReadOnlyDictionary<string, object?> dict) : IReadOnlyCollection<object?>
{
    /// <summary><c>dict_items</c>, <c>dict_keys</c> or <c>dict_values</c>.</summary>
    public string Kind { get; } = kind;

    public int Count => dict.Count;

    public IEnumerator<object?> GetEnumerator()
    {
        foreach (var (key, value) in dict)
            yield return Kind switch { "dict_keys" => key, "dict_values" => value, _ => new PyTuple([key, value]) };
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A Python generator or iterator (what <c>|select</c>, <c>|map</c>, <c>|reverse</c>, <c>|items</c>, ...
/// return): always true, has no length, and can be iterated only once.</summary>
internal sealed class PyIterator(string typeName, IEnumerable<object?> source)
{
    private readonly IEnumerator<object?> _items = source.GetEnumerator();

    /// <summary>The Python type name (<c>generator</c>, <c>list_reverseiterator</c>, ...).</summary>
    public string TypeName { get; } = typeName;

    /// <summary>Yields the items not consumed yet.</summary>
    public IEnumerable<object?> Consume()
    {
        while (_items.MoveNext()) yield return _items.Current;
    }
}

/// <summary>What <c>namespace(...)</c> returns: the one object whose attributes <c>{% set ns.attr = ... %}</c> may change.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = [];
}

/// <summary>The <c>loop</c> variable of a for loop.</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items)
{
    private object? _lastChanged = Undefined.WithHint("no previous value");

    public int Index0 { get; set; }

    public int Length => items.Count;

    /// <summary>The value of attribute <paramref name="name"/>, or false when the loop has no such attribute.</summary>
    public bool TryGet(string name, out object? value)
    {
        switch (name)
        {
            case "index": value = (long)Index0 + 1; return true;
            case "index0": value = (long)Index0; return true;
            case "revindex": value = (long)(Length - Index0); return true;
            case "revindex0": value = (long)(Length - Index0 - 1); return true;
            case "first": value = Index0 == 0; return true;
            case "last": value = Index0 == Length - 1; return true;
            case "length": value = (long)Length; return true;
            case "depth": value = 1L; return true;
            case "depth0": value = 0L; return true;
            case "previtem": value = Index0 > 0 ? items[Index0 - 1] : Undefined.WithHint("there is no previous item"); return true;
            case "nextitem": value = Index0 < Length - 1 ? items[Index0 + 1] : Undefined.WithHint("there is no next item"); return true;
            case "cycle":
                value = new BuiltinFunction("cycle", (_, args) => args.Positional.Count == 0
                    ? throw new JinjaRuntimeError("no items for cycling given")
                    : args.Positional[Index0 % args.Positional.Count]);
                return true;
            case "changed":
                value = new BuiltinFunction("changed", (_, args) =>
                {
                    var current = new List<object?>(args.Positional);
                    if (Py.Equal(current, _lastChanged)) return false;
                    _lastChanged = current;
                    return true;
                });
                return true;
            default:
                value = null;
                return false;
        }
    }
}

/// <summary>The evaluated arguments of a call.</summary>
internal sealed class CallArgs(List<object?> positional, List<KeyValuePair<string, object?>> keyword)
{
    /// <summary>Marks a parameter that was not passed.</summary>
    public static readonly object Missing = new();

    public static CallArgs Empty => new([], []);

    public List<object?> Positional { get; } = positional;

    public List<KeyValuePair<string, object?>> Keyword { get; } = keyword;

    /// <summary>Assigns the arguments to parameters like Python: positional first, then by name; an unfilled
    /// parameter holds <see cref="Missing"/>. The first <paramref name="required"/> parameters must be given.</summary>
    public object?[] Bind(string function, int required, params string[] names)
    {
        if (Positional.Count > names.Length)
            throw new JinjaRuntimeError($"{function}() takes at most {names.Length} argument(s) ({Positional.Count} given)");
        var bound = new object?[names.Length];
        Array.Fill(bound, Missing);
        for (var i = 0; i < Positional.Count; i++) bound[i] = Positional[i];
        foreach (var (name, value) in Keyword)
        {
            var index = Array.IndexOf(names, name);
            if (index < 0) throw new JinjaRuntimeError($"{function}() got an unexpected keyword argument '{name}'");
            if (bound[index] != Missing) throw new JinjaRuntimeError($"{function}() got multiple values for argument '{name}'");
            bound[index] = value;
        }
        for (var i = 0; i < required; i++)
            if (bound[i] == Missing) throw new JinjaRuntimeError($"{function}() missing required argument '{names[i]}'");
        return bound;
    }
}

/// <summary>A value that can be called from a template.</summary>
internal abstract class Callable
{
    public abstract string Name { get; }

    public abstract object? Call(Renderer renderer, CallArgs args);
}

/// <summary>A built-in function or a bound method (<c>range</c>, <c>'x'.strip</c>, <c>loop.cycle</c>, ...).</summary>
internal sealed class BuiltinFunction(string name, Func<Renderer, CallArgs, object?> body) : Callable
{
    public override string Name => name;

    public override object? Call(Renderer renderer, CallArgs args) => body(renderer, args);
}

/// <summary>A macro (or a call block's <c>caller</c>) bound to the scope it was defined in.</summary>
internal sealed class Macro(MacroDefinition definition, Scope closure) : Callable
{
    public override string Name => definition.Name;

    public MacroDefinition Definition => definition;

    public Scope Closure => closure;

    public override object? Call(Renderer renderer, CallArgs args) => renderer.CallMacro(this, args);
}

/// <summary>Variables visible at one point of the template; lookups fall back to the enclosing scope.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _variables = [];

    public bool TryGet(string name, out object? value)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
            if (scope._variables.TryGetValue(name, out value)) return true;
        value = null;
        return false;
    }

    public Scope? Parent => parent;

    public void Set(string name, object? value) => _variables[name] = value;
}
