"""The z3 engine on hand-built transition systems: traces replay, deadlocks (global and a
cycle while another thread keeps running), location checks, and unknown on a tiny budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.cli import main
from checker.engines.budget import Budget
from checker.engines.explicit import search as explicit
from checker.engines.z3 import engine as z3engine
from checker.result import ModeResult, Verdict
from checker.trace import Ending, replay
from model.compiler.build import DONE, SystemBuilder
from model.kinds import Mode, Property, ReturnCode
from model.ts import (
    FALSE,
    TRUE,
    Check,
    Step,
    StepKind,
    ThreadRole,
    TransitionSystem,
    VarRole,
    Wait,
    const,
    eq,
    ite,
    sub,
    var,
)

BUDGET = Budget(timeout=30)
ROOT = Path(__file__).resolve().parent.parent


def _step(text: str) -> Step:
    return Step(StepKind.CORE, text)


def _signature(result: ModeResult) -> tuple[object, ...]:
    return (result.verdict, frozenset(result.violated()), frozenset(result.refused_with))


def _both(system: TransitionSystem) -> ModeResult:
    reference = explicit.check(system, Budget())
    result = z3engine.check(system, BUDGET)
    assert result.engine == "z3"
    assert _signature(result) == _signature(reference)
    for prop in result.violated():
        ours, theirs = result.trace_for(prop), reference.trace_for(prop)
        assert ours is not None and theirs is not None
        assert len(ours.steps) == len(theirs.steps), "z3 traces are shortest too"
    return result


def global_deadlock() -> TransitionSystem:
    """One thread whose only step can never fire."""
    system = SystemBuilder("stuck", Mode.SYNC)
    thread = system.thread("migrator", ThreadRole.MIGRATOR)
    thread.add(0, DONE, FALSE, (), _step("never"))
    return system.build()


def abba_with_bystander() -> TransitionSystem:
    """Two threads take two locks in opposite orders while a third loops for ever."""
    system = SystemBuilder("abba", Mode.SYNC)
    first = system.thread("first", ThreadRole.MIGRATOR)
    second = system.thread("second", ThreadRole.ACTOR)
    bystander = system.thread("bystander", ThreadRole.ACTOR)
    a = system.owner_variable("lock a")
    b = system.owner_variable("lock b")
    toggle = system.variable("toggle", 0, 1, (0,), VarRole.SPEC)
    for thread, one, two in ((first, a, b), (second, b, a)):
        middle = thread.location("holding one")
        last = thread.location("holding both")
        me = const(thread.me)
        thread.add(0, middle, eq(var(one), const(0)), ((one, me),), _step("lock one"),
                   waits=(Wait("one", var(one)),))
        thread.add(middle, last, eq(var(two), const(0)), ((two, me),), _step("lock two"),
                   waits=(Wait("two", var(two)),))
        release = tuple((lock, ite(eq(var(lock), me), const(0), var(lock))) for lock in (one, two))
        thread.add(last, DONE, TRUE, release, _step("unlock both"))
    bystander.add(0, 0, TRUE, ((toggle, sub(const(1), var(toggle))),), _step("spin"))
    return system.build()


def location_fault() -> TransitionSystem:
    """A flag set nondeterministically; arriving at a location with it set is the fault."""
    system = SystemBuilder("location", Mode.SYNC)
    thread = system.thread("migrator", ThreadRole.MIGRATOR)
    flag = system.variable("flag", 0, 1, (0, 1), VarRole.SPEC)
    counter = system.variable("counter", 0, 3, (0,), VarRole.SPEC)
    there = thread.location("there")
    thread.add(0, there, TRUE, ((counter, const(1)),), _step("go"))
    thread.add(there, DONE, TRUE, (), _step("return"), returns=ReturnCode.OK)
    thread.check_at(there, Check(Property.ASSERTION, eq(var(flag), const(1)), "flag set"),
                    _step("there"))
    return system.build()


def refusing() -> TransitionSystem:
    system = SystemBuilder("refusing", Mode.SYNC_NO_COPY)
    thread = system.thread("migrator", ThreadRole.MIGRATOR)
    thread.add(0, DONE, TRUE, (), _step("return EINVAL"), returns=ReturnCode.EINVAL)
    return system.build()


def test_global_deadlock() -> None:
    result = _both(global_deadlock())
    trace = result.trace_for(Property.DEADLOCK)
    assert trace is not None and trace.blocked == ("migrator",) and not trace.cycle


def test_partial_deadlock_while_a_thread_runs() -> None:
    result = _both(abba_with_bystander())
    trace = result.trace_for(Property.DEADLOCK)
    assert trace is not None
    assert {edge.waiter for edge in trace.cycle} == {"first", "second"}
    assert "bystander" not in trace.blocked
    assert len(trace.steps) == 2


def test_location_check_and_trace_replays() -> None:
    system = location_fault()
    result = _both(system)
    trace = result.trace_for(Property.ASSERTION)
    assert trace is not None and trace.message == "flag set"
    assert trace.initial == (("flag", "1"),)
    again = replay(system, (1, 0, 0), [step.transition for step in trace.steps],
                   Ending(Property.ASSERTION, trace.message, None))
    assert again.steps == trace.steps


def test_refuses_like_explicit() -> None:
    result = _both(refusing())
    assert result.verdict is Verdict.REFUSES and result.refused_with == (ReturnCode.EINVAL,)


def test_holds_is_proved() -> None:
    system = SystemBuilder("fine", Mode.SYNC)
    thread = system.thread("migrator", ThreadRole.MIGRATOR)
    thread.add(0, DONE, TRUE, (), _step("return OK"), returns=ReturnCode.OK)
    assert _both(system.build()).verdict is Verdict.HOLDS


def test_tiny_budget_is_unknown_never_holds() -> None:
    system = abba_with_bystander()
    result = z3engine.check(system, Budget(timeout=1e-6))
    assert result.verdict is Verdict.UNKNOWN
    assert "time budget" in result.reason


def test_same_answer_every_run() -> None:
    system = abba_with_bystander()
    first = z3engine.check(system, BUDGET)
    second = z3engine.check(system, BUDGET)
    assert first.properties == second.properties


def test_session_scope_pops() -> None:
    session = z3engine.Session(deadline=float("inf"))
    with session.scope() as solver:
        solver.add(False)
        assert session.check().outcome is z3engine.Outcome.UNSAT
    assert session.check().outcome is z3engine.Outcome.SAT


@pytest.mark.skipif(not (ROOT / "specs/bad/aio_no_copy_guard.mig").exists(),
                    reason="bad aio spec not in the corpus yet")
def test_cli_prints_a_replayed_z3_trace() -> None:
    runner = CliRunner()
    outcome = runner.invoke(main, ["check", str(ROOT / "specs/bad/aio_no_copy_guard.mig"),
                                   "--engine", "z3", "--mode", "SYNC_NO_COPY", "--trace",
                                   "--timeout", "60"])
    assert outcome.exit_code == 1, outcome.output
    assert "lost-update violated" in outcome.output
    assert "DMA copy" in outcome.output
