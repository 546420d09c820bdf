"""Counterexamples in the Informal Trace Format (ITF) of Apalache, for tools that read it.

An ITF document is JSON: ``#meta`` about the trace, ``vars`` naming the state variables, and
``states``, one object per state giving every variable's value (ADR-015 of Apalache).  A migcheck
trace stores only what each step changed, so the full states are rebuilt: a variable that appears
in the trace starts at its value in ``initial`` (or the value before its first change) and takes
each change in turn.  Variables that no step touches and that have one possible start value are
left out, as the text trace leaves them out.

Values are strings, as migcheck shows them to a person (``free``, ``migrator 0``, ``new page``);
each state's ``#meta`` says which thread moved, what it did, and where in the spec.
"""

from __future__ import annotations

from checker.reports.json_report import JSONValue
from checker.result import ModeResult, Trace

FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"


def variables(trace: Trace) -> tuple[list[str], dict[str, str]]:
    """The variables the trace mentions, in order of first mention, and their start values."""
    names: list[str] = []
    start: dict[str, str] = {}
    for name, value in trace.initial:
        if name not in start:
            names.append(name)
            start[name] = value
    for step in trace.steps:
        for change in step.changes:
            if change.name not in start:
                names.append(change.name)
                start[change.name] = change.before
    return names, start


def itf(file: str, result: ModeResult, trace: Trace) -> JSONValue:
    names, values = variables(trace)
    states: list[JSONValue] = [_state(0, values, {"description": "initial state"})]
    for number, step in enumerate(trace.steps, start=1):
        values = dict(values)
        for change in step.changes:
            values[change.name] = change.after
        meta: JSONValue = {
            "thread": step.thread,
            "action": step.action,
            "location": str(step.span) if step.span is not None else "core",
        }
        states.append(_state(number, values, meta))
    return {
        "#meta": {
            "format": "ITF",
            "format-description": FORMAT_DESCRIPTION,
            "source": file,
            "description": (f"migcheck counterexample: {result.spec} in {result.mode.value}: "
                            f"{trace.property.value} violated: {trace.message}"),
            "property": trace.property.value,
            "mode": result.mode.value,
            "violation": str(trace.violation_span) if trace.violation_span else None,
        },
        "vars": names,
        "states": states,
    }


def _state(index: int, values: dict[str, str], meta: JSONValue) -> JSONValue:
    state: JSONValue = {"#meta": {"index": index, **meta}}
    state.update(values)
    return state
