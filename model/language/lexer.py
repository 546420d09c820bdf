"""Tokens of the .mig language.  Comments run from ``#`` to the end of the line."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from model.span import Diagnostic, Severity, Span


class TokenKind(Enum):
    IDENT = "identifier"
    INT = "integer"
    STRING = "string"
    PUNCT = "symbol"
    END = "end of file"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    span: Span

    def describe(self) -> str:
        if self.kind is TokenKind.END:
            return "end of file"
        return f"'{self.text}'"


_PUNCT_TWO = ("==", "!=", "<=", ">=", "&&", "||", "..")
_PUNCT_ONE = "{}()[],:;=<>+-!.%"


def tokenize(text: str, file: str) -> tuple[list[Token], list[Diagnostic]]:
    """Split spec text into tokens; unknown characters become diagnostics, not exceptions."""
    tokens: list[Token] = []
    errors: list[Diagnostic] = []
    line, col, i = 1, 1, 0
    n = len(text)

    def span_to(start_line: int, start_col: int) -> Span:
        return Span(file, start_line, start_col, line, col)

    while i < n:
        ch = text[i]
        if ch == "\n":
            i, line, col = i + 1, line + 1, 1
            continue
        if ch in " \t\r":
            i, col = i + 1, col + 1
            continue
        if ch == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        start_line, start_col, start = line, col, i
        if ch.isalpha() or ch == "_":
            while i < n and (text[i].isalnum() or text[i] == "_"):
                i += 1
            col += i - start
            tokens.append(Token(TokenKind.IDENT, text[start:i], span_to(start_line, start_col)))
            continue
        if ch.isdigit():
            while i < n and text[i].isdigit():
                i += 1
            col += i - start
            tokens.append(Token(TokenKind.INT, text[start:i], span_to(start_line, start_col)))
            continue
        if ch == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 1
            if i >= n or text[i] != '"':
                col += i - start
                errors.append(
                    Diagnostic(
                        Severity.ERROR,
                        span_to(start_line, start_col),
                        "unterminated string: close it with '\"' on the same line",
                    )
                )
                continue
            i += 1
            col += i - start
            tokens.append(
                Token(TokenKind.STRING, text[start + 1 : i - 1], span_to(start_line, start_col))
            )
            continue
        two = text[i : i + 2]
        if two in _PUNCT_TWO:
            i, col = i + 2, col + 2
            tokens.append(Token(TokenKind.PUNCT, two, span_to(start_line, start_col)))
            continue
        if ch in _PUNCT_ONE:
            i, col = i + 1, col + 1
            tokens.append(Token(TokenKind.PUNCT, ch, span_to(start_line, start_col)))
            continue
        i, col = i + 1, col + 1
        errors.append(
            Diagnostic(
                Severity.ERROR, span_to(start_line, start_col), f"unexpected character {ch!r}"
            )
        )
    tokens.append(Token(TokenKind.END, "", Span(file, line, col, line, col)))
    return tokens, errors
