"""Static checks of a migration core: everything that makes a core meaningless is an error
with its span, before any spec is compiled under it."""

from __future__ import annotations

from model.language import ast
from model.span import Diagnostic, Severity, SpecError


def validate_core(core: ast.Core) -> tuple[Diagnostic, ...]:
    """Every error and warning of a parsed core, in source order."""
    found: list[Diagnostic] = []
    for mode in core.modes:
        flows = [f for f in core.flows if mode in f.modes]
        if not flows:
            found.append(
                Diagnostic(
                    Severity.ERROR,
                    core.span,
                    f"mode {mode.value} is listed in 'modes' but no 'migrate in' block covers it",
                )
            )
        for extra in flows[1:]:
            found.append(
                Diagnostic(
                    Severity.ERROR,
                    extra.span,
                    f"a second 'migrate' block for {mode.value}",
                    ((flows[0].span, "the first one is here"),),
                )
            )
    return tuple(found)


def check_core(core: ast.Core) -> tuple[Diagnostic, ...]:
    """Validate; raise :class:`SpecError` if there is any error, else return the warnings."""
    diagnostics = validate_core(core)
    if any(d.severity is Severity.ERROR for d in diagnostics):
        raise SpecError(diagnostics)
    return diagnostics
