"""JSON renderings of results and traces, for scripts and other tools.

The document layout is versioned (``schema_version``, ``schema_minor``) and described field by
field in docs/json-schema.md: a change that removes or renames a field, or gives it another
meaning, bumps ``schema_version``; added fields bump ``schema_minor``.  The one timing is
``statistics.seconds`` of each mode; everything else is the same bytes for the same spec.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from checker.result import CrossCheck, Instance, ModeResult, Trace
from checker.run import Comparison
from model.language import ast
from model.span import Diagnostic, Span

SCHEMA_VERSION = 1
SCHEMA_MINOR = 2

JSONValue = Any


def tool_version() -> str:
    try:
        return version("migcheck")
    except PackageNotFoundError:
        return "0+unknown"


def dumps(document: JSONValue) -> str:
    """Indented, key order as built, one trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def location(span: Span | None) -> JSONValue:
    if span is None:
        return None
    return {
        "file": span.file,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def diagnostic(item: Diagnostic) -> JSONValue:
    return {
        "severity": item.severity.value,
        "location": location(item.span),
        "message": item.message,
        "notes": [{"location": location(span), "message": text} for span, text in item.notes],
        "text": item.render(),
    }


def expectation(expected: ast.Expect | None) -> JSONValue:
    if expected is None:
        return None
    return {
        "outcome": expected.outcome.value,
        "codes": [code.name for code in expected.codes],
        "properties": [prop.value for prop in expected.properties],
        "location": location(expected.span if expected.span.line > 0 else None),
    }


def trace(value: Trace) -> JSONValue:
    """A counterexample: steps numbered from 1; ``location`` null marks a step of the core."""
    return {
        "property": value.property.value,
        "message": value.message,
        "initial": [{"name": name, "value": text} for name, text in value.initial],
        "steps": [
            {
                "number": number,
                "thread": step.thread,
                "action": step.action,
                "location": location(step.span),
                "changes": [
                    {"name": c.name, "before": c.before, "after": c.after} for c in step.changes
                ],
                "transition": step.transition,
            }
            for number, step in enumerate(value.steps, start=1)
        ],
        "violation_location": location(value.violation_span),
        "cycle": [
            {
                "waiter": edge.waiter,
                "resource": edge.resource,
                "holder": edge.holder,
                "queued": edge.queued,
                "location": location(edge.span),
            }
            for edge in value.cycle
        ],
        "blocked": list(value.blocked),
        "shortest": value.shortest,
    }


def mode_result(
    result: ModeResult, expected: ast.Expect | None, with_traces: bool = True
) -> JSONValue:
    comparison = Comparison(result, expected)
    return {
        "mode": result.mode.value,
        "engine": result.engine,
        "verdict": result.verdict.value,
        "refused_with": [code.name for code in result.refused_with],
        "violated": [prop.value for prop in result.violated()],
        "reason": result.reason or None,
        "expected": expectation(expected),
        "met": comparison.met,
        "expectation": comparison.outcome.value,
        "properties": [
            {
                "property": p.property.value,
                "verdict": p.verdict.value,
                "trace": trace(p.trace) if p.trace is not None and with_traces else None,
            }
            for p in result.properties
        ],
        "statistics": {
            "states": result.statistics.states,
            "transitions": result.statistics.transitions,
            "depth": result.statistics.depth,
            "seconds": result.statistics.seconds,
        },
        "cross_check": cross_check(result.cross_check),
        "instance": instance(result.instance),
        "core_findings": [
            {
                "property": finding.property.value,
                "reason": finding.reason,
                "trace": trace(finding.trace) if with_traces else None,
            }
            for finding in result.findings
        ],
    }


def instance(value: Instance | None) -> JSONValue:
    """What the verdict was obtained at: core, its choices, pages, migrators."""
    if value is None:
        return None
    return {
        "core": value.core,
        "kernel": value.kernel,
        "choices": {name: choice for name, choice in value.choices},
        "pages": value.pages,
        "migrators": value.migrators,
    }


def cross_check(check: CrossCheck | None) -> JSONValue:
    """What ``--engine both`` compared (null for one engine)."""
    if check is None:
        return None
    return {
        "engine": check.engine,
        "verdict": check.verdict.value,
        "compared": [prop.value for prop in check.compared],
        "not_compared": [prop.value for prop in check.not_compared],
        "codes_compared": check.codes_compared,
        "seconds": check.seconds,
    }


@dataclass(frozen=True, slots=True)
class SpecEntry:
    """One spec file as the document shows it: its verdicts, or why there are none."""

    file: str
    spec: ast.Spec | None
    results: tuple[tuple[ModeResult, ast.Expect | None], ...]
    diagnostics: tuple[Diagnostic, ...]


def spec_entry(entry: SpecEntry) -> JSONValue:
    spec = entry.spec
    return {
        "file": entry.file,
        "name": spec.name if spec is not None else None,
        "source": spec.source if spec is not None and spec.source else None,
        "diagnostics": [diagnostic(d) for d in entry.diagnostics],
        "results": [mode_result(r, e) for r, e in entry.results],
    }


def document(command: str, entries: Iterable[SpecEntry]) -> JSONValue:
    """The top level every JSON output of migcheck shares."""
    return {
        "schema_version": SCHEMA_VERSION,
        "schema_minor": SCHEMA_MINOR,
        "tool": {"name": "migcheck", "version": tool_version()},
        "command": command,
        "specs": [spec_entry(e) for e in entries],
    }


def trace_document(file: str, result: ModeResult, value: Trace) -> JSONValue:
    """``migcheck trace --format json``: one counterexample with its spec and mode."""
    return {
        "schema_version": SCHEMA_VERSION,
        "schema_minor": SCHEMA_MINOR,
        "tool": {"name": "migcheck", "version": tool_version()},
        "command": "trace",
        "file": file,
        "spec": result.spec,
        "mode": result.mode.value,
        "trace": trace(value),
    }
