"""Exit statuses beyond the verdicts: 2 for outputs that cannot be written (checked before a run
where possible), 4 for internal errors, 130 for an interrupt — each with a one-line message and
never a Python traceback unless asked for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from checker.engines import registry
from checker.engines.budget import Budget
from checker.engines.explicit.search import Progress
from checker.result import ModeResult, PropertyResult, Verdict
from model.ts import TransitionSystem
from tests.cli_helpers import ROOT, migcheck

AIO = "tests/data/ci/aio.mig"
CI = "tests/data/ci"


def _crash(system: TransitionSystem, budget: Budget,
           progress: Progress | None = None) -> ModeResult:
    raise ZeroDivisionError("the engine divided by zero")


def _interrupt(system: TransitionSystem, budget: Budget,
               progress: Progress | None = None) -> ModeResult:
    raise KeyboardInterrupt


def _run(*args: str, stdout: int | None = subprocess.PIPE,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "checker.cli", *args], cwd=ROOT, text=True,
                          stdout=stdout, stderr=subprocess.PIPE, check=False,
                          env={**os.environ, **(env or {})}, timeout=300)


# ---------------------------------------------------------------- internal errors: 4


def test_an_internal_error_in_check_is_one_line_and_exit_4(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(registry.explicit, "check", _crash)
    outcome = migcheck(f"check {AIO}", monkeypatch)
    assert outcome.exit_code == 4
    (line,) = outcome.stderr.splitlines()
    assert line.startswith("internal error: ZeroDivisionError: the engine divided by zero "
                           "(at test_exit_status.py:")
    assert "--debug or MIGCHECK_DEBUG=1 prints the traceback" in line


def test_debug_prints_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry.explicit, "check", _crash)
    for args, env in ((f"--debug check {AIO}", None), (f"check {AIO}", "1")):
        if env is not None:
            monkeypatch.setenv("MIGCHECK_DEBUG", env)
        outcome = migcheck(args, monkeypatch)
        assert outcome.exit_code == 4
        assert outcome.stderr.startswith("Traceback (most recent call last):")
        assert outcome.stderr.splitlines()[-1].startswith("internal error: ZeroDivisionError")


def test_engines_that_disagree_are_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def z3_holds(system: TransitionSystem, budget: Budget,
                 progress: Progress | None = None) -> ModeResult:
        """z3 claiming that every property holds where the explicit engine finds violations."""
        found = registry.explicit.check(system, budget)
        holds = tuple(PropertyResult(p.property, Verdict.HOLDS) for p in found.properties)
        return replace(found, engine="z3", verdict=Verdict.HOLDS, properties=holds)

    monkeypatch.setattr(registry, "z3_engine", z3_holds)
    outcome = migcheck(f"check --engine both --mode ASYNC {CI}/aio_blocking_ring_lock.mig",
                       monkeypatch)
    assert outcome.exit_code == 4
    assert outcome.stderr.startswith("internal error: the engines disagree on ")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_internal_error_in_ci_exits_4_and_marks_the_sarif_run_failed(
        jobs: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(registry.explicit, "check", _crash)
    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    outcome = migcheck(["ci", "-j", jobs, f"{CI}/aio.mig", f"{CI}/batch_abba.mig",
                        "--sarif", str(sarif), "--junit", str(junit)], monkeypatch)
    assert outcome.exit_code == 4
    lines = outcome.stderr.splitlines()
    assert len(lines) == 2 and all(
        line.startswith(f"internal error: {CI}/") and "ZeroDivisionError" in line
        for line in lines)
    assert "Traceback" not in outcome.stderr
    assert f"  {CI}/aio.mig: internal error of migcheck (on stderr)" in outcome.stdout
    (invocation,) = json.loads(sarif.read_text())["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "ZeroDivisionError" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert 'type="internal error"' in junit.read_text()


def test_an_uncaught_exception_outside_the_engines_is_exit_4(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    def broken(*args: object) -> str:
        raise RuntimeError("renderer broke")

    monkeypatch.setattr("checker.reports.text.table", broken)
    outcome = migcheck(f"check {AIO} --mode SYNC_NO_COPY", monkeypatch)
    assert outcome.exit_code == 4
    assert outcome.stderr.startswith("internal error: RuntimeError: renderer broke")


# ---------------------------------------------------------------- interrupts: 130


def test_an_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry.explicit, "check", _interrupt)
    outcome = migcheck(f"check {AIO}", monkeypatch)
    assert outcome.exit_code == 130
    assert outcome.stderr == "migcheck: interrupted\n"
    assert migcheck(f"trace {AIO} --mode SYNC", monkeypatch).exit_code == 130


def test_an_interrupted_ci_writes_its_reports_as_unsuccessful(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setattr(registry.explicit, "check", _interrupt)
    sarif, junit = tmp_path / "r.sarif", tmp_path / "r.xml"
    outcome = migcheck(["ci", CI, "--sarif", str(sarif), "--junit", str(junit)], monkeypatch)
    assert outcome.exit_code == 130
    assert outcome.stderr == "migcheck: interrupted: 0 of 4 specs checked\n"
    assert outcome.stdout.endswith("; interrupted after 0 of 4 specs\n")
    (invocation,) = json.loads(sarif.read_text())["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert '<error type="interrupted" message="interrupted after 0 of 4 specs">' in (
        junit.read_text())


def _interrupt_after(delay: float, args: list[str], whole_group: bool
                     ) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run migcheck, then send SIGINT as a terminal's Ctrl-C does (to the whole process group)
    or as ``kill -INT`` does (to migcheck alone)."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "checker.cli", *args], cwd=ROOT,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    time.sleep(delay)
    if whole_group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    elapsed = time.monotonic() - started
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), elapsed


@pytest.mark.parametrize("whole_group", [True, False], ids=["ctrl-c", "kill-int"])
def test_sigint_stops_ci_with_worker_processes_at_once(whole_group: bool) -> None:
    # specs/ takes far longer than the two seconds allowed; the workers are stopped, not waited
    done, elapsed = _interrupt_after(1.5, ["ci", "-j", "2", "specs/"], whole_group)
    assert done.returncode == 130, done.stderr
    assert elapsed < 1.5 + 2.0, elapsed
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert done.stderr.startswith("migcheck: interrupted: ")
    assert "; interrupted after " in done.stdout


def test_sigint_stops_check() -> None:
    done, _ = _interrupt_after(1.5, ["check", "specs/aio.mig", "specs/zsmalloc.mig"], True)
    assert done.returncode == 130
    assert done.stderr == "migcheck: interrupted\n"


# ---------------------------------------------------------------- outputs: 2


def test_stdout_on_a_full_disk_is_exit_2_without_traceback() -> None:
    with open("/dev/full", "w") as full:
        done = _run("check", AIO, "--mode", "SYNC_NO_COPY", stdout=full.fileno())
    assert done.returncode == 2
    assert done.stderr == ("migcheck: error: cannot write to standard output: "
                           "No space left on device\n")


def test_ci_stdout_on_a_full_disk_still_writes_the_reports(tmp_path: Path) -> None:
    sarif = tmp_path / "r.sarif"
    with open("/dev/full", "w") as full:
        done = _run("ci", f"{CI}/batch_abba.mig", "--sarif", str(sarif), stdout=full.fileno())
    assert done.returncode == 2
    assert "cannot write to standard output" in done.stderr and "Traceback" not in done.stderr
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


@pytest.mark.parametrize("option", ["--sarif", "--junit"])
def test_ci_report_paths_are_checked_before_the_run(option: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry.explicit, "check", _crash)  # must never run
    outcome = migcheck(["ci", CI, option, "/nonexistent/dir/report"], monkeypatch)
    assert outcome.exit_code == 2
    assert outcome.stdout == ""
    assert (f"Invalid value for '{option}': cannot write /nonexistent/dir/report: "
            "directory /nonexistent/dir does not exist") in outcome.stderr
    directory = migcheck(["ci", CI, option, "tests"], monkeypatch)
    assert directory.exit_code == 2 and "is a directory" in directory.stderr


def test_export_output_is_checked_before_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(["export", "--promela", AIO, "--mode", "SYNC", "-o",
                        "/nonexistent/dir/model.pml"], monkeypatch)
    assert outcome.exit_code == 2
    assert "directory /nonexistent/dir does not exist" in outcome.stderr


def test_a_report_that_fails_to_write_after_the_run_is_exit_2(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    # /dev/full passes the check before the run (it exists and is writable) and then fails
    outcome = migcheck(["ci", f"{CI}/batch_abba.mig", "--junit", "/dev/full"], monkeypatch)
    assert outcome.exit_code == 2
    assert outcome.stderr == ("migcheck: error: cannot write the JUnit report to /dev/full: "
                              "No space left on device\n")
