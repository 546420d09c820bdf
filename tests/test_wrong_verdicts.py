"""Wrong verdicts that every engine shared: each spec here once got a verdict the kernel
semantics contradicts.  Each test pins the exact set of violated properties per mode, for the
explicit engine (with and without partial-order reduction) and for z3.
"""

from __future__ import annotations

import pytest

from checker.engines.blocking import blocking_tables, stuck_for_ever
from checker.engines.budget import Budget
from checker.engines.explicit import search as explicit
from checker.engines.z3 import engine as z3engine
from checker.result import ModeResult, Verdict
from model.kinds import ALL_MODES, Mode, Property
from model.span import Span
from model.ts import (
    TRUE,
    Step,
    StepKind,
    Thread,
    ThreadRole,
    Transition,
    TransitionSystem,
    Variable,
    VarRole,
    const,
)
from tests.semantics_helpers import system_of

PER_PAGE_MODES = (Mode.ASYNC, Mode.SYNC_LIGHT, Mode.SYNC)

WRITEBACK_ENDED_BY_ANOTHER = """
spec wb_completion
source "test"
lock l : mutex
param contents = none
callback { return OK }
actor submit on page 0 { start writeback; lock l; unlock l }
actor fsync on page 0 { lock l; wait writeback; unlock l }
actor completion on page 0 { await writeback; end writeback }
"""

CALLER_HOLDS_A_LOCK = """
spec caller_release
source "test"
lock l : mutex
param contents = none
caller holds l
actor user on page 0 { lock l; unlock l }
callback { return OK }
"""

WRITEBACK_ENDED_UNDER_A_HELD_LOCK = """
spec wb_abba
source "test"
lock l : mutex
param contents = none
callback { return OK }
actor submit on page 0 { start writeback; lock l; end writeback; unlock l }
actor fsync on page 0 { lock l; wait writeback; unlock l }
"""


def _results(text: str, mode: Mode, **params: object) -> list[ModeResult]:
    system = system_of(text, mode, **params)
    budget = Budget(max_states=200_000, timeout=60)
    return [
        explicit.check(system, budget),
        explicit.check(system, budget, reduce=False),
        z3engine.check(system, budget),
    ]


def _expect(text: str, expected: dict[Mode, set[Property]], **params: object) -> None:
    for mode in ALL_MODES:
        for result in _results(text, mode, **params):
            assert result.verdict is not Verdict.UNKNOWN, (result.engine, mode, result.reason)
            assert set(result.violated()) == expected[mode], (result.engine, mode)


# A callback that returns 0 without migrating state is a copy-order violation in SYNC_NO_COPY
# only; the per-page modes have nothing to report about it.
ONLY_NO_COPY = {mode: set() for mode in PER_PAGE_MODES} | {Mode.SYNC_NO_COPY: {Property.COPY_ORDER}}


def test_writeback_ended_by_another_thread_is_no_deadlock() -> None:
    # fsync holds l and waits for writeback that submit set; submit waits for l; but the bio
    # completion ends writeback, whoever set it, so every execution finishes.
    _expect(WRITEBACK_ENDED_BY_ANOTHER, ONLY_NO_COPY)


def test_writeback_only_the_setter_ends_is_still_a_deadlock() -> None:
    expected = {mode: {Property.DEADLOCK} for mode in PER_PAGE_MODES}
    expected[Mode.SYNC_NO_COPY] = {Property.DEADLOCK, Property.COPY_ORDER}
    _expect(WRITEBACK_ENDED_UNDER_A_HELD_LOCK, expected)


def test_the_deadlock_names_who_can_end_the_wait() -> None:
    result = explicit.check(system_of(WRITEBACK_ENDED_UNDER_A_HELD_LOCK, Mode.SYNC))
    trace = result.trace_for(Property.DEADLOCK)
    assert trace is not None
    assert set(trace.blocked) == {"submit", "fsync"}
    assert "submit" in trace.message and "fsync" in trace.message


@pytest.mark.parametrize("migrators", [1, 2])
def test_a_caller_held_lock_is_released_when_migrate_pages_returns(migrators: int) -> None:
    _expect(CALLER_HOLDS_A_LOCK, ONLY_NO_COPY, migrators=migrators)


def test_a_lock_leaked_by_a_finished_thread_strands_its_waiter_at_once() -> None:
    # leaker finishes with l held (lock-balance); waiter can never get l: a partial deadlock
    # even while the migrator still runs
    text = """
spec leak
source "test"
lock l : mutex
param contents = none
callback { return OK }
actor leaker on page 0 { lock l }
actor waiter on page 0 { lock l; unlock l }
"""
    expected = {mode: {Property.DEADLOCK, Property.LOCK_BALANCE} for mode in PER_PAGE_MODES}
    expected[Mode.SYNC_NO_COPY] = {Property.DEADLOCK, Property.LOCK_BALANCE, Property.COPY_ORDER}
    _expect(text, expected)


def _owner_system(update: int) -> TransitionSystem:
    """Two threads and one owner variable; thread 1 sets the owner to ``update`` unguarded."""
    step = Step(StepKind.CORE, "set the owner", Span("t", 1, 1, 1, 1))
    variables = (
        Variable("lock", 0, 2, (0,), VarRole.LOCK, owned=True),
        Variable("pc[a]", 0, 2, (0,), VarRole.PC),
        Variable("pc[b]", 0, 2, (0,), VarRole.PC),
    )
    threads = (
        Thread("a", 1, 1, ThreadRole.ACTOR),
        Thread("b", 2, 1, ThreadRole.ACTOR),
    )
    transitions = (Transition(1, 0, 1, TRUE, ((0, const(update)),), step),)
    return TransitionSystem("t", Mode.SYNC, variables, threads, transitions)


def test_an_owner_variable_changed_by_another_thread_is_refused() -> None:
    with pytest.raises(ValueError, match="may own it"):
        blocking_tables(_owner_system(0))


def test_a_stuck_set_needs_every_possible_waker_stuck_too() -> None:
    system = system_of(WRITEBACK_ENDED_BY_ANOTHER, Mode.SYNC)
    tables = blocking_tables(system)
    names = [t.name for t in system.threads]
    # an interleaving where submit and fsync are both blocked while completion can still run
    state = list(v.initial[0] - v.low for v in system.variables)
    for index, variable in enumerate(system.variables):
        if variable.name == "PG_writeback":
            state[index] = 1
        if variable.name == "l":
            state[index] = names.index("fsync") + 1
    for name, at in (("submit", "lock l"), ("fsync", "wait writeback")):
        pc = system.threads[names.index(name)].pc
        state[pc] = system.variables[pc].labels.index(at)
    blocked = [names.index("submit"), names.index("fsync")]
    assert stuck_for_ever(system, tables, state, blocked) == []
    # once completion has finished, nobody can end writeback: both are stuck for ever
    completion = system.threads[names.index("completion")]
    state[completion.pc] = completion.done
    assert stuck_for_ever(system, tables, state, blocked) == sorted(blocked)


def test_and_or_of_integers_are_0_or_1_in_every_engine() -> None:
    # the generated successor function used Python's and/or, which return an operand
    text = """
spec booleans
source "test"
var a : int[0..3] = 2
var b : int[0..3] = 3
var r : int[0..3] = 0
var s : int[0..3] = 0
callback {
  r = a && b
  s = a || b
  assert r == 1 && s == 1, "booleans are 0 or 1"
  move_mapping
  if mode == SYNC_NO_COPY { copy_states } else { copy }
  return OK
}
"""
    expected = {mode: set() for mode in ALL_MODES}
    _expect(text, expected)
