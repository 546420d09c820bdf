"""Parser for migration-core files: mm/migrate.c of one kernel release, in the spec language.

A core file has its own declarations (``core``, ``kernel``, ``modes``, typed ``param``,
``caller``, ``local``, ``migrate`` blocks) and the statements of the spec language plus the
core's own: ``for page in pages``, ``repeat COUNT as VAR while COND``, ``break``,
``continue``, ``atomic { }``, ``rc = migratepage``, ``dma copy``, ``commit`` and a plain
``return``.  docs/cores.md is the reference.  Errors are collected as in the spec parser.
"""

from __future__ import annotations

from pathlib import Path

from model.kinds import Mode, ReturnCode
from model.language import ast
from model.language.lexer import Token, TokenKind
from model.language.parser import Parser, _Abort, _join, decode
from model.span import Diagnostic, Severity, SpecError

CORE_DECLARATIONS = frozenset(
    {"core", "kernel", "source", "changes", "modes", "param", "caller", "local", "var",
     "migrate", "proc"}
)
CODE_VALUES = tuple(code.name for code in ReturnCode)


class CoreParser(Parser):
    """Parses a core file; statements and expressions extend the spec parser's."""

    # ------------------------------------------------------------ recovery

    def at_declaration(self) -> bool:
        tok = self.current
        if tok.kind is not TokenKind.IDENT or tok.text not in CORE_DECLARATIONS:
            return False
        return tok.span.column == 1

    def sync_declaration(self) -> None:
        depth = 0
        while self.current.kind is not TokenKind.END:
            tok = self.current
            if tok.kind is TokenKind.PUNCT and tok.text == "{":
                depth += 1
            elif tok.kind is TokenKind.PUNCT and tok.text == "}":
                depth = max(depth - 1, 0)
            elif (
                depth == 0
                and tok.kind is TokenKind.IDENT
                and tok.text in CORE_DECLARATIONS
                and tok.span.column == 1
            ):
                return
            self.pos += 1

    # ------------------------------------------------------------ top level

    def parse_core(self) -> ast.Core:
        name_tok: Token | None = None
        name = kernel = source = ""
        changes: list[str] = []
        modes: list[Mode] = []
        params: list[ast.CoreParamDecl] = []
        callers: list[ast.CallerDecl] = []
        locals_: list[ast.LocalDecl] = []
        variables: list[ast.VarDecl] = []
        flows: list[ast.MigrateBlock] = []
        procs: list[ast.ProcDecl] = []
        while self.current.kind is not TokenKind.END:
            tok = self.current
            start = self.pos
            try:
                if self.accept("core"):
                    name_tok = tok
                    name = self.dotted_name("the core's name, e.g. linux-4.14")
                elif self.accept("kernel"):
                    kernel = self.string("the kernel release, e.g. \"4.14\"").text
                elif self.accept("source"):
                    source = self.string("the kernel files and functions this core follows").text
                elif self.accept("changes"):
                    changes.append(self.string("what changed from the previous core").text)
                elif self.accept("modes"):
                    modes.append(self.mode())
                    while self.accept(","):
                        modes.append(self.mode())
                elif self.at("param"):
                    params.append(self.core_param())
                elif self.at("caller"):
                    callers.append(self.caller_decl())
                elif self.at("local"):
                    locals_.append(self.local_decl())
                elif self.at("var"):
                    variables.append(self.var_decl())
                elif self.at("migrate"):
                    flows.append(self.migrate_block())
                elif self.at("proc"):
                    procs.append(self.proc_decl())
                else:
                    raise self.error(
                        tok.span,
                        "expected a core declaration (core, kernel, source, changes, modes, "
                        f"param, caller, local, var, proc, migrate), found {tok.describe()}",
                    )
            except _Abort:
                self.pos = max(self.pos, start + 1)
                self.sync_declaration()
            self.skip_separators()
        first = self.tokens[0].span
        whole = _join(first, self.tokens[-1].span)
        if name_tok is None:
            self.diagnostics.append(
                Diagnostic(Severity.ERROR, first, "missing 'core NAME' line: name the core")
            )
        if not modes:
            self.diagnostics.append(
                Diagnostic(
                    Severity.ERROR,
                    first,
                    "missing 'modes ...' line: list the migration modes this kernel has",
                )
            )
        return ast.Core(
            name,
            kernel,
            source,
            tuple(modes),
            tuple(params),
            tuple(callers),
            tuple(locals_),
            tuple(variables),
            tuple(flows),
            tuple(changes),
            self.file,
            whole,
            tuple(procs),
        )

    def dotted_name(self, what: str) -> str:
        """A name such as ``linux-4.14``: a string, or the tokens up to the end of the line."""
        if self.current.kind is TokenKind.STRING:
            return self.string(what).text
        first = self.current
        if first.kind is not TokenKind.IDENT:
            raise self.error(first.span, f"expected {what}, found {first.describe()}")
        parts: list[str] = []
        line = first.span.line
        while self.current.kind is not TokenKind.END and self.current.span.line == line:
            tok = self.current
            if tok.kind is TokenKind.PUNCT and tok.text not in ("-", ".", ".."):
                break
            parts.append(tok.text)
            self.pos += 1
        return "".join(parts)

    def core_param(self) -> ast.CoreParamDecl:
        first = self.expect("param")
        name = self.ident("a parameter name")
        self.expect(":", "and the choices, e.g. 'param batch_lock : {trylock, blocking} = trylock'")
        choices = self.value_set()
        self.expect("=", "and the default choice")
        default = self.ident("the default choice")
        if default.text not in choices:
            raise self.error(
                default.span, f"the default '{default.text}' is not one of the choices"
            )
        return ast.CoreParamDecl(name.text, choices, default.text, self.span_from(first))

    def value_set(self) -> tuple[str, ...]:
        self.expect("{", "to open the set of values")
        values = [self.ident("a value").text]
        while self.accept(","):
            values.append(self.ident("a value").text)
        self.expect("}", "to close the set of values")
        return tuple(values)

    def caller_decl(self) -> ast.CallerDecl:
        first = self.expect("caller")
        name = self.ident("the caller's name")
        self.expect("in", "and the modes it migrates in (caller NAME in MODES)")
        modes = {self.mode()}
        while self.accept(","):
            modes.add(self.mode())
        flags: set[str] = set()
        if self.accept(":"):
            flags.add(self.ident("a flag of the caller's task, e.g. memalloc").text)
            while self.accept(","):
                flags.add(self.ident("a flag").text)
        return ast.CallerDecl(name.text, frozenset(modes), frozenset(flags), self.span_from(first))

    def local_decl(self) -> ast.LocalDecl:
        first = self.expect("local")
        name = self.ident("a local's name")
        self.expect(":", "and its type")
        values: tuple[str, ...] = ()
        low = high = 0
        if self.at("{"):
            values = self.value_set()
            high = len(values) - 1
        else:
            type_tok = self.ident("a type: {A, B, ...}, code, bool or int[LOW..HIGH]")
            if type_tok.text == "code":
                values = CODE_VALUES
                high = len(values) - 1
            elif type_tok.text == "bool":
                values = ("false", "true")
                high = 1
            elif type_tok.text == "int":
                self.expect("[", "after 'int'")
                low, _ = self.integer("the lower bound")
                self.expect("..", "between the bounds")
                high, high_tok = self.integer("the upper bound")
                self.expect("]", "after the bounds")
                if high < low:
                    raise self.error(high_tok.span, f"empty range {low}..{high}")
            else:
                raise self.error(
                    type_tok.span,
                    f"unknown type '{type_tok.text}': use {{A, B, ...}}, code, bool or "
                    "int[LOW..HIGH]",
                )
        per_page = False
        if self.accept("per"):
            self.expect("page", "after 'per'")
            per_page = True
        self.expect("=", "and an initial value")
        if values:
            value_tok = self.ident("an initial value")
            if value_tok.text not in values:
                raise self.error(
                    value_tok.span, f"initial value '{value_tok.text}' is not one of the values"
                )
            initial = values.index(value_tok.text)
        else:
            initial, value_tok = self.integer("an initial value")
            if not low <= initial <= high:
                raise self.error(value_tok.span, f"initial value {initial} is outside the range")
        return ast.LocalDecl(
            name.text, values, low, high, initial, per_page, self.span_from(first)
        )

    def proc_decl(self) -> ast.ProcDecl:
        first = self.expect("proc")
        name = self.ident("the procedure's name")
        self.expect("(", "and its parameters: proc NAME(m : mode, n : count)")
        params: list[ast.ProcParam] = []
        while not self.at(")"):
            param = self.ident("a parameter name")
            self.expect(":", "and its kind, mode or count")
            kind = self.ident("mode or count")
            if kind.text not in ("mode", "count"):
                raise self.error(kind.span, f"a parameter is a mode or a count, not '{kind.text}'")
            params.append(ast.ProcParam(param.text, kind.text == "mode", self.span_from(param)))
            if not self.accept(","):
                break
        self.expect(")", "to close the parameters")
        return ast.ProcDecl(name.text, tuple(params), self.block(), self.span_from(first))

    def migrate_block(self) -> ast.MigrateBlock:
        first = self.expect("migrate")
        self.expect("in", "and the modes (migrate in MODES over isolated|shared pages { })")
        modes = {self.mode()}
        while self.accept(","):
            if self.at("over"):
                break
            modes.add(self.mode())
        self.expect("over", "and the pages: 'over isolated pages' or 'over shared pages'")
        kind = self.ident("isolated or shared")
        if kind.text not in ("isolated", "shared"):
            raise self.error(kind.span, f"expected isolated or shared, found '{kind.text}'")
        self.expect("pages", "after isolated/shared")
        reversed_if: ast.SExpr | None = None
        if self.accept(","):
            self.expect("reversed", "(migrate ... over shared pages, reversed if COND)")
            self.expect("if", "after 'reversed'")
            reversed_if = self.expression()
        body = self.block()
        return ast.MigrateBlock(
            frozenset(modes), kind.text == "shared", reversed_if, body, self.span_from(first)
        )

    # ------------------------------------------------------------ statements

    def statement(self) -> ast.Stmt:
        tok = self.current
        word = tok.text if tok.kind is TokenKind.IDENT else ""
        if word == "for":
            self.pos += 1
            self.expect("page", "(for page in pages { ... })")
            self.expect("in", "(for page in pages { ... })")
            self.expect("pages", "(for page in pages { ... })")
            return ast.ForPagesStmt(self.block(), self.span_from(tok))
        if word == "repeat" and self.peek(2).text == "as":
            self.pos += 1
            count: int | str
            if self.current.kind is TokenKind.INT:
                count, _ = self.integer("a repetition count")
            else:
                count = self.ident("a repetition count or a param name").text
            self.expect("as")
            counter = self.ident("the loop counter's name").text
            condition: ast.SExpr | None = None
            if self.accept("while"):
                condition = self.expression()
            return ast.LoopStmt(count, counter, condition, self.block(), self.span_from(tok))
        if word == "break":
            self.pos += 1
            return ast.BreakStmt(self.span_from(tok))
        if word == "continue":
            self.pos += 1
            return ast.ContinueStmt(self.span_from(tok))
        if word == "atomic":
            self.pos += 1
            return ast.AtomicStmt(self.block(), self.span_from(tok))
        if word == "dma":
            self.pos += 1
            self.expect("copy", "after 'dma'")
            return ast.DmaCopyStmt(self.span_from(tok))
        if word == "commit":
            self.pos += 1
            return ast.CommitStmt(self.span_from(tok))
        if word == "departs":
            self.pos += 1
            properties = [self.property_name()]
            while self.accept(","):
                properties.append(self.property_name())
            reason = self.string("why the kernel departs from the contract here").text
            return ast.DepartsStmt(tuple(properties), reason, self.block(), self.span_from(tok))
        if word == "return" and self.ends_statement(self.peek()):
            self.pos += 1
            return ast.LeaveStmt(self.span_from(tok))
        if (
            tok.kind is TokenKind.IDENT
            and self.peek().text == "="
            and self.peek(2).text == "migratepage"
        ):
            self.pos += 3
            mode: str | None = None
            if self.accept("("):
                mode = self.ident("a mode, or a procedure's mode parameter").text
                self.expect(")", "to close the mode")
            return ast.CallbackCallStmt(tok.text, mode, self.span_from(tok))
        if tok.kind is TokenKind.IDENT and self.peek().text == "=" and self.peek(2).text == "call":
            self.pos += 3
            library = self.ident("a library callback, e.g. migrate_page")
            return ast.CallbackCallStmt(tok.text, None, self.span_from(tok), library.text)
        if (
            tok.kind is TokenKind.IDENT
            and self.peek().text == "("
            and tok.text not in ("if", "await", "assert")
        ):
            self.pos += 2
            args: list[str | int] = []
            while not self.at(")"):
                if self.current.kind is TokenKind.INT:
                    value, _ = self.integer("a count")
                    args.append(value)
                else:
                    args.append(self.ident("a mode, a count or a param").text)
                if not self.accept(","):
                    break
            self.expect(")", "to close the arguments")
            on_page = False
            if self.accept("on"):
                self.expect("page", "(NAME(...) on page: the page of the iteration alone)")
                on_page = True
            return ast.ProcCallStmt(tok.text, tuple(args), on_page, self.span_from(tok))
        return super().statement()

    def ends_statement(self, tok: Token) -> bool:
        """The token after ``return`` starts no return code: ``return`` stands alone."""
        if tok.kind is TokenKind.END or tok.text in ("}", ";"):
            return True
        return tok.span.line != self.current.span.line

    # ------------------------------------------------------------ expressions

    def unary(self) -> ast.SExpr:
        tok = self.current
        if tok.kind is TokenKind.IDENT and tok.text == "any" and self.peek().text == "(":
            self.pos += 2
            level = self.deeper(tok)
            try:
                inner = self.expression()
            finally:
                self.expression_nesting -= level
            self.expect(")", "to close 'any('")
            return ast.AnyPage(inner, self.span_from(tok))
        if tok.kind is TokenKind.IDENT and tok.text == "caller" and self.peek().text == ".":
            self.pos += 2
            flag = self.ident("a flag of the caller, e.g. memalloc")
            return ast.CallerFlag(flag.text, self.span_from(tok))
        return super().unary()


def parse_core_text(text: str, file: str) -> tuple[ast.Core, tuple[Diagnostic, ...]]:
    """Parse core text; returns the core (possibly partial) and every syntax error found."""
    parser = CoreParser(text, file)
    core = parser.parse_core()
    return core, tuple(parser.diagnostics)


def parse_core_file(path: Path, display: str | None = None) -> ast.Core:
    """Parse a core file; raises :class:`SpecError` with every syntax error."""
    name = display if display is not None else str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError((Diagnostic(Severity.ERROR, None, f"{name}: cannot read: {exc}"),)) from exc
    core, diagnostics = parse_core_text(decode(data, name), name)
    if diagnostics:
        raise SpecError(tuple(sorted(diagnostics, key=_order)))
    return core


def _order(diagnostic: Diagnostic) -> tuple[int, int]:
    span = diagnostic.span
    return (span.line, span.column) if span is not None else (0, 0)
