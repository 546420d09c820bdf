"""Text renderings for a terminal: the verdict table and readable counterexample traces.

A trace shows one line per step — its number, the thread, the action and the spec line it comes
from (``core`` for steps of the kernel's migration core) — and under it only what changed.
"""

from __future__ import annotations

from checker.result import ModeResult, PropertyResult, Trace, Verdict
from checker.run import Comparison, Outcome, describe_expectation
from model.kinds import ALL_PROPERTIES
from model.language import ast

_CELL = {Verdict.HOLDS: "ok", Verdict.VIOLATED: "VIOLATED", Verdict.UNKNOWN: "?"}
ABSENT_NOTE = "-"


def verdict_text(result: ModeResult) -> str:
    if result.verdict is Verdict.REFUSES:
        return "refuses " + ", ".join(code.name for code in result.refused_with)
    return str(result.verdict.value)


def header(spec: ast.Spec) -> str:
    source = f" ({spec.source})" if spec.source else ""
    return f"{spec.file}: {spec.name}{source}"


def table(comparisons: tuple[Comparison, ...], times: bool = False) -> str:
    """One row per mode, one column per property, then states explored, with ``times`` the
    seconds each mode took, and the expectation.  Without ``times`` the table is the same on
    every run."""
    show_expected = any(c.expected is not None for c in comparisons)
    columns = ["mode", "verdict"] + [p.value for p in ALL_PROPERTIES] + ["states"]
    if times:
        columns.append("seconds")
    if show_expected:
        columns.append("expected")
    rows: list[list[str]] = []
    for comparison in comparisons:
        result = comparison.result
        cells = {r.property: _CELL[r.verdict] for r in result.properties}
        row = [result.mode.value, verdict_text(result)]
        row += [cells.get(p, "-") for p in ALL_PROPERTIES]
        # the z3 engine stores no states, and a mode not in the kernel is not checked: their
        # column says so rather than 0
        explored = result.engine not in ("z3", "-") or result.statistics.states
        row.append(str(result.statistics.states) if explored else "-")
        if times:
            row.append(f"{mode_seconds(result):.2f}")
        if show_expected:
            row.append(_expected_cell(comparison))
        rows.append(row)
    widths = [max(len(columns[i]), *(len(r[i]) for r in rows)) for i in range(len(columns))]
    numeric = {columns.index("states")} | ({columns.index("seconds")} if times else set())

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    out = [line(columns)] + [line(r) for r in rows]
    for comparison in comparisons:
        if comparison.result.reason:
            out.append(f"{comparison.result.mode.value}: unknown: {comparison.result.reason}")
    for comparison in comparisons:
        if comparison.result.cross_check is not None:
            out.append(f"{comparison.result.mode.value}: {cross_check_text(comparison.result)}")
    out.extend(findings_text(comparisons))
    return "\n".join(out)


def instance_line(comparisons: tuple[Comparison, ...]) -> str | None:
    """What the verdicts were obtained at, once for the table (every mode shares it)."""
    for comparison in comparisons:
        if comparison.result.instance is not None:
            return f"verdicts at {comparison.result.instance.describe()}"
    return None


def findings_text(comparisons: tuple[Comparison, ...]) -> list[str]:
    """Each known departure of the core seen in a mode, once, apart from the verdicts."""
    lines: list[str] = []
    for comparison in comparisons:
        result = comparison.result
        for finding in result.findings:
            where = finding.trace.violation_span
            at = f" ({where})" if where is not None else ""
            core = result.instance.core if result.instance is not None else "the core"
            lines.append(
                f"{result.mode.value}: finding about {core}, not this spec: "
                f"{finding.property.value}: {finding.reason}{at}"
            )
    return lines


def mode_seconds(result: ModeResult) -> float:
    """The seconds a mode took: with ``--engine both``, both engines together."""
    extra = result.cross_check.seconds if result.cross_check is not None else 0.0
    return result.statistics.seconds + extra


def cross_check_text(result: ModeResult) -> str:
    """What the second engine of ``--engine both`` confirmed, e.g. "z3 agrees on 5 of 6
    properties (not decided by both: lost-update); return codes not compared"."""
    check = result.cross_check
    if check is None:
        return ""
    total = len(check.compared) + len(check.not_compared)
    text = f"{check.engine} agrees on {len(check.compared)} of {total} properties"
    if check.not_compared:
        text += f" (not decided by both: {', '.join(p.value for p in check.not_compared)})"
    return text + (" and on the return codes" if check.codes_compared
                   else "; return codes not compared")


def _expected_cell(comparison: Comparison) -> str:
    outcome = comparison.outcome
    if outcome is Outcome.NOT_APPLICABLE:
        return "not applicable"
    if comparison.expected is None:
        return "(no expect line)"
    if outcome is Outcome.MET:
        return "met"
    if outcome is Outcome.UNKNOWN:
        return f"unknown (expected {describe_expectation(comparison.expected)})"
    return f"UNMET: expected {describe_expectation(comparison.expected)}"


def traces(result: ModeResult) -> list[str]:
    """The counterexample of every violated property of one mode."""
    return [trace_text(result, r) for r in result.properties if r.trace is not None]


def trace_text(result: ModeResult, prop: PropertyResult) -> str:
    trace = prop.trace
    if trace is None:
        return ""
    lines = [f"{result.spec} in {result.mode.value}: {trace.property.value} violated",
             f"  {trace.message}"]
    if not trace.shortest:
        lines.append("  (a budget ran out before a shorter trace could be ruled out)")
    for name, value in trace.initial:
        lines.append(f"  initially {name} = {value}")
    lines.extend(step_lines(trace))
    total = len(trace.steps)
    if trace.cycle:
        lines.append(f"  after step {total}, these threads wait for each other for ever:")
        waiter_width = max(len(e.waiter) for e in trace.cycle)
        for edge in trace.cycle:
            where = f"   ({edge.span})" if edge.span is not None else "   (core)"
            lines.append(f"    {edge.waiter.ljust(waiter_width)}  {edge.describe()}{where}")
    elif trace.blocked and trace.partial:
        lines.append(f"  after step {total}, these threads can never move again, though others "
                     f"still run: {', '.join(trace.blocked)}")
    elif trace.blocked:
        lines.append(f"  after step {total}, no thread can move; unfinished: "
                     f"{', '.join(trace.blocked)}")
    else:
        where = str(trace.violation_span) if trace.violation_span is not None else "core"
        lines.append(f"  => {trace.property.value} violated after step {total} ({where})")
    return "\n".join(lines)


def step_lines(trace: Trace) -> list[str]:
    if not trace.steps:
        return ["  (in the initial state)"]
    number_width = len(str(len(trace.steps)))
    thread_width = max(len(s.thread) for s in trace.steps)
    action_width = min(max(len(s.action) for s in trace.steps), 64)
    lines = []
    for number, step in enumerate(trace.steps, start=1):
        where = str(step.span) if step.span is not None else "core"
        lines.append(f"  {str(number).rjust(number_width)}  {step.thread.ljust(thread_width)}  "
                     f"{step.action.ljust(action_width)}  {where}")
        if step.changes:
            changes = "; ".join(f"{c.name}: {c.before} -> {c.after}" for c in step.changes)
            lines.append(" " * (number_width + thread_width + 6) + changes)
    return lines
