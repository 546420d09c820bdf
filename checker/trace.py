"""Build counterexample traces by replaying transitions through the reference semantics.

Every engine reports a counterexample as an initial state and a list of transition indices.
:func:`replay` re-executes them with :func:`model.ts.evaluate` (an evaluator independent of the
explicit engine's generated code and of z3), checking at each step that the transition belongs
to a thread at its source location and that its guard holds; a trace that does not replay is an
internal error (:class:`ReplayError`), never output.
"""

from __future__ import annotations

from dataclasses import dataclass

from checker.result import Change, Trace, TraceStep, WaitEdge
from model.kinds import Property
from model.span import Span
from model.ts import State, TransitionSystem, VarRole, evaluate, variables_of


class ReplayError(Exception):
    """A counterexample that the reference semantics does not accept: a bug in an engine."""


@dataclass(frozen=True, slots=True)
class Ending:
    """How a counterexample ends: the property, its message, where in the spec, and (for a
    deadlock) the wait-for cycle as (waiter, resource, holder, span), the threads stuck for
    ever, and whether other threads can still run (``partial``)."""

    property: Property
    message: str
    span: Span | None
    cycle: tuple[tuple[int, str, int, Span | None], ...] = ()
    blocked: tuple[int, ...] = ()
    partial: bool = False


def step_state(system: TransitionSystem, state: State, index: int) -> State:
    """The state after transition ``index`` fires in ``state``; raises if it cannot fire."""
    transition = system.transitions[index]
    thread = system.threads[transition.thread]
    if state[thread.pc] != transition.source:
        raise ReplayError(
            f"transition {index} ({transition.step.text}) of {thread.name} fired away from its "
            f"location"
        )
    if not evaluate(transition.guard, state):
        raise ReplayError(f"transition {index} ({transition.step.text}) fired with a false guard")
    values = list(state)
    for target, expr in transition.updates:
        values[target] = evaluate(expr, state)
    values[thread.pc] = transition.target
    for variable, value in zip(system.variables, values, strict=True):
        if not variable.low <= value <= variable.high:
            raise ReplayError(f"transition {index} puts {variable.name} out of range ({value})")
    return tuple(values)


def replay(
    system: TransitionSystem,
    initial: State,
    path: list[int],
    ending: Ending,
    expected: list[State] | None = None,
) -> Trace:
    """Replay ``path`` from ``initial`` into a :class:`Trace`.

    ``expected``, when given, lists the states the engine claims the path visits (after each
    step; it may stop short of the last steps); a mismatch raises :class:`ReplayError`.
    """
    state = initial
    steps: list[TraceStep] = []
    for position, index in enumerate(path):
        after = step_state(system, state, index)
        if expected is not None and position < len(expected) and expected[position] != after:
            raise ReplayError(f"step {position + 1} reaches a different state than the engine's")
        transition = system.transitions[index]
        changes = tuple(
            Change(variable.name, variable.show(before), variable.show(now))
            for variable, before, now in zip(system.variables, state, after, strict=True)
            if before != now and variable.role is not VarRole.PC
        )
        steps.append(
            TraceStep(
                system.threads[transition.thread].name,
                transition.step.text,
                transition.step.span,
                changes,
                index,
            )
        )
        state = after
    initial_view = tuple(
        (variable.name, variable.show(value))
        for variable, value in zip(system.variables, initial, strict=True)
        if variable.role is not VarRole.PC
        and (len(variable.initial) > 1 or (variable.role is VarRole.LOCK and value != 0))
    )
    names = [thread.name for thread in system.threads]
    return Trace(
        ending.property,
        ending.message,
        initial_view,
        tuple(steps),
        ending.span,
        tuple(
            WaitEdge(names[w], resource, names[h], span, _queued(system, state, w, resource, h))
            for w, resource, h, span in ending.cycle
        ),
        tuple(names[b] for b in ending.blocked),
        ending.partial,
    )


def _queued(system: TransitionSystem, state: State, waiter: int, resource: str,
            holder: int) -> bool:
    """Whether ``holder`` does not hold ``resource`` but is queued for it in ``state``: the
    lock variable that names it as the one waited for shows it queued (a writer on a
    writer-fair rw_semaphore, which new readers wait behind)."""
    location = state[system.threads[waiter].pc]
    for transition in system.transitions_from(waiter, location):
        for wait in transition.waits:
            if wait.resource != resource or evaluate(wait.holder, state) != holder + 1:
                continue
            for index in variables_of(wait.holder):
                variable = system.variables[index]
                if variable.role is VarRole.LOCK and variable.show(state[index]).startswith(
                    "queued"
                ):
                    return True
    return False
