namespace Unlearn.Text.Jinja;

// The syntax tree. Every node keeps the offset of the token that starts it (an operator's own token for binary
// operators, the name for filters and tests) so that errors can point at it.

/// <summary>A node of the syntax tree.</summary>
internal abstract class Node(int offset)
{
    public int Offset { get; } = offset;
}

/// <summary>A statement: something that writes output or changes variables.</summary>
internal abstract class Stmt(int offset) : Node(offset);

/// <summary>An expression: something that evaluates to a value.</summary>
internal abstract class Expr(int offset) : Node(offset);

internal sealed class TextStmt(int offset, string text) : Stmt(offset)
{
    public string Text { get; } = text;
}

internal sealed class OutputStmt(int offset, Expr value) : Stmt(offset)
{
    public Expr Value { get; } = value;
}

internal sealed class IfStmt(int offset, List<(Expr Test, List<Stmt> Body)> branches, List<Stmt>? otherwise) : Stmt(offset)
{
    public List<(Expr Test, List<Stmt> Body)> Branches { get; } = branches;
    public List<Stmt>? Else { get; } = otherwise;
}

internal sealed class ForStmt(int offset, Target target, Expr iterable, Expr? filter, List<Stmt> body, List<Stmt>? otherwise) : Stmt(offset)
{
    public Target Target { get; } = target;
    public Expr Iterable { get; } = iterable;
    public Expr? Filter { get; } = filter;
    public List<Stmt> Body { get; } = body;
    public List<Stmt>? Else { get; } = otherwise;
}

internal sealed class SetStmt(int offset, Target target, Expr value) : Stmt(offset)
{
    public Target Target { get; } = target;
    public Expr Value { get; } = value;
}

/// <summary><c>{% set x | filters %}body{% endset %}</c>: the rendered body, passed through the filters.</summary>
internal sealed class SetBlockStmt(int offset, Target target, FilterExpr? filter, List<Stmt> body) : Stmt(offset)
{
    public Target Target { get; } = target;
    public FilterExpr? Filter { get; } = filter;
    public List<Stmt> Body { get; } = body;
}

internal sealed record Parameter(string Name, Expr? Default);

/// <summary>The parameters and body of a macro or of a call block's <c>caller</c>, and which of the implicit
/// names (<c>varargs</c>, <c>kwargs</c>, <c>caller</c>) the body uses, which decides what extra arguments it takes.</summary>
internal sealed class MacroDefinition(string name, List<Parameter> parameters, List<Stmt> body, ISet<string> usedNames)
{
    public string Name { get; } = name;
    public List<Parameter> Parameters { get; } = parameters;
    public List<Stmt> Body { get; } = body;
    public bool TakesVarargs { get; } = usedNames.Contains("varargs");
    public bool TakesKwargs { get; } = usedNames.Contains("kwargs");
    public bool TakesCaller { get; } = usedNames.Contains("caller");
}

internal sealed class MacroStmt(int offset, MacroDefinition macro) : Stmt(offset)
{
    public MacroDefinition Macro { get; } = macro;
}

/// <summary><c>{% call(params) macro(args) %}body{% endcall %}</c>: calls the macro with <c>caller</c> bound to the body.</summary>
internal sealed class CallBlockStmt(int offset, CallExpr call, MacroDefinition caller) : Stmt(offset)
{
    public CallExpr Call { get; } = call;
    public MacroDefinition Caller { get; } = caller;
}

/// <summary><c>{% filter f %}body{% endfilter %}</c>: the rendered body through a filter chain whose innermost
/// input is empty.</summary>
internal sealed class FilterBlockStmt(int offset, FilterExpr filter, List<Stmt> body) : Stmt(offset)
{
    public FilterExpr Filter { get; } = filter;
    public List<Stmt> Body { get; } = body;
}

/// <summary><c>{% with a = 1 %}body{% endwith %}</c>, and statements that only group a body (<c>generation</c>)
/// when <see cref="Assignments"/> is empty and <see cref="NewScope"/> false.</summary>
internal sealed class ScopeStmt(int offset, List<(Target Target, Expr Value)> assignments, List<Stmt> body, bool newScope) : Stmt(offset)
{
    public List<(Target Target, Expr Value)> Assignments { get; } = assignments;
    public List<Stmt> Body { get; } = body;
    public bool NewScope { get; } = newScope;
}

internal sealed class LoopControlStmt(int offset, bool isBreak) : Stmt(offset)
{
    public bool IsBreak { get; } = isBreak;
}

/// <summary>Where <c>set</c>, <c>for</c> and <c>with</c> store values.</summary>
internal abstract class Target(int offset) : Node(offset);

internal sealed class NameTarget(int offset, string name) : Target(offset)
{
    public string Name { get; } = name;
}

internal sealed class TupleTarget(int offset, List<Target> items) : Target(offset)
{
    public List<Target> Items { get; } = items;
}

/// <summary><c>ns.attr</c> in <c>{% set ns.attr = value %}</c>.</summary>
internal sealed class NamespaceTarget(int offset, string name, string attribute) : Target(offset)
{
    public string Name { get; } = name;
    public string Attribute { get; } = attribute;
}

internal sealed class ConstExpr(int offset, object? value) : Expr(offset)
{
    public object? Value { get; } = value;
}

internal sealed class NameExpr(int offset, string name) : Expr(offset)
{
    public string Name { get; } = name;
}

internal enum CollectionKind { List, Tuple }

internal sealed class CollectionExpr(int offset, CollectionKind kind, List<Expr> items) : Expr(offset)
{
    public CollectionKind Kind { get; } = kind;
    public List<Expr> Items { get; } = items;
}

internal sealed class DictExpr(int offset, List<(Expr Key, Expr Value)> items) : Expr(offset)
{
    public List<(Expr Key, Expr Value)> Items { get; } = items;
}

/// <summary><c>obj.name</c>: a Python attribute first, then an item.</summary>
internal sealed class GetAttrExpr(int offset, Expr target, string name) : Expr(offset)
{
    public Expr Target { get; } = target;
    public string Name { get; } = name;
}

/// <summary><c>obj[key]</c>: an item first, then (for a string key) a Python attribute.</summary>
internal sealed class GetItemExpr(int offset, Expr target, Expr key) : Expr(offset)
{
    public Expr Target { get; } = target;
    public Expr Key { get; } = key;
}

/// <summary><c>start:stop:step</c> inside brackets; only a <see cref="GetItemExpr"/> key.</summary>
internal sealed class SliceExpr(int offset, Expr? start, Expr? stop, Expr? step) : Expr(offset)
{
    public Expr? Start { get; } = start;
    public Expr? Stop { get; } = stop;
    public Expr? Step { get; } = step;
}

/// <summary>The arguments of a call, filter or test: positional, keyword, <c>*args</c> and <c>**kwargs</c>.</summary>
internal sealed record Arguments(List<Expr> Positional, List<(string Name, Expr Value)> Keyword, Expr? Star, Expr? StarStar)
{
    public static Arguments None { get; } = new([], [], null, null);
}

internal sealed class CallExpr(int offset, Expr callee, Arguments arguments) : Expr(offset)
{
    public Expr Callee { get; } = callee;
    public Arguments Arguments { get; } = arguments;
}

/// <summary><c>input|name(args)</c>; <see cref="Input"/> is null inside <c>{% filter %}</c> and block <c>set</c>
/// chains, where the rendered body is the input.</summary>
internal sealed class FilterExpr(int offset, Expr? input, string name, Arguments arguments) : Expr(offset)
{
    public Expr? Input { get; } = input;
    public string Name { get; } = name;
    public Arguments Arguments { get; } = arguments;
}

internal sealed class TestExpr(int offset, Expr input, string name, Arguments arguments) : Expr(offset)
{
    public Expr Input { get; } = input;
    public string Name { get; } = name;
    public Arguments Arguments { get; } = arguments;
}

/// <summary><c>not</c>, unary <c>-</c> and unary <c>+</c>.</summary>
internal sealed class UnaryExpr(int offset, string op, Expr operand) : Expr(offset)
{
    public string Op { get; } = op;
    public Expr Operand { get; } = operand;
}

/// <summary>Arithmetic (<c>+ - * / // % **</c>), <c>~</c> and the short-circuit <c>and</c>/<c>or</c>.</summary>
internal sealed class BinaryExpr(int offset, string op, Expr left, Expr right) : Expr(offset)
{
    public string Op { get; } = op;
    public Expr Left { get; } = left;
    public Expr Right { get; } = right;
}

/// <summary>A comparison chain <c>a &lt; b &lt;= c</c>, with <c>in</c> and <c>not in</c>, evaluated like Python's.</summary>
internal sealed class CompareExpr(int offset, Expr first, List<(string Op, Expr Operand, int Offset)> rest) : Expr(offset)
{
    public Expr First { get; } = first;
    public List<(string Op, Expr Operand, int Offset)> Rest { get; } = rest;
}

/// <summary><c>then if test else otherwise</c>; without <c>else</c>, an undefined value.</summary>
internal sealed class CondExpr(int offset, Expr test, Expr then, Expr? otherwise) : Expr(offset)
{
    public Expr Test { get; } = test;
    public Expr Then { get; } = then;
    public Expr? Else { get; } = otherwise;
}
