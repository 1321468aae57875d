namespace Unlearn.Text.Jinja;

/// <summary>A recursive-descent parser for jinja2's grammar (same precedence: conditional expression, <c>or</c>,
/// <c>and</c>, <c>not</c>, comparisons and <c>in</c>, <c>+ -</c>, <c>~</c>, <c>* / // %</c>, <c>**</c> (left
/// associative), unary <c>- +</c>, then primaries with attribute, item, call, filter and test postfixes).</summary>
internal sealed class Parser(SourceText source, List<Token> tokens)
{
    private static readonly HashSet<string> UnsupportedTags = ["include", "extends", "block", "import", "from", "autoescape", "trans", "do", "recursive"];
    private static readonly HashSet<string> ComparisonOperators = ["==", "!=", "<", "<=", ">", ">="];

    /// <summary>The blocks open around the current position: their tag, where they start and which tags end
    /// (or continue) them.</summary>
    private readonly List<(string Name, int Offset, string[] EndTags)> _open = [];

    /// <summary>For each macro (or call block) body being parsed, the names it reads.</summary>
    private readonly List<HashSet<string>> _macroNames = [];

    private int _index;
    private int _loopDepth;

    private Token Current => tokens[_index];

    private Token Peek => tokens[Math.Min(_index + 1, tokens.Count - 1)];

    private Token Next()
    {
        var token = tokens[_index];
        if (_index < tokens.Count - 1) _index++;
        return token;
    }

    private JinjaException Fail(Token token, string message) => source.Error(token.Offset, message);

    public List<Stmt> ParseTemplate() => ParseBody();

    /// <summary>Parses text, output tags and statements until a block tag that ends or continues the innermost
    /// open block, leaving <see cref="Current"/> on that tag's name; or until the end of the template.</summary>
    private List<Stmt> ParseBody()
    {
        var body = new List<Stmt>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.Data:
                    Next();
                    body.Add(new TextStmt(token.Offset, token.Text));
                    break;
                case TokenKind.VariableBegin:
                    Next();
                    var value = ParseTuple(withCondition: true);
                    Expect(TokenKind.VariableEnd);
                    body.Add(new OutputStmt(token.Offset, value));
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    if (Current.Kind == TokenKind.Name && _open.Count > 0 && _open[^1].EndTags.Contains(Current.Text)) return body;
                    body.Add(ParseStatement(token));
                    break;
                case TokenKind.End:
                    if (_open.Count > 0)
                    {
                        var (name, offset, endTags) = _open[^1];
                        throw source.Error(offset, $"unclosed '{name}' block (opened at line {source.Locate(offset).Line}): "
                            + $"reached the end of the template looking for {Quote(endTags)}");
                    }
                    return body;
                default:
                    throw Fail(token, $"unexpected {token.Describe()}");
            }
        }
    }

    /// <summary>Parses the body of a block, returning at one of <paramref name="endTags"/>; consumes that tag's name
    /// and returns it.</summary>
    private List<Stmt> ParseBlockBody(string block, int offset, out string endTag, params string[] endTags)
    {
        _open.Add((block, offset, endTags));
        var body = ParseBody();
        _open.RemoveAt(_open.Count - 1);
        endTag = Next().Text;
        return body;
    }

    private static string Quote(IEnumerable<string> tags) => string.Join(" or ", tags.Select(t => $"'{t}'"));

    /// <summary>Parses the statement whose <c>{%</c> is <paramref name="begin"/>; block statements are located
    /// at their <c>{%</c>.</summary>
    private Stmt ParseStatement(Token begin)
    {
        var tag = Current;
        if (tag.Kind != TokenKind.Name) throw Fail(tag, "tag name expected");
        Next();
        switch (tag.Text)
        {
            case "if": return ParseIf(begin);
            case "for": return ParseFor(begin);
            case "set": return ParseSet(begin);
            case "macro": return ParseMacro(begin);
            case "call": return ParseCallBlock(begin);
            case "filter": return ParseFilterBlock(begin);
            case "with": return ParseWith(begin);
            case "generation":
                Expect(TokenKind.BlockEnd);
                var body = ParseBlockBody("generation", begin.Offset, out _, "endgeneration");
                Expect(TokenKind.BlockEnd);
                return new ScopeStmt(begin.Offset, [], body, newScope: false);
            case "break" or "continue":
                if (_loopDepth == 0) throw Fail(tag, $"'{tag.Text}' outside loop");
                Expect(TokenKind.BlockEnd);
                return new LoopControlStmt(tag.Offset, tag.Text == "break");
        }
        if (UnsupportedTags.Contains(tag.Text)) throw Fail(tag, $"the '{tag.Text}' tag is not supported in chat templates");
        var message = $"unknown tag '{tag.Text}'";
        if (_open.Count > 0)
        {
            var (name, offset, endTags) = _open[^1];
            message += $"; the innermost open block is '{name}' (line {source.Locate(offset).Line}), which expects {Quote(endTags)}";
        }
        throw Fail(tag, message);
    }

    private IfStmt ParseIf(Token tag)
    {
        var branches = new List<(Expr, List<Stmt>)>();
        var test = ParseTuple(withCondition: false);
        Expect(TokenKind.BlockEnd);
        while (true)
        {
            var body = ParseBlockBody("if", tag.Offset, out var endTag, "elif", "else", "endif");
            branches.Add((test, body));
            if (endTag == "elif")
            {
                test = ParseTuple(withCondition: false);
                Expect(TokenKind.BlockEnd);
                continue;
            }
            Expect(TokenKind.BlockEnd);
            if (endTag == "endif") return new IfStmt(tag.Offset, branches, null);
            var otherwise = ParseBlockBody("if", tag.Offset, out _, "endif");
            Expect(TokenKind.BlockEnd);
            return new IfStmt(tag.Offset, branches, otherwise);
        }
    }

    private ForStmt ParseFor(Token tag)
    {
        var target = ParseAssignTarget("in", withNamespace: false);
        ExpectName("in");
        var iterable = ParseTuple(withCondition: false, extraEnd: "recursive");
        Expr? filter = null;
        if (Current.IsName("if"))
        {
            Next();
            filter = ParseExpression();
        }
        if (Current.IsName("recursive")) throw Fail(Current, "recursive loops are not supported");
        Expect(TokenKind.BlockEnd);
        _loopDepth++;
        var body = ParseBlockBody("for", tag.Offset, out var endTag, "endfor", "else");
        _loopDepth--;
        Expect(TokenKind.BlockEnd);
        List<Stmt>? otherwise = null;
        if (endTag == "else")
        {
            otherwise = ParseBlockBody("for", tag.Offset, out _, "endfor");
            Expect(TokenKind.BlockEnd);
        }
        return new ForStmt(tag.Offset, target, iterable, filter, body, otherwise);
    }

    private Stmt ParseSet(Token tag)
    {
        var target = ParseAssignTarget(null, withNamespace: true);
        if (Current.IsOperator("="))
        {
            Next();
            var value = ParseTuple(withCondition: true);
            Expect(TokenKind.BlockEnd);
            return new SetStmt(tag.Offset, target, value);
        }
        var filter = Current.IsOperator("|") ? (FilterExpr?)ParseFilter(null, startInline: false) : null;
        Expect(TokenKind.BlockEnd);
        var body = ParseBlockBody("set", tag.Offset, out _, "endset");
        Expect(TokenKind.BlockEnd);
        return new SetBlockStmt(tag.Offset, target, filter, body);
    }

    private MacroStmt ParseMacro(Token tag)
    {
        var name = ExpectName(null).Text;
        var parameters = ParseSignature();
        Expect(TokenKind.BlockEnd);
        var (body, used) = ParseMacroBody("macro", tag.Offset, "endmacro");
        return new MacroStmt(tag.Offset, new MacroDefinition(name, parameters, body, used));
    }

    private CallBlockStmt ParseCallBlock(Token tag)
    {
        var parameters = Current.IsOperator("(") ? ParseSignature() : [];
        var call = ParseExpression() as CallExpr ?? throw Fail(tag, "expected a call expression after 'call'");
        Expect(TokenKind.BlockEnd);
        var (body, used) = ParseMacroBody("call", tag.Offset, "endcall");
        return new CallBlockStmt(tag.Offset, call, new MacroDefinition("caller", parameters, body, used));
    }

    /// <summary>Parses a macro or call-block body: loop controls do not reach outside it, and the names it reads are
    /// collected.</summary>
    private (List<Stmt> Body, HashSet<string> Used) ParseMacroBody(string block, int offset, string endTag)
    {
        var used = new HashSet<string>();
        _macroNames.Add(used);
        var loopDepth = _loopDepth;
        _loopDepth = 0;
        var body = ParseBlockBody(block, offset, out _, endTag);
        _loopDepth = loopDepth;
        _macroNames.RemoveAt(_macroNames.Count - 1);
        Expect(TokenKind.BlockEnd);
        return (body, used);
    }

    private List<Parameter> ParseSignature()
    {
        ExpectOperator("(");
        var parameters = new List<Parameter>();
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0) ExpectOperator(",");
            var name = ExpectName(null);
            Expr? fallback = null;
            if (Current.IsOperator("="))
            {
                Next();
                fallback = ParseExpression();
            }
            else if (parameters.Count > 0 && parameters[^1].Default is not null) throw Fail(name, "non-default argument follows default argument");
            parameters.Add(new Parameter(name.Text, fallback));
        }
        Next();
        return parameters;
    }

    private FilterBlockStmt ParseFilterBlock(Token tag)
    {
        var filter = (FilterExpr)ParseFilter(null, startInline: true)!;
        Expect(TokenKind.BlockEnd);
        var body = ParseBlockBody("filter", tag.Offset, out _, "endfilter");
        Expect(TokenKind.BlockEnd);
        return new FilterBlockStmt(tag.Offset, filter, body);
    }

    private ScopeStmt ParseWith(Token tag)
    {
        var assignments = new List<(Target, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (assignments.Count > 0) ExpectOperator(",");
            var target = ParseAssignTarget(null, withNamespace: false);
            ExpectOperator("=");
            assignments.Add((target, ParseExpression()));
        }
        Next();
        var body = ParseBlockBody("with", tag.Offset, out _, "endwith");
        Expect(TokenKind.BlockEnd);
        return new ScopeStmt(tag.Offset, assignments, body, newScope: true);
    }

    /// <summary>A name, <c>ns.attr</c> (for <c>set</c>), or a tuple of names, optionally in parentheses.</summary>
    private Target ParseAssignTarget(string? extraEnd, bool withNamespace)
    {
        if (withNamespace && Current.Kind == TokenKind.Name && Peek.IsOperator("."))
        {
            var ns = Next();
            Next();
            return new NamespaceTarget(ns.Offset, ns.Text, ExpectName(null).Text);
        }
        var start = Current;
        var items = new List<Target>();
        var isTuple = false;
        while (true)
        {
            if (items.Count > 0) ExpectOperator(",");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(ParseTargetItem());
            if (Current.IsOperator(",")) isTuple = true;
            else break;
        }
        if (!isTuple && items.Count == 1) return items[0];
        if (items.Count == 0) throw Fail(Current, $"expected a name to assign to, got {Current.Describe()}");
        return new TupleTarget(start.Offset, items);
    }

    private Target ParseTargetItem()
    {
        var token = Current;
        if (token.IsOperator("("))
        {
            Next();
            var inner = ParseAssignTarget(null, withNamespace: false);
            ExpectOperator(")");
            return inner;
        }
        if (token.Kind != TokenKind.Name || token.Text is "true" or "false" or "none" or "True" or "False" or "None")
            throw Fail(token, $"can't assign to {token.Describe()}");
        Next();
        return new NameTarget(token.Offset, token.Text);
    }

    private bool IsTupleEnd(string? extraEnd) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.End || Current.IsOperator(")")
        || extraEnd is not null && Current.IsName(extraEnd);

    /// <summary>One expression, or several separated by commas (a tuple).</summary>
    private Expr ParseTuple(bool withCondition, string? extraEnd = null, bool explicitParentheses = false)
    {
        var start = Current;
        var items = new List<Expr>();
        var isTuple = false;
        while (true)
        {
            if (items.Count > 0) ExpectOperator(",");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(withCondition ? ParseExpression() : ParseOr());
            if (Current.IsOperator(",")) isTuple = true;
            else break;
        }
        if (!isTuple)
        {
            if (items.Count > 0) return items[0];
            if (!explicitParentheses) throw Fail(Current, $"expected an expression, got {Current.Describe()}");
        }
        return new CollectionExpr(start.Offset, CollectionKind.Tuple, items);
    }

    private Expr ParseExpression()
    {
        var expr = ParseOr();
        while (Current.IsName("if"))
        {
            Next();
            var test = ParseOr();
            Expr? otherwise = null;
            if (Current.IsName("else"))
            {
                Next();
                otherwise = ParseExpression();
            }
            expr = new CondExpr(expr.Offset, test, expr, otherwise);
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            var op = Next();
            left = new BinaryExpr(op.Offset, "or", left, ParseAnd());
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            var op = Next();
            left = new BinaryExpr(op.Offset, "and", left, ParseNot());
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (!Current.IsName("not")) return ParseCompare();
        var op = Next();
        return new UnaryExpr(op.Offset, "not", ParseNot());
    }

    private Expr ParseCompare()
    {
        var first = ParseMath1();
        var rest = new List<(string, Expr, int)>();
        while (true)
        {
            var token = Current;
            if (token.Kind == TokenKind.Operator && ComparisonOperators.Contains(token.Text))
            {
                Next();
                rest.Add((token.Text, ParseMath1(), token.Offset));
            }
            else if (token.IsName("in"))
            {
                Next();
                rest.Add(("in", ParseMath1(), token.Offset));
            }
            else if (token.IsName("not") && Peek.IsName("in"))
            {
                Next();
                Next();
                rest.Add(("notin", ParseMath1(), token.Offset));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(first.Offset, first, rest);
    }

    private Expr ParseBinary(Func<Expr> operand, params string[] operators)
    {
        var left = operand();
        while (Current.Kind == TokenKind.Operator && operators.Contains(Current.Text))
        {
            var op = Next();
            left = new BinaryExpr(op.Offset, op.Text, left, operand());
        }
        return left;
    }

    private Expr ParseMath1() => ParseBinary(ParseConcat, "+", "-");

    private Expr ParseConcat() => ParseBinary(ParseMath2, "~");

    private Expr ParseMath2() => ParseBinary(ParsePow, "*", "/", "//", "%");

    private Expr ParsePow() => ParseBinary(() => ParseUnary(withFilter: true), "**");

    private Expr ParseUnary(bool withFilter)
    {
        var token = Current;
        Expr node;
        if (token.IsOperator("-") || token.IsOperator("+"))
        {
            Next();
            node = new UnaryExpr(token.Offset, token.Text, ParseUnary(withFilter: false));
        }
        else node = ParsePrimary();
        node = ParsePostfix(node);
        return withFilter ? ParseFilterExpr(node) : node;
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Name:
                Next();
                switch (token.Text)
                {
                    case "true" or "True": return new ConstExpr(token.Offset, true);
                    case "false" or "False": return new ConstExpr(token.Offset, false);
                    case "none" or "None": return new ConstExpr(token.Offset, null);
                }
                foreach (var names in _macroNames) names.Add(token.Text);
                return new NameExpr(token.Offset, token.Text);
            case TokenKind.String:
                var text = Next().Text;
                while (Current.Kind == TokenKind.String) text += Next().Text;
                return new ConstExpr(token.Offset, text);
            case TokenKind.Integer or TokenKind.Float:
                Next();
                return new ConstExpr(token.Offset, token.Value);
        }
        if (token.IsOperator("("))
        {
            Next();
            var inner = ParseTuple(withCondition: true, explicitParentheses: true);
            ExpectOperator(")");
            return inner;
        }
        if (token.IsOperator("["))
        {
            Next();
            var items = new List<Expr>();
            while (!Current.IsOperator("]"))
            {
                if (items.Count > 0) ExpectOperator(",");
                if (Current.IsOperator("]")) break;
                items.Add(ParseExpression());
            }
            Next();
            return new CollectionExpr(token.Offset, CollectionKind.List, items);
        }
        if (token.IsOperator("{"))
        {
            Next();
            var items = new List<(Expr, Expr)>();
            while (!Current.IsOperator("}"))
            {
                if (items.Count > 0) ExpectOperator(",");
                if (Current.IsOperator("}")) break;
                var key = ParseExpression();
                ExpectOperator(":");
                items.Add((key, ParseExpression()));
            }
            Next();
            return new DictExpr(token.Offset, items);
        }
        throw Fail(token, token.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.End
            ? $"expected an expression, got {token.Describe()}"
            : $"unexpected {token.Describe()}");
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator(".") || Current.IsOperator("[")) node = ParseSubscript(node);
            else if (Current.IsOperator("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOperator("|")) node = ParseFilter(node, startInline: false)!;
            else if (Current.IsName("is")) node = ParseTest(node);
            else if (Current.IsOperator("(")) node = ParseCall(node);
            else return node;
        }
    }

    private Expr ParseSubscript(Expr node)
    {
        var token = Next();
        if (token.Text == ".")
        {
            var attribute = Current;
            if (attribute.Kind == TokenKind.Name)
            {
                Next();
                return new GetAttrExpr(token.Offset, node, attribute.Text);
            }
            if (attribute.Kind == TokenKind.Integer)
            {
                Next();
                return new GetItemExpr(token.Offset, node, new ConstExpr(attribute.Offset, attribute.Value));
            }
            throw Fail(attribute, $"expected name or number after '.', got {attribute.Describe()}");
        }
        var keys = new List<Expr>();
        while (!Current.IsOperator("]"))
        {
            if (keys.Count > 0) ExpectOperator(",");
            keys.Add(ParseSubscribed());
        }
        Next();
        return new GetItemExpr(token.Offset, node, keys.Count == 1 ? keys[0] : new CollectionExpr(token.Offset, CollectionKind.Tuple, keys));
    }

    /// <summary>An index or a slice <c>start:stop:step</c> (each part optional).</summary>
    private Expr ParseSubscribed()
    {
        var start = Current;
        Expr? first = null;
        if (Current.IsOperator(":")) Next();
        else
        {
            first = ParseExpression();
            if (!Current.IsOperator(":")) return first;
            Next();
        }
        Expr? stop = null, step = null;
        if (!Current.IsOperator(":") && !Current.IsOperator("]") && !Current.IsOperator(",")) stop = ParseExpression();
        if (Current.IsOperator(":"))
        {
            Next();
            if (!Current.IsOperator("]") && !Current.IsOperator(",")) step = ParseExpression();
        }
        return new SliceExpr(start.Offset, first, stop, step);
    }

    private CallExpr ParseCall(Expr callee) => new(callee.Offset, callee, ParseCallArguments());

    private Arguments ParseCallArguments()
    {
        var open = Current;
        ExpectOperator("(");
        var positional = new List<Expr>();
        var keyword = new List<(string, Expr)>();
        Expr? star = null, starStar = null;
        var first = true;
        while (!Current.IsOperator(")"))
        {
            if (!first)
            {
                ExpectOperator(",");
                if (Current.IsOperator(")")) break;
            }
            first = false;
            var token = Current;
            if (token.IsOperator("**"))
            {
                Next();
                if (starStar is not null) throw Fail(token, "invalid syntax for function call expression");
                starStar = ParseExpression();
            }
            else if (token.IsOperator("*"))
            {
                Next();
                if (star is not null || starStar is not null) throw Fail(token, "invalid syntax for function call expression");
                star = ParseExpression();
            }
            else if (token.Kind == TokenKind.Name && Peek.IsOperator("="))
            {
                if (starStar is not null) throw Fail(token, "invalid syntax for function call expression");
                Next();
                Next();
                keyword.Add((token.Text, ParseExpression()));
            }
            else
            {
                if (star is not null || starStar is not null || keyword.Count > 0)
                    throw Fail(token, "invalid syntax for function call expression (positional argument after keyword argument)");
                positional.Add(ParseExpression());
            }
        }
        if (Current.Kind == TokenKind.End) throw Fail(open, "unclosed '('");
        Next();
        return new Arguments(positional, keyword, star, starStar);
    }

    /// <summary>A chain of <c>|name(args)</c>; with <paramref name="startInline"/> the first filter has no <c>|</c>
    /// (the <c>{% filter %}</c> tag).</summary>
    private Expr? ParseFilter(Expr? node, bool startInline)
    {
        while (Current.IsOperator("|") || startInline)
        {
            if (!startInline) Next();
            startInline = false;
            var name = ExpectName(null);
            var fullName = name.Text;
            while (Current.IsOperator("."))
            {
                Next();
                fullName += "." + ExpectName(null).Text;
            }
            var arguments = Current.IsOperator("(") ? ParseCallArguments() : Arguments.None;
            node = new FilterExpr(name.Offset, node, fullName, arguments);
        }
        return node;
    }

    private Expr ParseTest(Expr node)
    {
        var isToken = Next();
        var negated = false;
        if (Current.IsName("not"))
        {
            Next();
            negated = true;
        }
        var name = ExpectName(null);
        var fullName = name.Text;
        while (Current.IsOperator("."))
        {
            Next();
            fullName += "." + ExpectName(null).Text;
        }
        Arguments arguments;
        var current = Current;
        if (current.IsOperator("(")) arguments = ParseCallArguments();
        else if ((current.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float || current.IsOperator("[") || current.IsOperator("{"))
                 && !current.IsName("else") && !current.IsName("or") && !current.IsName("and"))
        {
            if (current.IsName("is")) throw Fail(current, "you cannot chain multiple tests with 'is'");
            arguments = new Arguments([ParsePostfix(ParsePrimary())], [], null, null);
        }
        else arguments = Arguments.None;
        Expr test = new TestExpr(name.Offset, node, fullName, arguments);
        return negated ? new UnaryExpr(isToken.Offset, "not", test) : test;
    }

    private void Expect(TokenKind kind)
    {
        if (Current.Kind == kind)
        {
            Next();
            return;
        }
        var expected = kind switch
        {
            TokenKind.BlockEnd => "end of statement block",
            TokenKind.VariableEnd => "end of print statement",
            _ => kind.ToString(),
        };
        throw Fail(Current, $"expected token '{expected}', got {Current.Describe()}");
    }

    private void ExpectOperator(string op)
    {
        if (!Current.IsOperator(op)) throw Fail(Current, $"expected token '{op}', got {Current.Describe()}");
        Next();
    }

    private Token ExpectName(string? name)
    {
        var token = Current;
        if (token.Kind != TokenKind.Name || name is not null && token.Text != name)
            throw Fail(token, name is null ? $"expected a name, got {token.Describe()}" : $"expected token '{name}', got {token.Describe()}");
        return Next();
    }
}
