"""One rule for expect lines (docs/properties.md, "Expectations"), the same in every command and
report: met only when every property the line constrains was decided; unmet only when the
opposite is certain; anything else unknown, never met."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from checker.result import ModeResult, PropertyResult, Statistics, Verdict
from checker.run import Outcome, judge
from model.kinds import ALL_PROPERTIES, Mode, Property, ReturnCode
from model.language import ast
from tests.cli_helpers import migcheck

DEADLOCK, LOST = Property.DEADLOCK, Property.LOST_UPDATE
HOLDS = ast.Expect((Mode.SYNC,), ast.Outcome.HOLDS)
REFUSES_EINVAL = ast.Expect((Mode.SYNC,), ast.Outcome.REFUSES, codes=(ReturnCode.EINVAL,))
VIOLATES_DEADLOCK = ast.Expect((Mode.SYNC,), ast.Outcome.VIOLATES, properties=(DEADLOCK,))
VIOLATES_BOTH = ast.Expect((Mode.SYNC,), ast.Outcome.VIOLATES, properties=(DEADLOCK, LOST))


def result(verdict: Verdict, violated: tuple[Property, ...] = (),
           unknown: tuple[Property, ...] = (), refused: tuple[ReturnCode, ...] = (),
           reason: str = "") -> ModeResult:
    """Every property violated, unknown, or else proved to hold."""
    properties = tuple(
        PropertyResult(p, Verdict.VIOLATED if p in violated
                       else Verdict.UNKNOWN if p in unknown else Verdict.HOLDS)
        for p in ALL_PROPERTIES
    )
    return ModeResult("x", Mode.SYNC, "explicit", verdict, properties, refused,
                      Statistics(1, 1, 1, 0.0), reason)


OTHERS = tuple(p for p in ALL_PROPERTIES if p is not DEADLOCK)
BUDGET = "state budget of 10 states ran out"

CASES = [
    # complete runs
    ("holds, holds", HOLDS, result(Verdict.HOLDS), Outcome.MET),
    ("holds, violated", HOLDS, result(Verdict.VIOLATED, (DEADLOCK,)), Outcome.UNMET),
    ("holds, refuses", HOLDS, result(Verdict.REFUSES, refused=(ReturnCode.EINVAL,)),
     Outcome.UNMET),
    ("refuses, refuses", REFUSES_EINVAL, result(Verdict.REFUSES, refused=(ReturnCode.EINVAL,)),
     Outcome.MET),
    ("refuses, other code", REFUSES_EINVAL,
     result(Verdict.REFUSES, refused=(ReturnCode.EBUSY,)), Outcome.UNMET),
    ("refuses, holds", REFUSES_EINVAL, result(Verdict.HOLDS), Outcome.UNMET),
    ("violates, exactly", VIOLATES_DEADLOCK, result(Verdict.VIOLATED, (DEADLOCK,)), Outcome.MET),
    ("violates, one more", VIOLATES_DEADLOCK, result(Verdict.VIOLATED, (DEADLOCK, LOST)),
     Outcome.UNMET),
    ("violates, one fewer", VIOLATES_BOTH, result(Verdict.VIOLATED, (DEADLOCK,)), Outcome.UNMET),
    ("violates, holds", VIOLATES_DEADLOCK, result(Verdict.HOLDS), Outcome.UNMET),
    # a budget ran out (explicit engine: what was not found is unknown)
    ("holds, budget", HOLDS, result(Verdict.UNKNOWN, unknown=ALL_PROPERTIES, reason=BUDGET),
     Outcome.UNKNOWN),
    ("holds, budget, violated", HOLDS,
     result(Verdict.VIOLATED, (LOST,), unknown=OTHERS, reason=BUDGET), Outcome.UNMET),
    ("refuses, budget", REFUSES_EINVAL,
     result(Verdict.UNKNOWN, unknown=ALL_PROPERTIES, reason=BUDGET), Outcome.UNKNOWN),
    ("violates, budget, found", VIOLATES_DEADLOCK,
     result(Verdict.VIOLATED, (DEADLOCK,), unknown=OTHERS, reason=BUDGET), Outcome.UNKNOWN),
    ("violates, budget, another", VIOLATES_DEADLOCK,
     result(Verdict.VIOLATED, (LOST,), unknown=OTHERS[1:], reason=BUDGET), Outcome.UNMET),
    # z3 answered part of the mode: no reason, but a property left unknown
    ("violates, partial", VIOLATES_DEADLOCK,
     result(Verdict.VIOLATED, (DEADLOCK,), unknown=(Property.ASSERTION,)), Outcome.UNKNOWN),
    ("violates both, one proved to hold", VIOLATES_BOTH,
     result(Verdict.VIOLATED, (DEADLOCK,), unknown=(Property.ASSERTION,)), Outcome.UNMET),
    ("holds, return codes undecided", HOLDS, result(Verdict.UNKNOWN, reason="OK undecided"),
     Outcome.UNKNOWN),
    # no expect line
    ("none, complete", None, result(Verdict.VIOLATED, (DEADLOCK,)), Outcome.NO_EXPECTATION),
    ("none, budget", None, result(Verdict.VIOLATED, (DEADLOCK,), unknown=OTHERS, reason=BUDGET),
     Outcome.UNKNOWN),
]


@pytest.mark.parametrize("name, expected, found, outcome", CASES, ids=[c[0] for c in CASES])
def test_judge(name: str, expected: ast.Expect | None, found: ModeResult,
               outcome: Outcome) -> None:
    assert judge(expected, found) is outcome


def test_a_property_that_was_not_judged_at_all_is_undecided() -> None:
    only_deadlock = ModeResult("x", Mode.SYNC, "explicit", Verdict.VIOLATED,
                               (PropertyResult(DEADLOCK, Verdict.VIOLATED),), (),
                               Statistics(1, 1, 1, 0.0))
    assert judge(VIOLATES_DEADLOCK, only_deadlock) is Outcome.UNKNOWN


ABBA = "tests/data/ci/batch_abba.mig"  # expect SYNC_NO_COPY : violates deadlock


def test_every_command_and_report_says_unknown_when_a_budget_stopped_the_mode(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The deadlock is found within 30 states, then the state budget runs out: the other
    properties are undecided, so `violates deadlock` is unknown everywhere."""
    budget = ["--mode", "SYNC_NO_COPY", "--max-states", "30"]
    text = migcheck(["check", ABBA, *budget], monkeypatch)
    assert text.exit_code == 1  # a violation was found: that is certain
    row = next(line for line in text.stdout.splitlines() if line.startswith("SYNC_NO_COPY  "))
    assert row.endswith("unknown (expected violates deadlock)"), row

    document = json.loads(migcheck(["check", ABBA, *budget, "--format", "json"],
                                   monkeypatch).stdout)
    (mode,) = document["specs"][0]["results"]
    assert (mode["met"], mode["expectation"]) == (False, "unknown")

    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    gate = migcheck(["ci", ABBA, "--max-states", "30", "--sarif", str(sarif),
                     "--junit", str(junit)], monkeypatch)
    assert gate.exit_code == 3
    assert "tests/data/ci/batch_abba.mig:10:1: SYNC_NO_COPY: expected violates deadlock, " \
        "found violated: deadlock" in gate.stdout
    assert gate.stdout.startswith("unknown (4):")
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"budget"}
    case = next(c for c in ET.parse(junit).getroot().iter("testcase")
                if c.get("name") == "SYNC_NO_COPY")
    error = case.find("error")
    assert error is not None and error.get("type") == "unknown"
