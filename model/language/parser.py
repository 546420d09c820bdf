"""Recursive-descent parser for .mig specs: the declarations of a spec file.

Every node gets the span of its first token through its last.  Syntax errors are collected (the
parser skips to the next statement or declaration and goes on), so a file's errors are reported
together; :func:`parse_file` raises :class:`model.span.SpecError` with all of them.  Statements
and expressions are model/language/parse_statements.py's, tokens and recovery
model/language/parse_tokens.py's.
"""

from __future__ import annotations

from pathlib import Path

from model.kinds import LockKind, Mode
from model.language import ast
from model.language.lexer import Token, TokenKind
from model.language.parse_statements import StatementParser
from model.language.parse_tokens import (
    BUILTIN_LOCKS,
    DECLARATION_KEYWORDS,
    STATEMENT_KEYWORDS,
    _Abort,
    _join,
    _order,
    decode,
)
from model.span import Diagnostic, Severity, SpecError

__all__ = [
    "BUILTIN_LOCKS",
    "DECLARATION_KEYWORDS",
    "STATEMENT_KEYWORDS",
    "Parser",
    "_Abort",
    "_join",
    "decode",
    "parse_file",
    "parse_text",
]


class Parser(StatementParser):
    """Parses one spec file's tokens; collects diagnostics instead of stopping at the first."""

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


