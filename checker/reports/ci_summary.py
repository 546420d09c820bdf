"""The ``migcheck ci`` summary a person reads in a CI log.

Unmet expectations come first, each with what was expected, what was found, and for every
violation its message and the spec line where it completes; then unknown verdicts with the budget
that ran out; then modes without an expect line, then the met ones, one line per spec; then
warnings (statements never reached); then the counts.  No timings: the summary is the same byte
for byte on every run.
"""

from __future__ import annotations

from checker.ci import Judgement, Report, SpecReport
from checker.reports.text import verdict_text
from checker.run import Outcome, describe_expectation

_BUDGET_OPTION = (
    ("state budget", "--max-states"),
    ("time budget", "--timeout"),
    ("memory budget", "--max-memory"),
)


def summary(report: Report) -> str:
    lines: list[str] = []
    unmet = _section(report, Outcome.UNMET)
    if unmet:
        lines.append(f"unmet ({len(unmet)}):")
        for spec_report, judgement in unmet:
            lines.append("  " + _headline(spec_report, judgement))
            lines.extend("    " + text for text in _violations(judgement))
    unknown = _section(report, Outcome.UNKNOWN)
    if unknown:
        lines.append(f"unknown ({len(unknown)}):")
        for spec_report, judgement in unknown:
            lines.append("  " + _headline(spec_report, judgement))
            lines.append("    " + _budget_hint(judgement.result.reason))
    lines.extend(_by_spec(report, Outcome.NO_EXPECTATION, "no expectation", show_verdict=True))
    lines.extend(_by_spec(report, Outcome.MET, "met", show_verdict=False))
    lines.extend(
        _by_spec(report, Outcome.NOT_APPLICABLE, "not in this kernel", show_verdict=False)
    )
    bad = report.bad_specs()
    if bad:
        lines.append(f"not checked ({len(bad)}):")
        for spec_report in bad:
            lines.append(f"  {spec_report.path}: {_why_not_checked(spec_report)}")
    warnings = [w for s in report.specs for w in s.warnings + s.coverage]
    if warnings:
        lines.append(f"warnings ({len(warnings)}):")
        for warning in warnings:
            first, *notes = warning.render().splitlines()
            lines.append("  " + first)
            lines.extend("    " + note for note in notes)
    lines.append(_counts(report))
    return "\n".join(lines)


def _section(report: Report, outcome: Outcome) -> list[tuple[SpecReport, Judgement]]:
    return [(s, j) for s, j in report.judgements() if j.outcome is outcome]


def _headline(spec_report: SpecReport, judgement: Judgement) -> str:
    expected = judgement.expected
    where = str(expected.span) if expected is not None and expected.span.line > 0 else (
        spec_report.path
    )
    wanted = describe_expectation(expected) if expected is not None else "nothing (no expect line)"
    return f"{where}: {judgement.result.mode.value}: expected {wanted}, found {_found(judgement)}"


def _found(judgement: Judgement) -> str:
    result = judgement.result
    text = verdict_text(result)
    if result.violated():
        text += ": " + ", ".join(p.value for p in result.violated())
    return text


def _violations(judgement: Judgement) -> list[str]:
    out = []
    for prop_result in judgement.result.properties:
        trace = prop_result.trace
        if trace is None:
            continue
        where = f" at {trace.violation_span}" if trace.violation_span is not None else ""
        out.append(f"{prop_result.property.value}: {trace.message}{where} "
                   f"({len(trace.steps)} steps)")
    if judgement.result.reason:
        out.append(_budget_hint(judgement.result.reason))
    return out


def _budget_hint(reason: str) -> str:
    for prefix, option in _BUDGET_OPTION:
        if reason.startswith(prefix):
            return f"{reason}: raise {option} or lower the spec's params"
    return reason


def _by_spec(report: Report, outcome: Outcome, title: str, show_verdict: bool) -> list[str]:
    rows = []
    for spec_report in report.specs:
        modes = [j for j in spec_report.judgements if j.outcome is outcome]
        if not modes:
            continue
        parts = [
            f"{j.result.mode.value} {verdict_text(j.result)}" if show_verdict
            else j.result.mode.value
            for j in modes
        ]
        rows.append(f"  {spec_report.path}: {', '.join(parts)}")
    count = sum(1 for _ in _section(report, outcome))
    return [f"{title} ({count}):"] + rows if rows else []


def _why_not_checked(spec_report: SpecReport) -> str:
    if spec_report.internal_error:
        return "internal error of migcheck (on stderr)"
    if spec_report.usage_error:
        return spec_report.usage_error
    errors = len(spec_report.errors)
    return f"{errors} error{'s' if errors != 1 else ''} (listed on stderr)"


def _counts(report: Report) -> str:
    checked = len(report.specs) - len(report.bad_specs())
    text = (f"migcheck ci: {len(report.specs)} spec{'s' if len(report.specs) != 1 else ''}, "
            f"{sum(1 for _ in report.judgements())} verdicts: "
            f"{report.count(Outcome.MET)} met, {report.count(Outcome.UNMET)} unmet, "
            f"{report.count(Outcome.UNKNOWN)} unknown, "
            f"{report.count(Outcome.NO_EXPECTATION)} without expectation")
    if report.count(Outcome.NOT_APPLICABLE):
        text += f", {report.count(Outcome.NOT_APPLICABLE)} not in this kernel"
    if checked != len(report.specs):
        text += f"; {len(report.specs) - checked} not checked"
    if report.interrupted:
        text += f"; interrupted after {len(report.specs)} of {report.total} specs"
    return text
