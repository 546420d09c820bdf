"""The engines behind one interface, chosen by name: ``explicit``, ``z3``, or ``both``.

``both`` runs the two engines and insists that they agree on every verdict; a disagreement is
a bug in migcheck, raised as :class:`EngineDisagreement`, never reported as a verdict.
"""

from __future__ import annotations

from collections.abc import Callable

from checker import explicit
from checker.budget import Budget
from checker.result import ModeResult
from model.ts import TransitionSystem

Engine = Callable[[TransitionSystem, Budget], ModeResult]
ENGINE_NAMES = ("explicit", "z3", "both")


class EngineDisagreement(Exception):
    """The explicit and z3 engines gave different verdicts: a bug in migcheck."""


def explicit_engine(system: TransitionSystem, budget: Budget) -> ModeResult:
    return explicit.check(system, budget)


def z3_engine(system: TransitionSystem, budget: Budget) -> ModeResult:
    from checker import z3engine  # the one module that imports z3; loaded only when asked for

    return z3engine.check(system, budget)


def both_engines(system: TransitionSystem, budget: Budget) -> ModeResult:
    """Run both engines; return the explicit result when they agree."""
    first = explicit_engine(system, budget)
    second = z3_engine(system, budget)
    if _signature(first) != _signature(second) and "unknown" not in (
        first.verdict.value, second.verdict.value
    ):
        raise EngineDisagreement(
            f"internal error: the engines disagree on {system.name} in {system.mode.value}: "
            f"explicit says {_describe(first)}, z3 says {_describe(second)}. "
            "This is a bug in migcheck; please report it with the spec."
        )
    return first


def _signature(result: ModeResult) -> tuple[object, ...]:
    return (result.verdict, frozenset(result.violated()), frozenset(result.refused_with))


def _describe(result: ModeResult) -> str:
    violated = ", ".join(p.value for p in result.violated())
    extra = f" ({violated})" if violated else ""
    return f"{result.verdict.value}{extra}"


def get_engine(name: str) -> Engine:
    engines: dict[str, Engine] = {
        "explicit": explicit_engine,
        "z3": z3_engine,
        "both": both_engines,
    }
    return engines[name]
