"""Source spans and diagnostics: every error names FILE:LINE:COL and what would fix it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a spec file.  Lines and columns count from 1."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One message about a spec, with optional ``note:`` lines pointing at related places."""

    severity: Severity
    span: Span | None
    message: str
    notes: tuple[tuple[Span | None, str], ...] = ()

    def render(self) -> str:
        where = f"{self.span}: " if self.span is not None else ""
        lines = [f"{where}{self.severity.value}: {self.message}"]
        for span, note in self.notes:
            note_where = f"{span}: " if span is not None else ""
            lines.append(f"{note_where}note: {note}")
        return "\n".join(lines)


class SpecError(Exception):
    """Raised when a spec has errors; carries all of them, in source order."""

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics

    def __str__(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)
