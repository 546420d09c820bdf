"""Model parameters: the size of the instance a spec is checked at.

A spec may set them with ``param NAME = VALUE``; the command line overrides the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import Enum
from typing import Any

from model.language import ast
from model.language.limits import MAX_THREADS
from model.span import Diagnostic, Severity


class Contents(Enum):
    """Whether the old page's contents must reach the new page (balloon pages hold none)."""

    KEPT = "kept"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Params:
    """The instance: pages per migrator (per-page modes) or per batch (SYNC_NO_COPY), the number
    of concurrent migrators, the repetition count ``writes``, and migrate_pages()'s passes."""

    pages: int = 1
    migrators: int = 1
    writes: int = 1
    passes: int = 10
    contents: Contents = Contents.KEPT

    def override(self, **values: object) -> Params:
        """A copy with every value that is not None replaced."""
        changed: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        return replace(self, **changed)


_LIMITS = {"pages": (1, 8), "migrators": (1, 4), "writes": (0, 4), "passes": (1, 10)}
_ENUMS: dict[str, type[Enum]] = {
    "contents": Contents,
}
PARAM_NAMES = tuple(f.name for f in fields(Params))
INT_PARAMS = frozenset(_LIMITS)
"""The params with a number as value: ``repeat NAME`` and expressions may use them."""


def params_of(spec: ast.Spec) -> tuple[Params, list[Diagnostic]]:
    """The spec's own params over the defaults, with a diagnostic for each bad one."""
    params = Params()
    errors: list[Diagnostic] = []
    for decl in spec.params:
        if decl.name in _LIMITS:
            low, high = _LIMITS[decl.name]
            if not isinstance(decl.value, int) or not low <= decl.value <= high:
                errors.append(
                    Diagnostic(
                        Severity.ERROR,
                        decl.span,
                        f"param {decl.name} must be a whole number from {low} to {high}",
                    )
                )
                continue
            params = params.override(**{decl.name: decl.value})
        elif decl.name in _ENUMS:
            enum = _ENUMS[decl.name]
            choice = next((m for m in enum if m.value == decl.value), None)
            if choice is None:
                allowed = ", ".join(str(m.value) for m in enum)
                errors.append(
                    Diagnostic(
                        Severity.ERROR, decl.span, f"param {decl.name} must be one of {allowed}"
                    )
                )
                continue
            params = params.override(**{decl.name: choice})
        elif isinstance(decl.value, int):
            errors.append(
                Diagnostic(
                    Severity.ERROR,
                    decl.span,
                    f"unknown param '{decl.name}': use one of {', '.join(PARAM_NAMES)}, or "
                    "a choice the core declares",
                )
            )
        # any other `param NAME = CHOICE` sets a choice of the core; checked against the core
    return params, errors


def check_limits(params: Params, spec: ast.Spec | None = None) -> str | None:
    """A message when a command-line override is out of range, or makes an instance of
    ``spec`` larger than migcheck takes; else None."""
    for name, (low, high) in _LIMITS.items():
        value = getattr(params, name)
        if not low <= value <= high:
            return f"--{name} must be from {low} to {high}, not {value}"
    if spec is not None:
        problems = instance_errors(spec, params)
        if problems:
            return "\n".join(d.render() for d in problems)
    return None


def thread_count(spec: ast.Spec, params: Params) -> int:
    """Threads of the largest instance of ``spec`` at ``params``: the migrators, one thread per
    page for each actor without ``on page``, one for each actor with it.  The per-page modes
    have the most pages (each migrator its own), so they count here."""
    pages = params.pages * params.migrators
    return params.migrators + sum(1 if a.page is not None else pages for a in spec.actors)


def instance_errors(spec: ast.Spec, params: Params) -> list[Diagnostic]:
    """Errors about the size of ``spec``'s instance at ``params``, at the declaration that
    multiplies the threads (the first actor that runs on every page), else the spec."""
    threads = thread_count(spec, params)
    if threads <= MAX_THREADS:
        return []
    per_page = [a for a in spec.actors if a.page is None]
    pages = params.pages * params.migrators
    where = per_page[0].span if per_page else spec.span
    fix = "lower param pages or param migrators (or --pages, --migrators)"
    if per_page:
        fix += f", or run the actor on one page: 'actor {per_page[0].name} on page 0'"
    return [
        Diagnostic(
            Severity.ERROR,
            where,
            f"the instance has {threads} threads ({params.migrators} migrator(s), "
            f"{len(per_page)} actor(s) on each of {pages} pages, "
            f"{len(spec.actors) - len(per_page)} actor(s) on one page); migcheck takes at "
            f"most {MAX_THREADS}: {fix}",
        )
    ]
