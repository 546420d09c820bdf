"""``--engine both``: the engines are compared only where both answered, and the result says
what was compared."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from checker.engines import registry
from checker.engines.budget import Budget
from checker.engines.explicit.search import Progress
from checker.result import ModeResult, PropertyResult, Verdict
from model.kinds import ReturnCode
from model.ts import TransitionSystem
from tests.cli_helpers import migcheck

PARTIAL = "tests/data/both/both_partial.mig"


def _z3_unsure_of_lost_update(system: TransitionSystem, budget: Budget,
                              progress: Progress | None = None) -> ModeResult:
    """What z3 answers on PARTIAL within 5 s: the assertion violated, lost-update unknown."""
    found = registry.explicit.check(system, budget)
    properties = tuple(
        PropertyResult(p.property, Verdict.UNKNOWN) if p.property.value == "lost-update"
        else replace(p, trace=None) for p in found.properties
    )
    return replace(found, engine="z3", properties=properties)


def test_a_property_z3_left_unknown_is_not_compared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "z3_engine", _z3_unsure_of_lost_update)
    outcome = migcheck(f"check {PARTIAL} --mode SYNC --engine both", monkeypatch)
    assert outcome.exit_code == 1, outcome.stderr
    assert outcome.stdout.splitlines()[-1] == (
        "SYNC: z3 agrees on 5 of 6 properties (not decided by both: lost-update); return codes "
        "not compared")
    document = json.loads(migcheck(f"check {PARTIAL} --mode SYNC --engine both --format json",
                                   monkeypatch).stdout)
    check = document["specs"][0]["results"][0]["cross_check"]
    assert check.pop("seconds") >= 0
    assert check == {
        "engine": "z3", "verdict": "violated",
        "compared": ["deadlock", "copy-order", "mode-discipline", "lock-balance", "assertion"],
        "not_compared": ["lost-update"], "codes_compared": False,
    }


def test_the_reported_run_is_no_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real z3, as reported; whether it settles lost-update in 5 s depends on the machine,
    so only the count is left open."""
    outcome = migcheck(f"check {PARTIAL} --mode SYNC --engine both --timeout 5", monkeypatch)
    assert outcome.exit_code == 1, outcome.stderr
    assert "internal error" not in outcome.stderr
    assert outcome.stdout.splitlines()[-1].startswith("SYNC: z3 agrees on ")


def test_complete_runs_compare_the_return_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck("check tests/data/ci/aio.mig --mode SYNC_NO_COPY --engine both",
                       monkeypatch)
    assert outcome.exit_code == 0
    assert outcome.stdout.splitlines()[-1] == (
        "SYNC_NO_COPY: z3 agrees on 6 of 6 properties and on the return codes")

    def z3_other_code(system: TransitionSystem, budget: Budget,
                      progress: Progress | None = None) -> ModeResult:
        return replace(registry.explicit.check(system, budget), engine="z3",
                       refused_with=(ReturnCode.EBUSY,))

    monkeypatch.setattr(registry, "z3_engine", z3_other_code)
    outcome = migcheck("check tests/data/ci/aio.mig --mode SYNC_NO_COPY --engine both",
                       monkeypatch)
    assert outcome.exit_code == 4
    assert outcome.stderr.startswith("internal error: the engines disagree on aio_migratepage "
                                     "in SYNC_NO_COPY about the return codes: ")


def test_a_property_both_decided_differently_is_a_disagreement(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def z3_no_assertion(system: TransitionSystem, budget: Budget,
                        progress: Progress | None = None) -> ModeResult:
        found = _z3_unsure_of_lost_update(system, budget)
        properties = tuple(
            PropertyResult(p.property, Verdict.HOLDS) if p.property.value == "assertion" else p
            for p in found.properties)
        return replace(found, properties=properties)

    monkeypatch.setattr(registry, "z3_engine", z3_no_assertion)
    outcome = migcheck(f"check {PARTIAL} --mode SYNC --engine both", monkeypatch)
    assert outcome.exit_code == 4
    assert "about assertion: explicit says violated (" in outcome.stderr
