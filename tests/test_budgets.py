"""Budgets: rejected when meaningless, looked at often enough to stop a run near its limit, and
counting the initial states too (docs/properties.md, "Budgets")."""

from __future__ import annotations

import resource
import subprocess
import sys
import time

import pytest

from checker.engines.budget import Budget
from checker.engines.explicit import search
from checker.run import Overrides, instance_params, load_spec
from model.compiler.system import compile_system
from model.kinds import Mode
from tests.cli_helpers import ROOT, migcheck

MANY = "tests/data/budget/many_any.mig"  # twelve `var : int[0..255] = any`


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0"])
@pytest.mark.parametrize("command", ["check", "ci", "trace --mode SYNC"])
def test_a_meaningless_timeout_is_a_usage_error(value: str, command: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"{command} tests/data/ci/batch_abba.mig --timeout={value}", monkeypatch)
    assert outcome.exit_code == 2
    assert "is not a positive, finite number of seconds" in outcome.stderr


def _limited(*args: str, seconds: float) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run migcheck in a child with 2 GiB of address space, killed after ``seconds``."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "checker.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=seconds, preexec_fn=limit, check=False)
    return done, time.monotonic() - started


def test_initial_states_count_against_the_state_budget() -> None:
    done, elapsed = _limited("check", MANY, "--mode", "SYNC", "--timeout", "60",
                             "--max-states", "5000", seconds=60)
    assert done.returncode == 3, done.stderr
    assert "SYNC: unknown: state budget of 5000 states ran out" in done.stdout
    assert elapsed < 30


def test_initial_states_are_under_the_clock() -> None:
    done, elapsed = _limited("check", MANY, "--mode", "SYNC", "--timeout", "1",
                             "--max-states", "1000000000", seconds=60)
    assert done.returncode == 3, done.stderr
    assert "SYNC: unknown: time budget of 1 s ran out" in done.stdout
    assert elapsed < 20


class _Clock:
    """A clock that moves one second every time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_clock_is_read_every_64_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first look at the clock after the start stops the search: within 64 states added
    or expanded (it used to be 2,048 states added)."""
    spec = load_spec(ROOT / "specs/aio.mig", "specs/aio.mig").spec
    system = compile_system(spec, Mode.SYNC, instance_params(spec, Overrides()))
    monkeypatch.setattr(search.time, "monotonic", _Clock())
    result = search.check(system, Budget(timeout=0.5))
    assert result.reason == "time budget of 0.5 s ran out"
    assert result.statistics.states <= 64


def test_no_budget_check_costs_a_state() -> None:
    """The budgets do not change what a complete search explores."""
    spec = load_spec(ROOT / "specs/aio.mig", "specs/aio.mig").spec
    system = compile_system(spec, Mode.SYNC, instance_params(spec, Overrides()))
    unlimited = search.check(system, Budget(max_states=None))
    total = unlimited.statistics.states
    assert unlimited.reason == "" and total > 10_000
    limited = search.check(system, Budget(timeout=600.0, max_memory_mb=1 << 20))
    assert limited.reason == "" and limited.statistics.states == total
    exact = search.check(system, Budget(max_states=total))
    assert exact.reason == "" and exact.statistics.states == total
    short = search.check(system, Budget(max_states=total - 1))
    assert short.reason == f"state budget of {total - 1} states ran out"
