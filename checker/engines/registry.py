"""The engines behind one interface, chosen by name: ``explicit``, ``z3``, or ``both``.

``both`` runs the two engines and insists that they agree on every verdict; a disagreement is
a bug in migcheck, raised as :class:`EngineDisagreement`, never reported as a verdict.
"""

from __future__ import annotations

from typing import Protocol

from checker.engines.budget import Budget
from checker.engines.explicit import search as explicit
from checker.engines.explicit.search import Progress
from checker.result import ModeResult
from model.ts import TransitionSystem

ENGINE_NAMES = ("explicit", "z3", "both")


class Engine(Protocol):
    """Check one transition system within a budget.

    ``progress``, when given, is called now and then with the statistics so far; an engine that
    cannot tell (z3) never calls it.
    """

    def __call__(
        self, system: TransitionSystem, budget: Budget, progress: Progress | None = None
    ) -> ModeResult: ...


class EngineDisagreement(Exception):
    """The explicit and z3 engines gave different verdicts: a bug in migcheck."""


def explicit_engine(
    system: TransitionSystem, budget: Budget, progress: Progress | None = None
) -> ModeResult:
    return explicit.check(system, budget, progress=progress)


def z3_engine(
    system: TransitionSystem, budget: Budget, progress: Progress | None = None
) -> ModeResult:
    from checker.engines.z3 import (
        engine as z3engine,  # the one module that imports z3; loaded only when asked for
    )

    return z3engine.check(system, budget)


def both_engines(
    system: TransitionSystem, budget: Budget, progress: Progress | None = None
) -> ModeResult:
    """Run both engines; return the explicit result when they agree."""
    first = explicit_engine(system, budget, progress)
    second = z3_engine(system, budget)
    if _signature(first) != _signature(second) and "unknown" not in (
        first.verdict.value, second.verdict.value
    ):
        raise EngineDisagreement(
            f"the engines disagree on {system.name} in {system.mode.value}: "
            f"explicit says {_describe(first)}, z3 says {_describe(second)}"
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
