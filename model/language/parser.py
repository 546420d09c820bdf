"""Recursive-descent parser for .mig specs.

Every node gets the span of its first token through its last.  Syntax errors are collected (the
parser skips to the next statement or declaration and goes on), so a file's errors are reported
together; :func:`parse_file` raises :class:`model.span.SpecError` with all of them.

Nesting is bounded (model/language/limits.py): blocks at most ``MAX_NESTING`` deep, expressions
at most ``MAX_EXPRESSION_DEPTH`` levels, so the recursive descent here and the recursive walkers
after it stay far from Python's recursion limit whatever the input.
"""

from __future__ import annotations

from pathlib import Path

from model.kinds import LockKind, Mode, Property, ReturnCode
from model.language import ast
from model.language.lexer import BYTE_ORDER_MARK, Token, TokenKind, tokenize
from model.language.limits import MAX_EXPRESSION_DEPTH, MAX_NESTING
from model.span import Diagnostic, Severity, Span, SpecError

STATEMENT_KEYWORDS = frozenset(
    {
        "lock",
        "unlock",
        "if",
        "either",
        "repeat",
        "return",
        "move_mapping",
        "copy",
        "copy_states",
        "write",
        "get",
        "put",
        "peek",
        "repoint",
        "wait",
        "start",
        "end",
        "writepage",
        "await",
        "assert",
    }
)
DECLARATION_KEYWORDS = frozenset(
    {
        "spec",
        "source",
        "lock",
        "var",
        "pointer",
        "param",
        "callback",
        "actor",
        "expect",
        "caller",
        "core",
    }
)
BUILTIN_LOCKS = frozenset({"page", "newpage", "buffers"})

_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!=", "<", "<=", ">", ">="),
    ("+", "-"),
    ("%",),
)


class _Abort(Exception):
    """Internal: a syntax error was recorded; unwind to the nearest recovery point."""


def _join(first: Span, last: Span) -> Span:
    return Span(first.file, first.line, first.column, last.end_line, last.end_column)


class Parser:
    """Parses one file's tokens; collects diagnostics instead of stopping at the first."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.tokens, lex_errors = tokenize(text, file)
        self.diagnostics: list[Diagnostic] = list(lex_errors)
        self.pos = 0
        self.nesting = 0
        self.expression_nesting = 0
        self.reported_too_deep = False
        self.unreadable = {t.span for t in self.tokens if t.kind is TokenKind.ERROR}

    # ------------------------------------------------------------ token helpers

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    @property
    def previous(self) -> Token:
        return self.tokens[max(self.pos - 1, 0)]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, text: str) -> bool:
        tok = self.current
        return tok.kind in (TokenKind.IDENT, TokenKind.PUNCT) and tok.text == text

    def accept(self, text: str) -> Token | None:
        if self.at(text):
            tok = self.current
            self.pos += 1
            return tok
        return None

    def error(self, span: Span, message: str) -> _Abort:
        """Record a syntax error; a character the lexer already reported gets no second one."""
        if span not in self.unreadable:
            self.diagnostics.append(Diagnostic(Severity.ERROR, span, message))
        return _Abort()

    def expect(self, text: str, what: str = "") -> Token:
        tok = self.accept(text)
        if tok is None:
            context = f" {what}" if what else ""
            raise self.error(
                self.current.span, f"expected '{text}'{context}, found {self.current.describe()}"
            )
        return tok

    def ident(self, what: str) -> Token:
        tok = self.current
        if tok.kind is not TokenKind.IDENT:
            raise self.error(tok.span, f"expected {what}, found {tok.describe()}")
        self.pos += 1
        return tok

    def integer(self, what: str) -> tuple[int, Token]:
        negative = self.accept("-")
        tok = self.current
        if tok.kind is not TokenKind.INT:
            raise self.error(tok.span, f"expected {what}, found {tok.describe()}")
        self.pos += 1
        return (-int(tok.text) if negative else int(tok.text)), tok

    def string(self, what: str) -> Token:
        tok = self.current
        if tok.kind is not TokenKind.STRING:
            raise self.error(tok.span, f"expected {what} in double quotes, found {tok.describe()}")
        self.pos += 1
        return tok

    def span_from(self, first: Token) -> Span:
        return _join(first.span, self.previous.span)

    def skip_separators(self) -> None:
        while self.accept(";"):
            pass

    # ------------------------------------------------------------ recovery

    def sync_declaration(self) -> None:
        """Skip to the next top-level declaration keyword at brace depth 0."""
        depth = 0
        while self.current.kind is not TokenKind.END:
            tok = self.current
            if tok.text == "{" and tok.kind is TokenKind.PUNCT:
                depth += 1
            elif tok.text == "}" and tok.kind is TokenKind.PUNCT:
                depth = max(depth - 1, 0)
            elif (
                depth == 0
                and tok.kind is TokenKind.IDENT
                and tok.text in DECLARATION_KEYWORDS
                and tok.span.column == 1
            ):
                return
            self.pos += 1

    def sync_statement(self) -> None:
        """Skip the rest of a broken statement: to the next line's statement or a '}'."""
        line = self.previous.span.line
        depth = 0
        while self.current.kind is not TokenKind.END:
            tok = self.current
            if tok.kind is TokenKind.PUNCT and tok.text == "{":
                depth += 1
            elif tok.kind is TokenKind.PUNCT and tok.text == "}":
                if depth == 0:
                    return
                depth -= 1
            elif depth == 0 and tok.kind is TokenKind.PUNCT and tok.text == ";":
                self.pos += 1
                return
            elif depth == 0 and tok.span.line > line and tok.kind is TokenKind.IDENT:
                return
            self.pos += 1

    # ------------------------------------------------------------ top level

    def parse(self) -> ast.Spec:
        name_tok: Token | None = None
        spec_tok: Token | None = None
        name = ""
        source = ""
        source_tok: Token | None = None
        locks: list[ast.LockDecl] = []
        variables: list[ast.VarDecl] = []
        pointers: list[ast.PointerDecl] = []
        params: list[ast.ParamDecl] = []
        callbacks: list[ast.Block] = []
        actors: list[ast.Actor] = []
        expects: list[ast.Expect] = []
        caller_holds: list[ast.CallerHolds] = []
        core: str | None = None
        core_span = ast.NO_SPAN
        while self.current.kind is not TokenKind.END:
            tok = self.current
            start = self.pos
            try:
                if self.accept("spec"):
                    named = self.ident("the spec's name")
                    if spec_tok is None:
                        spec_tok, name_tok, name = tok, named, named.text
                    else:
                        self.once_only(tok, spec_tok, "spec", "name the spec once")
                elif self.accept("source"):
                    cited = self.string("the kernel file and function this spec models")
                    if source_tok is None:
                        source_tok, source = tok, cited.text
                    else:
                        self.once_only(
                            tok, source_tok, "source", "cite every function in one 'source' line"
                        )
                elif self.at("lock"):
                    locks.append(self.lock_decl())
                elif self.at("var"):
                    variables.append(self.var_decl())
                elif self.accept("pointer"):
                    ptr = self.ident("a pointer name")
                    pointers.append(ast.PointerDecl(ptr.text, self.span_from(tok)))
                elif self.at("param"):
                    params.append(self.param_decl())
                elif self.accept("callback"):
                    callbacks.append(self.block())
                elif self.accept("actor"):
                    actor_name = self.ident("the actor's name")
                    page: int | None = None
                    if self.accept("on"):
                        self.expect("page", "after 'on' (actor NAME on page N)")
                        page, _ = self.integer("a page number")
                    body = self.block()
                    actors.append(ast.Actor(actor_name.text, body, self.span_from(tok), page=page))
                elif self.accept("core"):
                    named_core = self.core_name()
                    if core is None:
                        core, core_span = named_core, self.span_from(tok)
                    else:
                        first_core = Token(TokenKind.IDENT, "core", core_span)
                        self.once_only(tok, first_core, "core", "a spec names one core")
                elif self.accept("caller"):
                    caller_name: str | None = None
                    if not self.at("holds"):
                        caller_name = self.ident("a caller's name, or 'holds'").text
                    self.expect("holds", "after 'caller' (caller [NAME] holds LOCK)")
                    held = [self.lock_ref()]
                    while self.accept(","):
                        held.append(self.lock_ref())
                    modes = set(Mode)
                    if self.accept("in"):
                        modes = {self.mode()}
                        while self.accept(","):
                            modes.add(self.mode())
                    caller_holds.append(
                        ast.CallerHolds(
                            tuple(held), frozenset(modes), self.span_from(tok), caller_name
                        )
                    )
                elif self.at("expect"):
                    expects.append(self.expect_decl())
                else:
                    raise self.error(
                        tok.span,
                        f"expected a declaration (spec, source, core, lock, var, pointer, param, "
                        f"caller, callback, actor, expect), found {tok.describe()}",
                    )
            except _Abort:
                self.pos = max(self.pos, start + 1)
                self.sync_declaration()
            self.skip_separators()
        first = self.tokens[0].span
        whole = _join(first, self.tokens[-1].span)
        if name_tok is None:
            self.diagnostics.append(
                Diagnostic(Severity.ERROR, first, "missing 'spec NAME' line: name the spec")
            )
        if not callbacks:
            self.diagnostics.append(
                Diagnostic(
                    Severity.ERROR, first, "missing 'callback { ... }': the spec has no callback"
                )
            )
        elif len(callbacks) > 1:
            self.diagnostics.append(
                Diagnostic(
                    Severity.ERROR,
                    callbacks[1].span,
                    "a spec has exactly one callback; this is a second one",
                    ((callbacks[0].span, "the first callback is here"),),
                )
            )
        callback = callbacks[0] if callbacks else ast.Block((), whole)
        return ast.Spec(
            name,
            source,
            tuple(locks),
            tuple(variables),
            tuple(pointers),
            tuple(params),
            callback,
            tuple(actors),
            tuple(expects),
            self.file,
            whole,
            tuple(caller_holds),
            core,
            core_span,
        )

    def core_name(self) -> str:
        """The core a spec runs under: ``core linux-6.6`` or ``core "linux-6.6"``."""
        if self.current.kind is TokenKind.STRING:
            return self.current_string()
        first = self.current
        if first.kind is not TokenKind.IDENT:
            raise self.error(
                first.span, f"expected a core's name, e.g. linux-4.14, found {first.describe()}"
            )
        parts: list[str] = []
        while self.current.kind is not TokenKind.END and self.current.span.line == first.span.line:
            tok = self.current
            if tok.kind is TokenKind.PUNCT and tok.text not in ("-", ".", ".."):
                break
            if tok.kind is TokenKind.STRING:
                break
            parts.append(tok.text)
            self.pos += 1
        return "".join(parts)

    def current_string(self) -> str:
        return self.string("a core's name").text

    def once_only(self, second: Token, first: Token, keyword: str, fix: str) -> None:
        """A declaration that a spec has at most once, given twice."""
        self.diagnostics.append(
            Diagnostic(
                Severity.ERROR,
                self.span_from(second),
                f"a second '{keyword}' line: {fix}",
                ((first.span, f"the first '{keyword}' line is here"),),
            )
        )

    def lock_decl(self) -> ast.LockDecl:
        first = self.expect("lock")
        name = self.ident("a lock name")
        self.expect(":", "after the lock name")
        kind_tok = self.ident("a lock kind")
        kind = next((k for k in LockKind if k.value == kind_tok.text), None)
        if kind is None:
            kinds = ", ".join(k.value for k in LockKind)
            raise self.error(
                kind_tok.span, f"unknown lock kind '{kind_tok.text}': use one of {kinds}"
            )
        scope = self.scope()
        return ast.LockDecl(name.text, kind, scope, self.span_from(first))

    def scope(self) -> ast.Scope:
        if self.accept("per"):
            self.expect("page", "after 'per'")
            return ast.Scope.PER_PAGE
        return ast.Scope.SHARED

    def var_decl(self) -> ast.VarDecl:
        first = self.expect("var")
        name = self.ident("a variable name")
        self.expect(":", "after the variable name")
        type_tok = self.ident("a type (bool or int[LOW..HIGH])")
        if type_tok.text == "bool":
            low, high, is_bool = 0, 1, True
        elif type_tok.text == "int":
            self.expect("[", "after 'int'")
            low, _ = self.integer("the lower bound")
            self.expect("..", "between the bounds")
            high, high_tok = self.integer("the upper bound")
            self.expect("]", "after the bounds")
            if high < low:
                raise self.error(
                    high_tok.span, f"empty range {low}..{high}: the upper bound is below the lower"
                )
            is_bool = False
        else:
            raise self.error(
                type_tok.span, f"unknown type '{type_tok.text}': use bool or int[LOW..HIGH]"
            )
        scope = self.scope()
        self.expect("=", "and an initial value (a value, or 'any')")
        initial: int | None
        if self.accept("any"):
            initial = None
        elif self.accept("true"):
            initial = 1
        elif self.accept("false"):
            initial = 0
        else:
            initial, value_tok = self.integer("an initial value")
            if not low <= initial <= high or is_bool:
                raise self.error(
                    value_tok.span, f"initial value {initial} is outside {type_tok.text}'s range"
                )
        return ast.VarDecl(name.text, low, high, is_bool, initial, scope, self.span_from(first))

    def param_decl(self) -> ast.ParamDecl:
        first = self.expect("param")
        name = self.ident("a parameter name")
        self.expect("=", "after the parameter name")
        value: int | str
        if self.current.kind is TokenKind.INT:
            value, _ = self.integer("a value")
        else:
            value = self.ident("a value").text
        return ast.ParamDecl(name.text, value, self.span_from(first))

    def expect_decl(self) -> ast.Expect:
        first = self.expect("expect")
        modes = [self.mode()]
        while self.accept(","):
            modes.append(self.mode())
        self.expect(":", "after the modes")
        outcome_tok = self.ident("holds, refuses CODE or violates PROPERTY")
        if outcome_tok.text == "holds":
            return ast.Expect(tuple(modes), ast.Outcome.HOLDS, span=self.span_from(first))
        if outcome_tok.text == "refuses":
            codes = [self.return_code()]
            while self.accept(","):
                codes.append(self.return_code())
            return ast.Expect(
                tuple(modes), ast.Outcome.REFUSES, codes=tuple(codes), span=self.span_from(first)
            )
        if outcome_tok.text == "violates":
            props = [self.property_name()]
            while self.accept(","):
                props.append(self.property_name())
            return ast.Expect(
                tuple(modes),
                ast.Outcome.VIOLATES,
                properties=tuple(props),
                span=self.span_from(first),
            )
        raise self.error(
            outcome_tok.span,
            f"unknown outcome '{outcome_tok.text}': use holds, refuses CODE or violates PROPERTY",
        )

    def mode(self) -> Mode:
        tok = self.ident("a migration mode")
        mode = Mode.parse(tok.text)
        if mode is None:
            modes = ", ".join(m.value for m in Mode)
            raise self.error(tok.span, f"unknown mode '{tok.text}': use one of {modes}")
        return mode

    def return_code(self) -> ReturnCode:
        tok = self.ident("a return code")
        code = ReturnCode.parse(tok.text)
        if code is None:
            codes = ", ".join(c.name for c in ReturnCode)
            raise self.error(tok.span, f"unknown return code '{tok.text}': use one of {codes}")
        return code

    def property_name(self) -> Property:
        first = self.ident("a property name")
        text = first.text
        while self.at("-") and self.peek().kind is TokenKind.IDENT:
            self.pos += 1
            text += "-" + self.ident("a property name").text
        prop = Property.parse(text)
        if prop is None:
            names = ", ".join(p.value for p in Property)
            raise self.error(
                self.span_from(first), f"unknown property '{text}': use one of {names}"
            )
        return prop

    # ------------------------------------------------------------ statements

    def block(self) -> ast.Block:
        if self.nesting >= MAX_NESTING:
            first = self.current
            self.too_deep(first.span)
            self.skip_block()
            return ast.Block((), self.span_from(first))
        self.nesting += 1
        try:
            return self.block_body()
        finally:
            self.nesting -= 1

    def block_body(self) -> ast.Block:
        first = self.expect("{", "to open a block")
        statements: list[ast.Stmt] = []
        while not self.at("}"):
            if self.current.kind is TokenKind.END or self.at_declaration():
                self.unclosed(first)
                return ast.Block(tuple(statements), self.span_from(first))
            start = self.pos
            try:
                statements.append(self.statement())
            except _Abort:
                self.pos = max(self.pos, start + 1)
                self.sync_statement()
            self.skip_separators()
        self.expect("}")
        return ast.Block(tuple(statements), self.span_from(first))

    def too_deep(self, span: Span) -> None:
        """Report nesting past the limit, once per file: the blocks past it are skipped."""
        if self.reported_too_deep:
            return
        self.reported_too_deep = True
        self.diagnostics.append(
            Diagnostic(
                Severity.ERROR,
                span,
                f"blocks nest more than {MAX_NESTING} deep here: migcheck takes at most "
                f"{MAX_NESTING} levels of if, else if, either and repeat; flatten the nesting",
            )
        )

    def skip_block(self) -> None:
        """Skip to the next '{' and past its matching '}' (or to the end of the file)."""
        while not self.at("{") and self.current.kind is not TokenKind.END:
            self.pos += 1
        depth = 0
        while self.current.kind is not TokenKind.END:
            tok = self.current
            self.pos += 1
            if tok.kind is TokenKind.PUNCT and tok.text == "{":
                depth += 1
            elif tok.kind is TokenKind.PUNCT and tok.text == "}":
                depth -= 1
                if depth == 0:
                    return

    def at_declaration(self) -> bool:
        """A declaration where a statement should be: the block before it was left open.

        ``lock`` starts both; it is a declaration when a ':' follows its name.
        """
        tok = self.current
        if tok.kind is not TokenKind.IDENT or tok.text not in DECLARATION_KEYWORDS:
            return False
        return tok.text != "lock" or self.peek(2).text == ":"

    def unclosed(self, first: Token) -> None:
        """Report an unclosed block, naming the '{' whose '}' is most likely the missing one:
        the innermost brace whose closing brace does not line up with its line's indentation."""
        opened: list[Token] = []
        suspects: list[Token] = []
        for tok in self.tokens[self.tokens.index(first) : self.pos]:
            if tok.kind is not TokenKind.PUNCT:
                continue
            if tok.text == "{":
                opened.append(tok)
            elif tok.text == "}" and opened:
                brace = opened.pop()
                if tok.span.column != self.indentation(brace.span.line):
                    suspects.append(brace)
        notes = tuple(
            (brace.span, "this '{' may be the one left open: its '}' does not line up with it")
            for brace in suspects[-1:]
        )
        self.diagnostics.append(
            Diagnostic(
                Severity.ERROR,
                first.span,
                "unclosed '{': add '}' to close this block",
                notes,
            )
        )

    def indentation(self, line: int) -> int:
        """The column of the first token on ``line``."""
        return min(t.span.column for t in self.tokens if t.span.line == line)

    def lock_ref(self) -> ast.LockRef:
        name = self.ident("a lock name (a declared lock, page, newpage or buffers)")
        page: int | None = None
        if name.text in ("page", "buffers") and self.accept("["):
            page, _ = self.integer("a page number")
            self.expect("]", "after the page number")
        access = ast.Access.EXCLUSIVE
        # the side of a reader-writer lock must stand on the same line (``write`` also
        # starts a statement)
        if self.current.span.line == name.span.line:
            if self.accept("read"):
                access = ast.Access.READ
            elif self.accept("write"):
                access = ast.Access.WRITE
        return ast.LockRef(name.text, access, self.span_from(name), page)

    def statement(self) -> ast.Stmt:
        tok = self.current
        word = tok.text if tok.kind is TokenKind.IDENT else ""
        if word == "lock":
            self.pos += 1
            return ast.LockStmt(self.lock_ref(), self.span_from(tok))
        if word == "unlock":
            self.pos += 1
            return ast.UnlockStmt(self.lock_ref(), self.span_from(tok))
        if word == "if":
            self.pos += 1
            cond = self.condition()
            then = self.block()
            other: ast.Block | None = None
            if self.accept("else"):
                other = self.else_if() if self.at("if") else self.block()
            return ast.IfStmt(cond, then, other, self.span_from(tok))
        if word == "either":
            self.pos += 1
            branches = [self.block()]
            while self.accept("or"):
                branches.append(self.block())
            if len(branches) < 2:
                raise self.error(tok.span, "'either' needs at least one 'or { ... }' branch")
            return ast.EitherStmt(tuple(branches), self.span_from(tok))
        if word == "repeat":
            self.pos += 1
            count: int | str
            if self.current.kind is TokenKind.INT:
                count, _ = self.integer("a repetition count")
            else:
                count = self.ident("a repetition count or a param name").text
            return ast.RepeatStmt(count, self.block(), self.span_from(tok))
        if word == "return":
            self.pos += 1
            if self.accept("call"):
                lib = self.ident("a library callback name")
                return ast.ReturnCallStmt(lib.text, self.span_from(tok))
            return ast.ReturnStmt(self.return_code(), self.span_from(tok))
        if word == "move_mapping":
            self.pos += 1
            return ast.MoveMappingStmt(self.span_from(tok))
        if word in ("copy", "copy_states"):
            self.pos += 1
            return ast.CopyStmt(word == "copy_states", self.span_from(tok))
        if word == "write":
            self.pos += 1
            via = self.ident("what to write through: page, ref, or a pointer name")
            return ast.WriteStmt(via.text, self.span_from(tok))
        if word in ("get", "put", "peek"):
            self.pos += 1
            self.expect("ref", f"after '{word}'")
            return ast.RefStmt(word != "put", self.span_from(tok), counted=word != "peek")
        if word == "repoint":
            self.pos += 1
            ptr = self.ident("a pointer name")
            return ast.RepointStmt(ptr.text, self.span_from(tok))
        if word in ("start", "end") and self.peek().text == "read":
            self.pos += 2
            return ast.ReadStmt(word == "start", self.span_from(tok))
        if word in ("wait", "start", "end"):
            self.pos += 1
            self.expect("writeback", f"after '{word}'")
            action = ast.WritebackAction(word)
            return ast.WritebackStmt(action, self.span_from(tok))
        if word == "writepage":
            self.pos += 1
            return ast.WritepageStmt(self.span_from(tok))
        if word == "await":
            self.pos += 1
            return ast.AwaitStmt(self.full_expression(), self.span_from(tok))
        if word == "assert":
            self.pos += 1
            asserted = self.full_expression()
            self.expect(",", "between the assertion and its message")
            message = self.string("the assertion's message")
            return ast.AssertStmt(asserted, message.text, self.span_from(tok))
        if tok.kind is TokenKind.IDENT and self.peek().text == "=":
            self.pos += 2
            value = self.full_expression()
            return ast.AssignStmt(tok.text, value, self.span_from(tok))
        raise self.error(tok.span, f"expected a statement, found {tok.describe()}")

    def else_if(self) -> ast.Block:
        """``else if ...``: an if statement nested in the else branch (one level deeper)."""
        if self.nesting >= MAX_NESTING:
            first = self.current
            self.too_deep(first.span)
            self.skip_block()
            while self.accept("else"):
                self.skip_block()
            return ast.Block((), self.span_from(first))
        self.nesting += 1
        try:
            nested = self.statement()
        finally:
            self.nesting -= 1
        return ast.Block((nested,), nested.span)

    def condition(self) -> ast.Cond:
        first = self.current
        if self.accept("!"):
            if self.at("trylock") or self.at("move_mapping"):
                with_depth = self.deeper(first)
                try:
                    inner = self.condition()
                finally:
                    self.expression_nesting -= with_depth
                return ast.NotCond(inner, self.span_from(first))
            self.pos -= 1
        if self.accept("trylock"):
            return ast.TryLockCond(self.lock_ref(), self.span_from(first))
        if self.accept("move_mapping"):
            return ast.MoveMappingCond(self.span_from(first))
        expr = self.full_expression()
        return ast.ExprCond(expr, self.span_from(first))

    def deeper(self, at: Token) -> int:
        """Enter one more level of '(' or '!'; returns the 1 to leave it with."""
        if self.expression_nesting >= MAX_EXPRESSION_DEPTH:
            raise self.error(
                at.span,
                f"expression nested more than {MAX_EXPRESSION_DEPTH} levels deep here: migcheck "
                f"takes at most {MAX_EXPRESSION_DEPTH} levels of operators, '!' and parentheses; "
                "split it, e.g. into several asserts or with a variable",
            )
        self.expression_nesting += 1
        return 1

    def full_expression(self) -> ast.SExpr:
        """An expression of at most ``MAX_EXPRESSION_DEPTH`` levels, as the walkers after the
        parser recurse over it."""
        first = self.current
        expr = self.expression()
        depth = _depth(expr)
        if depth > MAX_EXPRESSION_DEPTH:
            raise self.error(
                _join(first.span, self.previous.span),
                f"expression of {depth} levels: migcheck takes at most {MAX_EXPRESSION_DEPTH} "
                "levels of operators, '!' and parentheses; split it, e.g. into several asserts "
                "or with a variable",
            )
        return expr

    # ------------------------------------------------------------ expressions

    def expression(self, level: int = 0) -> ast.SExpr:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        first = self.current
        left = self.expression(level + 1)
        while self.current.kind is TokenKind.PUNCT and self.current.text in _BINARY_LEVELS[level]:
            op = self.current.text
            self.pos += 1
            right = self.expression(level + 1)
            left = ast.Binary(op, left, right, self.span_from(first))
        return left

    def unary(self) -> ast.SExpr:
        tok = self.current
        if self.accept("!"):
            level = self.deeper(tok)
            try:
                return ast.Unary("!", self.unary(), self.span_from(tok))
            finally:
                self.expression_nesting -= level
        if self.accept("("):
            level = self.deeper(tok)
            try:
                inner = self.expression()
            finally:
                self.expression_nesting -= level
            self.expect(")", "to close '('")
            return inner
        if tok.kind is TokenKind.INT:
            self.pos += 1
            return ast.IntLit(int(tok.text), tok.span)
        if self.accept("true"):
            return ast.IntLit(1, tok.span, "true")
        if self.accept("false"):
            return ast.IntLit(0, tok.span, "false")
        if self.accept("mode"):
            return self.mode_test(tok)
        if tok.kind is TokenKind.IDENT:
            self.pos += 1
            return ast.Name(tok.text, tok.span)
        raise self.error(tok.span, f"expected an expression, found {tok.describe()}")

    def mode_test(self, first: Token) -> ast.ModeTest:
        if self.accept("in"):
            self.expect("{", "after 'mode in'")
            modes = {self.mode()}
            while self.accept(","):
                modes.add(self.mode())
            self.expect("}", "to close the mode set")
            return ast.ModeTest(frozenset(modes), self.span_from(first))
        if self.accept("=="):
            return ast.ModeTest(frozenset({self.mode()}), self.span_from(first))
        if self.accept("!="):
            excluded = self.mode()
            return ast.ModeTest(frozenset(Mode) - {excluded}, self.span_from(first))
        raise self.error(
            self.current.span, "compare the mode with ==, != or 'in { ... }', e.g. mode == ASYNC"
        )


def parse_text(text: str, file: str) -> tuple[ast.Spec, tuple[Diagnostic, ...]]:
    """Parse spec text; returns the AST (possibly partial) and every syntax error found."""
    parser = Parser(text, file)
    spec = parser.parse()
    return spec, tuple(parser.diagnostics)


def parse_file(path: Path, display: str | None = None) -> ast.Spec:
    """Parse a spec file; raises :class:`SpecError` with every syntax error."""
    name = display if display is not None else str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError((Diagnostic(Severity.ERROR, None, f"{name}: cannot read: {exc}"),)) from exc
    text = decode(data, name)
    spec, diagnostics = parse_text(text, name)
    if diagnostics:
        raise SpecError(tuple(sorted(diagnostics, key=_order)))
    return spec


def decode(data: bytes, file: str) -> str:
    """Spec text from a file's bytes, which must be UTF-8 (a byte-order mark is allowed);
    otherwise :class:`SpecError` at the line and column of the first byte that is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        before = data[line_start:start].decode("utf-8")
        column = len(before.removeprefix(BYTE_ORDER_MARK) if line == 1 else before) + 1
        span = Span(file, line, column, line, column + 1)
        raise SpecError(
            (
                Diagnostic(
                    Severity.ERROR,
                    span,
                    f"byte 0x{data[start]:02x} is not UTF-8: save the file as UTF-8",
                ),
            )
        ) from exc


def _depth(expr: ast.SExpr) -> int:
    """How many levels of operators an expression has, counted without recursion."""
    deepest = 0
    stack: list[tuple[ast.SExpr, int]] = [(expr, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, ast.Unary):
            stack.append((node.arg, depth + 1))
        elif isinstance(node, ast.AnyPage):
            stack.append((node.expr, depth + 1))
        elif isinstance(node, ast.Binary):
            stack.append((node.left, depth + 1))
            stack.append((node.right, depth + 1))
    return deepest


def _order(diagnostic: Diagnostic) -> tuple[int, int]:
    span = diagnostic.span
    return (span.line, span.column) if span is not None else (0, 0)
