"""SARIF 2.1.0 for code-scanning services (GitHub code scanning reads it as uploaded).

One rule per property, plus three rules of the gate itself:

- ``expectation``: a verdict differs from its expect line without a violation to show — a
  callback expected to hold that refuses the mode, a mode expected to be refused that is
  supported, or an expected violation that does not happen;
- ``budget``: a budget ran out, so the verdict is unknown;
- ``spec-error``: a spec that could not be checked (its diagnostics);
- ``unreached``: a statement that no mode and no interleaving ever ran (a note).

Each unexpected violation is one result, located where the violation completes, with a
``codeFlow`` holding the whole counterexample: one ``threadFlow`` per kernel thread, one
``threadFlowLocation`` per step at its spec line, ``executionOrder`` the global step number.
Steps of the migration core have no spec line of their own; they point at the spec's
``callback`` line and say "core" in their message.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from checker.ci import Judgement, Report, SpecReport
from checker.reports.json_report import JSONValue, tool_version
from checker.reports.text import verdict_text
from checker.result import ModeResult, Trace, TraceStep
from checker.run import Outcome, describe_expectation
from model.kinds import ALL_PROPERTIES, Property
from model.language import ast
from model.span import Diagnostic, Severity, Span

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# where a person reading a code-scanning alert learns about migcheck: the package's page, whose
# text is the README (SARIF requires an absolute URI here)
INFORMATION_URI = "https://pypi.org/project/migcheck/"

# A rule's ``name`` must differ from its ``id`` (SARIF1001): a PascalCase phrase that says what
# the rule wants, as SARIF's own examples do ("NoHardcodedCredentials").
RULE_NAMES: dict[str, str] = {
    "deadlock": "NoDeadlock",
    "lost-update": "NoLostUpdate",
    "copy-order": "CopyAfterStateMigration",
    "mode-discipline": "KeepTheModeContract",
    "lock-balance": "BalancedLocking",
    "assertion": "SpecAssertionsHold",
    "expectation": "VerdictMatchesExpectLine",
    "budget": "VerdictWithinBudget",
    "spec-error": "SpecIsValid",
    "unreached": "EveryStatementRuns",
    "core-finding": "KnownDepartureOfTheCore",
}

_PROPERTY_TEXT: dict[Property, tuple[str, str, str]] = {
    Property.DEADLOCK: (
        "Threads wait for each other for ever",
        "No reachable state has threads waiting on each other in a cycle (locks, page locks, "
        "buffer locks, writeback), or no thread able to move while some thread has not finished.",
        "Take the locks in one order on every path, or use a trylock with a failure branch "
        "where the order cannot be kept (as aio, f2fs and the virtio balloon do).",
    ),
    Property.LOST_UPDATE: (
        "A write to the page is lost by migration",
        "When a page's migration commits, the new page holds the last write made to the old "
        "page; no write reaches the old page after its contents were copied.",
        "Hold the lock that writers take across the state migration and the copy, or refuse "
        "the mode (SYNC_NO_COPY copies after the callback returns).",
    ),
    Property.COPY_ORDER: (
        "Page contents copied at the wrong time",
        "Every copy happens while the old page is locked; in SYNC_NO_COPY the callback does not "
        "copy with the CPU, has migrated state when it returns 0, and the DMA copy comes after "
        "the state migration and before the unlock.",
        "Use copy_states instead of copy in SYNC_NO_COPY, and migrate the state before "
        "returning 0.",
    ),
    Property.MODE_DISCIPLINE: (
        "The callback breaks its migration mode's contract",
        "ASYNC never blocks; SYNC_LIGHT never waits for writeback or calls ->writepage.",
        "Use trylock in ASYNC and give up with EAGAIN; do not wait for writeback in "
        "SYNC_LIGHT.",
    ),
    Property.LOCK_BALANCE: (
        "Unbalanced locking or an error after the point of no return",
        "Every path returns with the locks it took released; nothing sleeps while a spinlock is "
        "held; no error is returned after the state was migrated.",
        "Release every lock on every return path, including the error paths.",
    ),
    Property.ASSERTION: (
        "A spec assertion fails",
        "Every assert in the spec holds in every reachable state where it is executed.",
        "Read the assertion's message and the trace that reaches it.",
    ),
}

EXPECTATION = "expectation"
BUDGET = "budget"
SPEC_ERROR = "spec-error"
UNREACHED = "unreached"
CORE_FINDING = "core-finding"

_GATE_RULES: tuple[tuple[str, str, str, str, str], ...] = (
    (CORE_FINDING, "The migration core departs from a contract",
     "The kernel's migration core itself departs from a mode's contract at a step its core file "
     "declares ('departs'); reported once, apart from the verdicts of the specs under it.",
     "Nothing to fix in the spec; the departure belongs to the kernel release the core models.",
     "note"),
    (EXPECTATION, "A verdict differs from its expect line",
     "The verdict of a mode differs from the spec's expect line with no violation to show: a "
     "mode expected to hold that the callback refuses, a refusal that does not happen, or an "
     "expected violation that is not found.",
     "Fix the callback or the expect line, whichever is wrong.", "error"),
    (BUDGET, "A budget ran out: the verdict is unknown",
     "The search stopped at --max-states, --timeout or --max-memory before it could judge "
     "every property; an unknown verdict is never reported as holds.",
     "Raise the budget, or lower the spec's params (pages, migrators, writes).", "warning"),
    (SPEC_ERROR, "The spec could not be checked",
     "The spec has errors (syntax, undeclared names, locking that cannot be right on some "
     "path), so no engine ran on it.",
     "Fix the errors named at each location.", "error"),
    (UNREACHED, "A statement never runs",
     "No mode and no interleaving ever ran this statement of the callback or of an actor.",
     "Check the conditions and actors that lead there, or remove the statement.", "note"),
)


def rules() -> list[JSONValue]:
    out: list[JSONValue] = []
    for prop in ALL_PROPERTIES:
        short, full, fix = _PROPERTY_TEXT[prop]
        out.append(_rule(prop.value, short, full, fix, "error"))
    for rule_id, short, full, fix, level in _GATE_RULES:
        out.append(_rule(rule_id, short, full, fix, level))
    return out


def _rule(rule_id: str, short: str, full: str, fix: str, level: str) -> JSONValue:
    return {
        "id": rule_id,
        "name": RULE_NAMES[rule_id],
        "shortDescription": {"text": short},
        "fullDescription": {"text": full},
        "help": {"text": f"{full} {fix}", "markdown": f"{full}\n\n**Fix:** {fix}"},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["linux-kernel", "page-migration", "concurrency"]},
    }


def sarif(report: Report) -> JSONValue:
    """The SARIF log of one ``migcheck ci`` run."""
    results: list[JSONValue] = []
    for spec_report in report.specs:
        results.extend(_spec_results(spec_report))
    results.extend(_core_findings(report))
    notifications = _notifications(report)
    invocation: JSONValue = {"executionSuccessful": not notifications}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    version = tool_version()
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "migcheck",
                        "informationUri": INFORMATION_URI,
                        "version": version,
                        "semanticVersion": version,
                        "rules": rules(),
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _notifications(report: Report) -> list[JSONValue]:
    """What kept the run from doing all it was asked: bad usage, internal errors, an interrupt.
    Any of them makes ``executionSuccessful`` false; spec errors and budgets do not (the run
    did its work and the results say what it found)."""
    out: list[JSONValue] = []
    for spec_report in report.specs:
        if spec_report.usage_error:
            out.append({"level": "error",
                        "message": {"text": f"{spec_report.path}: {spec_report.usage_error}"}})
        if spec_report.internal_error:
            text = f"{spec_report.path}: internal error: {spec_report.internal_error}"
            out.append({"level": "error", "message": {"text": text}})
    if report.interrupted:
        text = f"interrupted after {len(report.specs)} of {report.total} specs"
        out.append({"level": "error", "message": {"text": text}})
    return out


def _spec_results(spec_report: SpecReport) -> list[JSONValue]:
    out: list[JSONValue] = []
    for error in spec_report.errors:
        out.append(_diagnostic_result(spec_report.path, SPEC_ERROR, "error", error))
    spec = spec_report.spec
    if spec is None:
        return out
    for judgement in spec_report.judgements:
        if judgement.outcome is Outcome.UNMET:
            out.extend(_unmet(spec_report.path, spec, judgement))
        elif judgement.outcome is Outcome.UNKNOWN:
            result = judgement.result
            where = _expect_span(judgement) or _callback_span(spec)
            text = (f"{spec.name} in {result.mode.value}: verdict unknown: {result.reason}"
                    f"{_at(result)}")
            if judgement.expected is not None:
                text += f" (expected {describe_expectation(judgement.expected)})"
            out.append(_result(BUDGET, "warning", text, spec_report.path, where))
    for warning in spec_report.coverage:
        if warning.severity is Severity.WARNING:
            out.append(_diagnostic_result(spec_report.path, UNREACHED, "note", warning))
    return out


def _core_findings(report: Report) -> list[JSONValue]:
    """Each known departure of a core seen in the run, once (not once per spec)."""
    out: list[JSONValue] = []
    seen: set[tuple[str, str, str, str]] = set()
    for spec_report, judgement in report.judgements():
        result = judgement.result
        spec = spec_report.spec
        if spec is None:
            continue
        core = result.instance.describe() if result.instance is not None else "the core"
        for finding in result.findings:
            key = (core, result.mode.value, finding.property.value, finding.reason)
            if key in seen:
                continue
            seen.add(key)
            span = finding.trace.violation_span
            where = _local(span) or _callback_span(spec)
            text = (f"finding about {core} in {result.mode.value} ({finding.property.value}): "
                    f"{finding.reason}" + ("" if _local(span) else _core_note(span)))
            out.append(_result(CORE_FINDING, "note", text, spec_report.path, where))
    return out


def _unmet(path: str, spec: ast.Spec, judgement: Judgement) -> list[JSONValue]:
    result = judgement.result
    expected = judgement.expected
    allowed: set[Property] = set()
    if expected is not None and expected.outcome is ast.Outcome.VIOLATES:
        allowed = set(expected.properties)
    wanted = describe_expectation(expected)
    out: list[JSONValue] = []
    for prop_result in result.properties:
        trace = prop_result.trace
        if trace is None or prop_result.property in allowed:
            continue
        location = (
            _local(trace.violation_span) or _expect_span(judgement) or _callback_span(spec)
        )
        sarif_result = _result(
            prop_result.property.value, "error",
            f"{spec.name} in {result.mode.value}: {prop_result.property.value} violated: "
            f"{trace.message} (expected {wanted}){_at(result)}",
            path, location,
        )
        if trace.steps or trace.cycle:
            sarif_result["codeFlows"] = [_code_flow(path, spec, trace)]
        out.append(sarif_result)
    missing = allowed - set(result.violated())
    if not out or missing:
        text = (f"{spec.name} in {result.mode.value}: expected {wanted}, found "
                f"{verdict_text(result)}")
        if result.violated():
            text += " (" + ", ".join(p.value for p in result.violated()) + ")"
        out.append(_result(EXPECTATION, "error", text, path,
                           _expect_span(judgement) or _callback_span(spec)))
    return out


def _code_flow(path: str, spec: ast.Spec, trace: Trace) -> JSONValue:
    threads: list[str] = []
    flows: dict[str, list[JSONValue]] = {}
    for number, step in enumerate(trace.steps, start=1):
        if step.thread not in flows:
            threads.append(step.thread)
            flows[step.thread] = []
        flows[step.thread].append(_step_location(path, spec, number, step))
    order = len(trace.steps)
    for edge in trace.cycle:
        order += 1
        if edge.waiter not in flows:
            threads.append(edge.waiter)
            flows[edge.waiter] = []
        where = _local(edge.span) or _callback_span(spec)
        core = "" if _local(edge.span) is not None else _core_note(edge.span)
        flows[edge.waiter].append({
            "location": _location(
                path, where, f"{order}. {edge.describe()}{core}"
            ),
            "executionOrder": order,
            "importance": "essential",
            "kinds": ["acquire", "lock"],
        })
    return {
        "message": {"text": trace.message},
        "threadFlows": [
            {"id": thread, "message": {"text": thread}, "locations": flows[thread]}
            for thread in threads
        ],
    }


def _step_location(path: str, spec: ast.Spec, number: int, step: TraceStep) -> JSONValue:
    core = _local(step.span) is None
    text = f"{number}. {step.action}" + (_core_note(step.span) if core else "")
    location: JSONValue = {
        "location": _location(path, _local(step.span) or _callback_span(spec), text),
        "executionOrder": number,
        "importance": "unimportant" if core else "important",
    }
    kinds = _kinds(step.action)
    if kinds:
        location["kinds"] = kinds
    if step.changes:
        location["state"] = {c.name: {"text": f"{c.before} -> {c.after}"} for c in step.changes}
    return location


def _kinds(action: str) -> list[str]:
    first = action.split(" ", 1)[0].split("(", 1)[0]
    if first in ("lock", "trylock", "lock_page", "trylock_page"):
        return ["acquire", "lock"]
    if first in ("unlock", "unlock_page"):
        return ["release", "lock"]
    if first == "return":
        return ["return"]
    return []


def _diagnostic_result(path: str, rule: str, level: str, item: Diagnostic) -> JSONValue:
    text = item.message
    for _, note in item.notes:
        text += f" (note: {note})"
    return _result(rule, level, text, path, item.span)


def _result(rule: str, level: str, text: str, path: str, span: Span | None) -> JSONValue:
    return {
        "ruleId": rule,
        "level": level,
        "message": {"text": text},
        "locations": [_location(path, span, None)],
    }


def _location(path: str, span: Span | None, text: str | None) -> JSONValue:
    physical: JSONValue = {"artifactLocation": _artifact(span.file if span else path)}
    if span is not None and span.line > 0:
        region: JSONValue = {"startLine": span.line, "startColumn": span.column}
        if span.end_line >= span.line:
            region["endLine"] = span.end_line
            if span.end_column > (span.column if span.end_line == span.line else 0):
                region["endColumn"] = span.end_column
        physical["region"] = region
    else:
        physical["region"] = {"startLine": 1}
    location: JSONValue = {"physicalLocation": physical}
    if text is not None:
        location["message"] = {"text": text}
    return location


def _artifact(path: str) -> JSONValue:
    if path.startswith("/"):
        return {"uri": "file://" + quote(path)}
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


def _at(result: ModeResult) -> str:
    """The instance a verdict was obtained at, as results say it."""
    return f" [{result.instance.describe()}]" if result.instance is not None else ""


def _local(span: Span | None) -> Span | None:
    """A span in a file of the checked tree; a shipped core's file is not one (its steps are
    located at the spec and name the core line in their message)."""
    if span is None or not Path(span.file).is_file():
        return None
    return span


def _core_note(span: Span | None) -> str:
    return " (core)" if span is None else f" (core {span})"


def _expect_span(judgement: Judgement) -> Span | None:
    expected = judgement.expected
    if expected is None or expected.span.line <= 0:
        return None
    return expected.span


def _callback_span(spec: ast.Spec) -> Span | None:
    span = spec.callback.span
    return span if span.line > 0 else None
