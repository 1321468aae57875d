using System.Collections;
using System.Text;

namespace Unlearn.Text.Jinja;

/// <summary>Evaluates a parsed template for one render: executes statements into a <see cref="StringBuilder"/> and
/// evaluates expressions with Python's semantics. Errors raised while evaluating an expression are reported at
/// that expression's line and column.</summary>
internal sealed class Renderer(SourceText source, TimeProvider clock)
{
    private const int MaxMacroDepth = 200;

    private int _macroDepth;

    private enum Flow { Normal, Break, Continue }

    /// <summary>The clock <c>strftime_now</c> reads.</summary>
    public TimeProvider Clock => clock;

    public string Render(List<Stmt> body, IReadOnlyDictionary<string, object?> variables)
    {
        var globals = new Scope(null);
        Builtins.AddGlobals(globals);
        var context = new Scope(globals);
        foreach (var (name, value) in variables) context.Set(name, Import(value, name));
        var output = new StringBuilder();
        Exec(body, context, output);
        return output.ToString();
    }

    /// <summary>Converts a caller's value to the runtime representation (long, double, List, Dictionary).</summary>
    private static object? Import(object? value, string path) => value switch
    {
        null or string or bool or long or double => value,
        int or short or sbyte or byte or ushort or uint => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        ulong u => u <= long.MaxValue ? (long)u : throw new ArgumentException($"template variable {path} is too large for a 64-bit integer", nameof(value)),
        float or decimal => Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture),
        char c => c.ToString(),
        IReadOnlyDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => Import(kv.Value, $"{path}['{kv.Key}']")),
        IDictionary d => d.Keys.Cast<object>().ToDictionary(
            k => k as string ?? throw new ArgumentException($"template variable {path} has a key of type {k.GetType().Name}; only string keys are supported", nameof(value)),
            k => Import(d[k], $"{path}['{k}']")),
        IEnumerable e => e.Cast<object?>().Select((x, i) => Import(x, $"{path}[{i}]")).ToList(),
        _ => throw new ArgumentException($"template variable {path} has unsupported type {value.GetType().Name}", nameof(value)),
    };

    private Flow Exec(List<Stmt> body, Scope scope, StringBuilder output)
    {
        foreach (var stmt in body)
        {
            var flow = Flow.Normal;
            switch (stmt)
            {
                case TextStmt text:
                    output.Append(text.Text);
                    break;
                case OutputStmt print:
                    output.Append(Py.Str(Eval(print.Value, scope)));
                    break;
                case IfStmt branch:
                    var chosen = branch.Else;
                    foreach (var (test, block) in branch.Branches)
                        if (Py.Truthy(Eval(test, scope))) { chosen = block; break; }
                    if (chosen is not null) flow = Exec(chosen, scope, output);
                    break;
                case ForStmt loop:
                    flow = ExecFor(loop, scope, output);
                    break;
                case SetStmt set:
                    Assign(set.Target, Eval(set.Value, scope), scope);
                    break;
                case SetBlockStmt setBlock:
                    var captured = Capture(setBlock.Body, new Scope(scope));
                    Assign(setBlock.Target, setBlock.Filter is null ? captured : ApplyFilterChain(setBlock.Filter, captured, scope), scope);
                    break;
                case MacroStmt macro:
                    scope.Set(macro.Macro.Name, new Macro(macro.Macro, scope));
                    break;
                case CallBlockStmt call:
                    output.Append(Py.Str(At(call.Call.Offset, () => EvalCall(call.Call, scope, new Macro(call.Caller, scope)))));
                    break;
                case FilterBlockStmt filter:
                    output.Append(Py.Str(ApplyFilterChain(filter.Filter, Capture(filter.Body, scope), scope)));
                    break;
                case ScopeStmt with:
                    var inner = with.NewScope ? new Scope(scope) : scope;
                    foreach (var (target, value) in with.Assignments) Assign(target, Eval(value, scope), inner);
                    flow = Exec(with.Body, inner, output);
                    break;
                case LoopControlStmt control:
                    return control.IsBreak ? Flow.Break : Flow.Continue;
            }
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private string Capture(List<Stmt> body, Scope scope)
    {
        var output = new StringBuilder();
        Exec(body, scope, output);
        return output.ToString();
    }

    /// <summary>A for loop: the iterable is read once (filtered by the inline <c>if</c>), each iteration runs in a
    /// fresh scope holding the loop variables and <c>loop</c>, and the <c>else</c> body runs when nothing was iterated.</summary>
    private Flow ExecFor(ForStmt loop, Scope scope, StringBuilder output)
    {
        var iterable = Eval(loop.Iterable, scope);
        var items = At(loop.Iterable.Offset, () => Py.ToList(iterable));
        if (loop.Filter is not null)
            items = items.Where(item =>
            {
                var filterScope = new Scope(scope);
                Assign(loop.Target, item, filterScope);
                return Py.Truthy(Eval(loop.Filter, filterScope));
            }).ToList();
        if (items.Count == 0) return loop.Else is null ? Flow.Normal : Exec(loop.Else, scope, output);
        var context = new LoopContext(items);
        for (var i = 0; i < items.Count; i++)
        {
            context.Index0 = i;
            var iteration = new Scope(scope);
            iteration.Set("loop", context);
            Assign(loop.Target, items[i], iteration);
            if (Exec(loop.Body, iteration, output) == Flow.Break) break;
        }
        return Flow.Normal;
    }

    private void Assign(Target target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameTarget name:
                scope.Set(name.Name, value);
                break;
            case TupleTarget tuple:
                var items = At(target.Offset, () => Py.ToList(value));
                if (items.Count != tuple.Items.Count)
                    throw source.Error(target.Offset, items.Count > tuple.Items.Count
                        ? $"too many values to unpack (expected {tuple.Items.Count})"
                        : $"not enough values to unpack (expected {tuple.Items.Count}, got {items.Count})");
                for (var i = 0; i < items.Count; i++) Assign(tuple.Items[i], items[i], scope);
                break;
            case NamespaceTarget ns:
                if (!scope.TryGet(ns.Name, out var holder) || holder is not Namespace namespaceValue)
                    throw source.Error(target.Offset, "cannot assign attribute on non-namespace object");
                namespaceValue.Attributes[ns.Attribute] = value;
                break;
        }
    }

    /// <summary>Runs <paramref name="body"/>, reporting any evaluation error at <paramref name="offset"/>.</summary>
    private T At<T>(int offset, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is not JinjaException)
        {
            throw source.Error(offset, e.Message);
        }
    }

    public object? Eval(Expr expr, Scope scope)
    {
        try
        {
            return EvalCore(expr, scope);
        }
        catch (Exception e) when (e is not JinjaException)
        {
            throw source.Error(expr.Offset, e.Message);
        }
    }

    private object? EvalCore(Expr expr, Scope scope)
    {
        switch (expr)
        {
            case ConstExpr c:
                return c.Value;
            case NameExpr n:
                return scope.TryGet(n.Name, out var value) ? value : Undefined.Missing(n.Name);
            case CollectionExpr collection:
                var items = collection.Items.Select(e => Eval(e, scope)).ToList();
                return collection.Kind == CollectionKind.Tuple ? new PyTuple(items) : items;
            case DictExpr dict:
                var result = new Dictionary<string, object?>();
                foreach (var (keyExpr, valueExpr) in dict.Items)
                {
                    var key = Eval(keyExpr, scope) as string ?? throw source.Error(keyExpr.Offset, "only string keys are supported in dict literals");
                    result[key] = Eval(valueExpr, scope);
                }
                return result;
            case GetAttrExpr attr:
                return Members.GetAttr(Eval(attr.Target, scope), attr.Name);
            case GetItemExpr item:
                var target = Eval(item.Target, scope);
                object? index = item.Key is SliceExpr slice
                    ? new PySlice(EvalOptional(slice.Start, scope), EvalOptional(slice.Stop, scope), EvalOptional(slice.Step, scope))
                    : Eval(item.Key, scope);
                return Members.GetItem(target, index);
            case CallExpr call:
                return EvalCall(call, scope, null);
            case FilterExpr filter:
                return CallFilter(filter.Name, Eval(filter.Input!, scope), EvalArgs(filter.Arguments, scope));
            case TestExpr test:
                return CallTest(test.Name, Eval(test.Input, scope), EvalArgs(test.Arguments, scope));
            case UnaryExpr unary:
                var operand = Eval(unary.Operand, scope);
                return unary.Op == "not" ? !Py.Truthy(operand) : Py.Unary(unary.Op, operand);
            case BinaryExpr binary:
                var left = Eval(binary.Left, scope);
                return binary.Op switch
                {
                    "and" => Py.Truthy(left) ? Eval(binary.Right, scope) : left,
                    "or" => Py.Truthy(left) ? left : Eval(binary.Right, scope),
                    "~" => Py.Str(left) + Py.Str(Eval(binary.Right, scope)),
                    _ => Py.Arithmetic(binary.Op, left, Eval(binary.Right, scope)),
                };
            case CompareExpr compare:
                var current = Eval(compare.First, scope);
                foreach (var (op, operandExpr, offset) in compare.Rest)
                {
                    var next = Eval(operandExpr, scope);
                    var holds = At(offset, () => op switch
                    {
                        "==" => Py.Equal(current, next),
                        "!=" => !Py.Equal(current, next),
                        "in" => Py.Contains(next, current),
                        "notin" => !Py.Contains(next, current),
                        _ => Py.Ordered(op, current, next),
                    });
                    if (!holds) return false;
                    current = next;
                }
                return true;
            case CondExpr cond:
                if (Py.Truthy(Eval(cond.Test, scope))) return Eval(cond.Then, scope);
                return cond.Else is null
                    ? Undefined.WithHint($"the inline if-expression on line {source.Locate(cond.Offset).Line} evaluated to false and no else section was defined.")
                    : Eval(cond.Else, scope);
            default:
                throw new InvalidOperationException($"cannot evaluate {expr.GetType().Name}");
        }
    }

    private object? EvalOptional(Expr? expr, Scope scope) => expr is null ? null : Eval(expr, scope);

    private CallArgs EvalArgs(Arguments arguments, Scope scope)
    {
        var positional = arguments.Positional.Select(e => Eval(e, scope)).ToList();
        var keyword = arguments.Keyword.Select(kv => new KeyValuePair<string, object?>(kv.Name, Eval(kv.Value, scope))).ToList();
        if (arguments.Star is not null) positional.AddRange(At(arguments.Star.Offset, () => Py.ToList(Eval(arguments.Star, scope))));
        if (arguments.StarStar is not null)
        {
            var extra = Eval(arguments.StarStar, scope) as IReadOnlyDictionary<string, object?>
                ?? throw source.Error(arguments.StarStar.Offset, "argument after ** must be a mapping");
            keyword.AddRange(extra);
        }
        return new CallArgs(positional, keyword);
    }

    private object? EvalCall(CallExpr call, Scope scope, Macro? caller)
    {
        var callee = Eval(call.Callee, scope);
        var args = EvalArgs(call.Arguments, scope);
        if (caller is not null) args.Keyword.Add(new("caller", caller));
        return callee switch
        {
            Callable function => function.Call(this, args),
            Undefined undefined => throw undefined.Error(),
            _ => throw new JinjaRuntimeError($"'{Py.TypeName(callee)}' object is not callable"),
        };
    }

    public object? CallFilter(string name, object? value, CallArgs args) =>
        Builtins.Filters.TryGetValue(name, out var filter) ? filter(this, value, args) : throw new JinjaRuntimeError($"no filter named '{name}'");

    public bool CallTest(string name, object? value, CallArgs args) =>
        Builtins.Tests.TryGetValue(name, out var test) ? test(this, value, args) : throw new JinjaRuntimeError($"no test named '{name}'");

    /// <summary>Applies a filter chain whose innermost input is missing (a <c>{% filter %}</c> block or a block
    /// <c>set</c>) to <paramref name="seed"/>.</summary>
    private object? ApplyFilterChain(FilterExpr filter, object? seed, Scope scope)
    {
        var input = filter.Input switch
        {
            null => seed,
            FilterExpr inner => ApplyFilterChain(inner, seed, scope),
            var other => Eval(other, scope),
        };
        return At(filter.Offset, () => CallFilter(filter.Name, input, EvalArgs(filter.Arguments, scope)));
    }

    /// <summary>Calls a macro: binds positional and keyword arguments to its parameters (defaults are evaluated
    /// in the macro's scope, after the parameters before them; missing ones are undefined), collects extra ones in
    /// <c>varargs</c>/<c>kwargs</c> when the body uses those names, and renders the body.</summary>
    public string CallMacro(Macro macro, CallArgs args)
    {
        var definition = macro.Definition;
        var parameters = definition.Parameters;
        if (args.Positional.Count > parameters.Count && !definition.TakesVarargs)
            throw new JinjaRuntimeError($"macro '{definition.Name}' takes not more than {parameters.Count} argument(s)");
        var scope = new Scope(macro.Closure);
        var given = new Dictionary<string, object?>();
        var extraKeywords = new Dictionary<string, object?>();
        foreach (var (name, value) in args.Keyword)
        {
            var index = parameters.FindIndex(p => p.Name == name);
            if (index >= 0 && index < args.Positional.Count)
                throw new JinjaRuntimeError($"macro '{definition.Name}' got multiple values for argument '{name}'");
            if (index >= 0 || name == "caller" && definition.TakesCaller) given[name] = value;
            else if (definition.TakesKwargs) extraKeywords[name] = value;
            else throw new JinjaRuntimeError($"macro '{definition.Name}' takes no keyword argument '{name}'");
        }
        for (var i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i];
            object? value;
            if (i < args.Positional.Count) value = args.Positional[i];
            else if (given.TryGetValue(parameter.Name, out var byName)) value = byName;
            else if (parameter.Default is not null) value = Eval(parameter.Default, scope);
            else value = Undefined.WithHint($"parameter '{parameter.Name}' was not provided");
            scope.Set(parameter.Name, value);
        }
        if (definition.TakesVarargs) scope.Set("varargs", new PyTuple(args.Positional.Skip(parameters.Count).ToList()));
        if (definition.TakesKwargs) scope.Set("kwargs", extraKeywords);
        if (definition.TakesCaller)
            scope.Set("caller", given.TryGetValue("caller", out var caller) ? caller : Undefined.WithHint("No caller defined"));
        if (_macroDepth >= MaxMacroDepth)
            throw new JinjaRuntimeError($"maximum recursion depth exceeded calling macro '{definition.Name}'");
        _macroDepth++;
        try
        {
            return Capture(definition.Body, scope);
        }
        finally
        {
            _macroDepth--;
        }
    }
}
