"""The token layer of the .mig parsers: cursor, expectations, errors and recovery.

Spec files (model/language/parser.py) and core files (model/language/core_parser.py) share it;
a syntax error is recorded and unwinds (``_Abort``) to the nearest recovery point, so a file's
errors are reported together.
"""

from __future__ import annotations

from model.language.lexer import BYTE_ORDER_MARK, Token, TokenKind, tokenize
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


class TokenParser:
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


def _order(diagnostic: Diagnostic) -> tuple[int, int]:
    span = diagnostic.span
    return (span.line, span.column) if span is not None else (0, 0)
