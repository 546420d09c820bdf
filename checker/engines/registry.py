"""The engines behind one interface, chosen by name: ``explicit``, ``z3``, or ``both``.

``both`` runs the two engines and insists that they agree wherever both answered: on every
property both decided, and on the return codes when both runs were complete.  What was compared
is kept in the result (:class:`checker.result.CrossCheck`).  A disagreement is a bug in
migcheck, raised as :class:`EngineDisagreement`, never reported as a verdict.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from checker.engines.budget import Budget
from checker.engines.explicit import search as explicit
from checker.engines.explicit.search import Progress
from checker.result import CrossCheck, ModeResult, Verdict
from model.kinds import ALL_PROPERTIES, Property
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
    """Run both engines; return the explicit result, with what z3 confirmed, when they agree."""
    first = explicit_engine(system, budget, progress)
    second = z3_engine(system, budget)
    check = cross_check(first, second)
    disagree = [
        prop.value for prop in check.compared
        if _verdict_of(first, prop) is not _verdict_of(second, prop)
    ]
    codes_differ = check.codes_compared and _codes(first) != _codes(second)
    if disagree or codes_differ:
        what = ", ".join(disagree) if disagree else "the return codes"
        raise EngineDisagreement(
            f"the engines disagree on {system.name} in {system.mode.value} about {what}: "
            f"explicit says {_describe(first)}, z3 says {_describe(second)}"
        )
    return replace(first, cross_check=check)


def cross_check(first: ModeResult, second: ModeResult) -> CrossCheck:
    """What two results can be compared on: each property that both decided (an engine may
    leave some undecided — a budget, or z3 settling only part of a mode), and the return codes
    only when both runs were complete without a violation (HOLDS or REFUSES): a search that
    stopped early, at a budget or once every property was violated, has not seen every return.
    """
    compared = tuple(
        prop for prop in ALL_PROPERTIES
        if _decided(_verdict_of(first, prop)) and _decided(_verdict_of(second, prop))
    )
    complete = (Verdict.HOLDS, Verdict.REFUSES)
    return CrossCheck(
        engine=second.engine,
        verdict=second.verdict,
        compared=compared,
        not_compared=tuple(prop for prop in ALL_PROPERTIES if prop not in compared),
        codes_compared=first.verdict in complete and second.verdict in complete,
        seconds=second.statistics.seconds,
    )


def _verdict_of(result: ModeResult, prop: Property) -> Verdict:
    for judged in result.properties:
        if judged.property is prop:
            return judged.verdict
    return Verdict.UNKNOWN


def _decided(verdict: Verdict) -> bool:
    return verdict in (Verdict.HOLDS, Verdict.VIOLATED)


def _codes(result: ModeResult) -> tuple[object, ...]:
    return (result.verdict, frozenset(result.refused_with))


def _describe(result: ModeResult) -> str:
    parts = [f"{p.property.value} {p.verdict.value}" for p in result.properties]
    codes = ", ".join(code.name for code in result.refused_with)
    extra = f", refuses {codes}" if codes else ""
    return f"{result.verdict.value} ({'; '.join(parts)}{extra})"


def get_engine(name: str) -> Engine:
    engines: dict[str, Engine] = {
        "explicit": explicit_engine,
        "z3": z3_engine,
        "both": both_engines,
    }
    return engines[name]
