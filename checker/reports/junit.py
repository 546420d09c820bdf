"""JUnit XML, the test report most CI systems show: one testcase per (spec, mode).

``classname`` is the spec file and ``name`` the mode.  An unmet expectation is a ``failure``
whose text is the counterexample as ``migcheck check --trace`` prints it; an unknown verdict
(a budget ran out) is an ``error``; a mode without an expect line is ``skipped`` with its
verdict; a spec that could not be checked is one testcase named ``spec`` with an ``error``
holding its diagnostics (type ``bad spec``) or the internal error met (type ``internal
error``).  An interrupted run ends with a suite ``migcheck ci`` whose one testcase,
``interrupted``, is an error.  No timings are written, so the file is the same from run to run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from checker.ci import Judgement, Report, SpecReport
from checker.reports import text as render_text
from checker.run import Outcome, describe_expectation


def junit(report: Report) -> str:
    """The XML document, with declaration and a trailing newline."""
    suites = ET.Element("testsuites", name="migcheck ci")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    built = [_suite(spec_report) for spec_report in report.specs]
    if report.interrupted:
        built.append(_interrupted(report))
    for suite in built:
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        suites.append(suite)
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _interrupted(report: Report) -> ET.Element:
    """An interrupted run says so in a suite of its own: one testcase in error."""
    text = f"interrupted after {len(report.specs)} of {report.total} specs"
    suite = ET.Element("testsuite", name="migcheck ci", tests="1", failures="0", errors="1",
                       skipped="0")
    case = ET.SubElement(suite, "testcase", classname="migcheck ci", name="interrupted")
    ET.SubElement(case, "error", type="interrupted", message=text).text = text
    return suite


def _suite(spec_report: SpecReport) -> ET.Element:
    suite = ET.Element("testsuite", name=spec_report.path)
    instance = next(
        (j.result.instance for j in spec_report.judgements if j.result.instance is not None), None
    )
    if instance is not None:
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="instance", value=instance.describe())
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    problems = [d.render() for d in spec_report.errors]
    if spec_report.usage_error:
        problems.append(spec_report.usage_error)
    if spec_report.internal_error:
        problems.append(f"internal error: {spec_report.internal_error}")
    if problems:
        case = ET.SubElement(suite, "testcase", classname=spec_report.path, name="spec")
        kind = "internal error" if spec_report.internal_error else "bad spec"
        error = ET.SubElement(case, "error", type=kind, message=problems[0].splitlines()[0])
        error.text = "\n".join(problems)
        counts["tests"] += 1
        counts["errors"] += 1
    for judgement in spec_report.judgements:
        counts["tests"] += 1
        case = ET.SubElement(suite, "testcase", classname=spec_report.path,
                             name=judgement.result.mode.value)
        outcome = judgement.outcome
        if outcome is Outcome.UNMET:
            failure = ET.SubElement(case, "failure", type="unmet", message=_found(judgement))
            failure.text = _failure_text(judgement)
            counts["failures"] += 1
        elif outcome is Outcome.UNKNOWN:
            error = ET.SubElement(case, "error", type="unknown",
                                  message=f"unknown: {judgement.result.reason}")
            error.text = _found(judgement)
            counts["errors"] += 1
        elif outcome is Outcome.NO_EXPECTATION:
            found = render_text.verdict_text(judgement.result)
            ET.SubElement(case, "skipped", message=f"no expect line; found {found}")
            counts["skipped"] += 1
        elif outcome is Outcome.NOT_APPLICABLE:
            ET.SubElement(case, "skipped", message="the mode is not in this kernel")
            counts["skipped"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    return suite


def _found(judgement: Judgement) -> str:
    result = judgement.result
    found = render_text.verdict_text(result)
    if result.violated():
        found += " (" + ", ".join(p.value for p in result.violated()) + ")"
    return f"expected {describe_expectation(judgement.expected)}, found {found}"


def _failure_text(judgement: Judgement) -> str:
    parts = [_found(judgement)]
    parts.extend(render_text.traces(judgement.result))
    return "\n\n".join(parts)
