"""``migcheck ci``: discovery, judging, exit status, summary, parallel runs, coverage."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from checker import ci
from checker.result import ModeResult, PropertyResult, Statistics, Verdict
from model.kinds import ALL_PROPERTIES, Mode, Property, ReturnCode
from model.language import ast
from tests.cli_helpers import DATA, migcheck

CI = "tests/data/ci"


def _result(verdict: Verdict, violated: tuple[Property, ...] = (), reason: str = "",
            refused: tuple[ReturnCode, ...] = ()) -> ModeResult:
    """A result as the explicit engine gives it: every property judged, and those not found
    violated unknown when a budget ran out."""
    rest = Verdict.UNKNOWN if reason else Verdict.HOLDS
    properties = tuple(PropertyResult(p, Verdict.VIOLATED if p in violated else rest)
                       for p in ALL_PROPERTIES)
    return ModeResult("x", Mode.SYNC, "explicit", verdict, properties, refused,
                      Statistics(10, 20, 3, 0.0), reason)


HOLDS = ast.Expect((Mode.SYNC,), ast.Outcome.HOLDS)
VIOLATES_DEADLOCK = ast.Expect((Mode.SYNC,), ast.Outcome.VIOLATES,
                               properties=(Property.DEADLOCK,))


def test_judge_complete_runs() -> None:
    assert ci.judge(HOLDS, _result(Verdict.HOLDS)) is ci.Outcome.MET
    assert ci.judge(HOLDS, _result(Verdict.VIOLATED, (Property.DEADLOCK,))) is ci.Outcome.UNMET
    assert ci.judge(HOLDS, _result(Verdict.REFUSES, refused=(ReturnCode.EINVAL,))) is (
        ci.Outcome.UNMET)
    assert ci.judge(None, _result(Verdict.HOLDS)) is ci.Outcome.NO_EXPECTATION


def test_judge_when_a_budget_ran_out_is_never_met() -> None:
    out = "state budget of 10 states ran out"
    # the violation expected was found, but an unexplored state might hold another one
    found = _result(Verdict.VIOLATED, (Property.DEADLOCK,), out)
    assert ci.judge(VIOLATES_DEADLOCK, found) is ci.Outcome.UNKNOWN
    assert ci.judge(HOLDS, _result(Verdict.UNKNOWN, reason=out)) is ci.Outcome.UNKNOWN
    assert ci.judge(None, _result(Verdict.UNKNOWN, reason=out)) is ci.Outcome.UNKNOWN
    # a violation found is certain, budget or not
    extra = _result(Verdict.VIOLATED, (Property.LOST_UPDATE,), out)
    assert ci.judge(HOLDS, extra) is ci.Outcome.UNMET
    assert ci.judge(VIOLATES_DEADLOCK, extra) is ci.Outcome.UNMET


def test_discover_is_recursive_sorted_and_keeps_the_spelling(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    for name in ("b.mig", "a/z.mig", "a/c.mig", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    monkeypatch.chdir(tmp_path)
    assert ci.discover(["."]) == ["a/c.mig", "a/z.mig", "b.mig"]
    assert ci.discover(["a/", "b.mig", "a/c.mig"]) == ["a/c.mig", "a/z.mig", "b.mig"]


def test_exit_status_unmet(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"ci {CI}", monkeypatch)
    assert outcome.exit_code == 1
    assert outcome.stdout.startswith("unmet (4):\n")
    assert ("migcheck ci: 4 specs, 16 verdicts: 9 met, 4 unmet, 0 unknown, "
            "3 without expectation") in outcome.stdout


def test_exit_status_all_met(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"ci {CI}/aio.mig {CI}/batch_abba.mig", monkeypatch)
    assert outcome.exit_code == 0, outcome.stdout
    assert "0 unmet" in outcome.stdout


def test_exit_status_bad_spec_wins_and_prints_file_line_col(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    outcome = migcheck(f"ci {CI} tests/data/bad/undeclared_lock.mig", monkeypatch)
    assert outcome.exit_code == 2
    assert "tests/data/bad/undeclared_lock.mig:8:8: error: undeclared lock" in outcome.stderr
    assert "not checked (1):" in outcome.stdout


@pytest.mark.parametrize("budget, named", [
    ("--max-states 100", "state budget of 100 states ran out: raise --max-states"),
    ("--migrators 2 --timeout 0.001", "time budget of 0.001 s ran out: raise --timeout"),
    ("--migrators 2 --max-memory 1", "memory budget of 1 MiB ran out"),
])
def test_budgets_give_unknown_and_exit_3(budget: str, named: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"ci {CI}/aio.mig {budget}", monkeypatch)
    assert outcome.exit_code == 3, outcome.stdout
    assert named in outcome.stdout
    assert "0 unmet" in outcome.stdout and outcome.stdout.startswith("unknown (")
    assert "coverage not judged: a budget ran out" in outcome.stdout


def test_unmet_beats_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    # blocking ring_lock: the violations are found within 1000 states, aio runs out
    outcome = migcheck(f"ci {CI}/aio.mig {CI}/aio_blocking_ring_lock.mig --max-states 1000",
                       monkeypatch)
    assert outcome.exit_code == 1
    assert "unknown (" in outcome.stdout and "unmet (" in outcome.stdout


def test_usage_errors_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert migcheck(f"ci {CI} --pages 99", monkeypatch).exit_code == 2
    assert migcheck("ci tests/data/does-not-exist", monkeypatch).exit_code == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    outcome = migcheck(["ci", str(empty)], monkeypatch)
    assert outcome.exit_code == 2 and "no .mig files" in outcome.stderr


def test_output_is_identical_across_runs_and_jobs(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    texts = []
    for number, jobs in enumerate(("1", "1", "3")):
        sarif = tmp_path / f"{number}.sarif"
        junit = tmp_path / f"{number}.xml"
        outcome = migcheck(["ci", CI, "tests/data/coverage", "tests/data/bad/unknown_mode.mig",
                            "-j", jobs, "--sarif", str(sarif), "--junit", str(junit)],
                           monkeypatch)
        assert outcome.exit_code == 2
        texts.append((outcome.stdout, outcome.stderr, sarif.read_bytes(), junit.read_bytes()))
    assert texts[0] == texts[1] == texts[2]


def test_check_json_is_identical_across_runs_but_for_the_seconds(
        monkeypatch: pytest.MonkeyPatch) -> None:
    first = migcheck(f"check --format json {CI}/aio_blocking_ring_lock.mig", monkeypatch)
    second = migcheck(f"check --format json {CI}/aio_blocking_ring_lock.mig", monkeypatch)
    assert first.exit_code == 1
    seconds = re.compile(r'"seconds": [0-9.e+-]+')
    assert len(seconds.findall(first.stdout)) == 4
    assert seconds.sub("", first.stdout) == seconds.sub("", second.stdout)


def test_coverage_reports_dead_branches_not_folded_mode_tests(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    outcome = migcheck("ci tests/data/coverage", monkeypatch)
    assert outcome.exit_code == 0
    warnings = [line for line in outcome.stdout.splitlines() if "warning:" in line]
    assert warnings == [
        "  tests/data/coverage/dead_trylock.mig:11:5: warning: 'unlock private_lock' is never "
        "reached in any mode or interleaving (nor the 1 statement after it)"
    ]
    assert "dead_trylock.mig:10:6: note: it runs only when '!trylock ring_lock' is true" in (
        outcome.stdout)


def test_coverage_is_judged_over_the_modes_checked() -> None:
    spec = ci.check_spec_file(str(DATA / "coverage" / "dead_trylock.mig"),
                              ci.Options(modes=(Mode.SYNC_NO_COPY,)))
    # in SYNC_NO_COPY alone the callback returns EINVAL at once: the rest never runs, while
    # the mode test itself (decided at compile time, no step of its own) is never reported
    lines = [d.span.line for d in spec.coverage if d.span is not None]
    assert lines == [9]


def test_json_document_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"check --format json {CI}/batch_abba.mig tests/data/bad/unknown_mode.mig",
                       monkeypatch)
    assert outcome.exit_code == 2
    document = json.loads(outcome.stdout)
    assert (document["schema_version"], document["schema_minor"]) == (1, 2)
    good, bad = document["specs"]
    assert [r["mode"] for r in good["results"]] == ["ASYNC", "SYNC_LIGHT", "SYNC",
                                                    "SYNC_NO_COPY"]
    last = good["results"][-1]
    assert last["verdict"] == "violated" and last["met"] is True
    deadlock = next(p for p in last["properties"] if p["property"] == "deadlock")
    assert deadlock["trace"]["cycle"]
    assert bad["results"] == [] and bad["diagnostics"][0]["location"]["line"] == 9
