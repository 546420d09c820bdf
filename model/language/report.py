"""Collecting the diagnostics of a spec's checks: each message once, all of them reported
together, in source order."""

from __future__ import annotations

from dataclasses import dataclass, field

from model.language import ast
from model.span import Diagnostic, Severity, Span


@dataclass(slots=True)
class Report:
    """The diagnostics found so far, each (span, message) once."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    seen: set[tuple[Span | None, str]] = field(default_factory=set)

    def error(
        self, span: Span | None, message: str, notes: tuple[tuple[Span | None, str], ...] = ()
    ) -> None:
        self.add(Severity.ERROR, span, message, notes)

    def warning(self, span: Span | None, message: str) -> None:
        self.add(Severity.WARNING, span, message)

    def add(
        self,
        severity: Severity,
        span: Span | None,
        message: str,
        notes: tuple[tuple[Span | None, str], ...] = (),
    ) -> None:
        key = (span, message)
        if key not in self.seen:
            self.seen.add(key)
            self.diagnostics.append(Diagnostic(severity, span, message, notes))



def end_of(block: ast.Block) -> Span:
    span = block.span
    return Span(
        span.file, span.end_line, max(span.end_column - 1, 1), span.end_line, span.end_column
    )
