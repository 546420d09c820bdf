"""Tokens of the .mig language.  Comments run from ``#`` to the end of the line.

Names and numbers are ASCII: ``str.isdigit`` also accepts digits such as '²' that ``int`` cannot
read, and letters from other scripts can look exactly like Latin ones.  Comments and strings
may hold any character.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from model.language.limits import MAX_INTEGER_DIGITS
from model.span import Diagnostic, Severity, Span


class TokenKind(Enum):
    IDENT = "identifier"
    INT = "integer"
    STRING = "string"
    PUNCT = "symbol"
    ERROR = "character migcheck does not read"
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
_DIGITS = frozenset("0123456789")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_PART = _NAME_START | _DIGITS
BYTE_ORDER_MARK = "\ufeff"


def tokenize(text: str, file: str) -> tuple[list[Token], list[Diagnostic]]:
    """Split spec text into tokens; unknown characters become diagnostics, not exceptions.

    A UTF-8 byte-order mark at the start is skipped (some editors write one).
    """
    tokens: list[Token] = []
    errors: list[Diagnostic] = []
    line, col, i = 1, 1, 0
    if text.startswith(BYTE_ORDER_MARK):
        i = 1
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
        if ch in _NAME_START:
            while i < n and text[i] in _NAME_PART:
                i += 1
            col += i - start
            tokens.append(Token(TokenKind.IDENT, text[start:i], span_to(start_line, start_col)))
            continue
        if ch in _DIGITS:
            while i < n and text[i] in _DIGITS:
                i += 1
            col += i - start
            digits = i - start
            if digits > MAX_INTEGER_DIGITS:
                errors.append(
                    Diagnostic(
                        Severity.ERROR,
                        span_to(start_line, start_col),
                        f"integer of {digits} digits: migcheck takes integers of at most "
                        f"{MAX_INTEGER_DIGITS} digits; use a smaller number",
                    )
                )
                tokens.append(Token(TokenKind.INT, "0", span_to(start_line, start_col)))
                continue
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
            Diagnostic(Severity.ERROR, span_to(start_line, start_col), _unexpected(ch))
        )
        tokens.append(Token(TokenKind.ERROR, ch, span_to(start_line, start_col)))
    tokens.append(Token(TokenKind.END, "", Span(file, line, col, line, col)))
    return tokens, errors


def _unexpected(ch: str) -> str:
    """What is wrong with a character no token starts with, and what to write instead."""
    shown = f"'{ch}' (U+{ord(ch):04X})" if ch.isprintable() and ch != "'" else f"U+{ord(ch):04X}"
    if ch.isdigit():
        return f"unexpected character {shown}: numbers are written with the digits 0-9"
    if ch.isalpha():
        return (
            f"unexpected character {shown}: names are written with the ASCII letters a-z, A-Z, "
            "the digits 0-9 and '_'"
        )
    return (
        f"unexpected character {shown}: remove it, or put it in a comment ('#' to the end of "
        "the line) or a string"
    )
