"""``migcheck check``: what it prints besides the table — coverage warnings on stderr after the
table, seconds behind --times — and in what order when both streams go to one place."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli_helpers import ROOT, migcheck

DEAD = "tests/data/coverage/dead_trylock.mig"


def test_check_warns_about_statements_never_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"check {DEAD}", monkeypatch)
    assert outcome.exit_code == 0
    assert outcome.stderr.splitlines() == [
        f"{DEAD}:11:5: warning: 'unlock private_lock' is never reached in any mode or "
        "interleaving (nor the 1 statement after it)",
        f"{DEAD}:10:6: note: it runs only when '!trylock ring_lock' is true, which never "
        "happened",
    ]
    # the same warnings as ci's
    gate = migcheck(f"ci {DEAD}", monkeypatch)
    assert f"  {outcome.stderr.splitlines()[0]}" in gate.stdout.splitlines()


def test_check_json_holds_the_coverage_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"check {DEAD} --format json", monkeypatch)
    (spec,) = json.loads(outcome.stdout)["specs"]
    warnings = [d for d in spec["diagnostics"] if d["severity"] == "warning"]
    assert [w["location"]["line"] for w in warnings] == [11]
    assert outcome.stderr.startswith(warnings[0]["text"])


def test_a_mode_test_that_rules_a_branch_out_is_no_warning(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    outcome = migcheck("check tests/data/ci/aio_blocking_ring_lock.mig --mode ASYNC",
                       monkeypatch)
    assert "return EINVAL" not in outcome.stderr
    assert "'unlock ring_lock' is never reached in any interleaving of ASYNC" in outcome.stderr


def test_no_coverage_judged_when_a_budget_ran_out(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck("check tests/data/ci/aio.mig --max-states 100", monkeypatch)
    assert outcome.exit_code == 3
    assert outcome.stderr == "note: tests/data/ci/aio.mig: coverage not judged: a budget ran out\n"


def test_times_adds_a_seconds_column_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = migcheck("check tests/data/ci/batch_abba.mig", monkeypatch).stdout.splitlines()
    timed = migcheck("check tests/data/ci/batch_abba.mig --times",
                     monkeypatch).stdout.splitlines()
    assert plain[1].startswith("verdicts at core linux-4.14")
    assert "seconds" not in plain[2]
    header = timed[2].split()
    assert header[header.index("states") + 1] == "seconds"
    for row in timed[3:7]:
        cells = row.split()
        seconds = cells[header.index("seconds")]
        assert float(seconds) >= 0 and len(seconds.split(".")[1]) == 2
        assert " ".join(cells[:header.index("seconds")] + cells[header.index("seconds") + 1:]) \
            == " ".join(plain[timed.index(row)].split())


def test_stderr_lines_never_land_inside_a_stdout_line() -> None:
    """Both streams into one pipe, as a terminal or `2>&1` shows them: the coverage warnings
    come after the table they are about, each on a line of its own, and the traces after."""
    done = subprocess.run(
        [sys.executable, "-m", "checker.cli", "check", "--trace", DEAD,
         "tests/data/ci/aio_blocking_ring_lock.mig"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    warnings = [n for n, line in enumerate(lines) if ": warning: " in line]
    assert len(warnings) == 2
    for number in warnings:
        assert lines[number].startswith("tests/data/")
        assert lines[number - 1].startswith(("SYNC_NO_COPY  ", "tests/data/"))
    first_trace = next(n for n, line in enumerate(lines) if " violated" in line
                       and line.startswith("aio_migratepage in "))
    assert warnings[1] < first_trace
    assert done.stdout.endswith("\n")
