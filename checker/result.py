"""Results: frozen values an engine returns and renderers read.

A :class:`ModeResult` is the answer for one (spec, mode): a verdict per property, the shortest
counterexample of each violated property, the return codes the callback gave, and statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from model.kinds import Mode, Property, ReturnCode
from model.span import Span


class Verdict(Enum):
    HOLDS = "holds"
    VIOLATED = "violated"
    REFUSES = "refuses"
    UNKNOWN = "unknown"
    ABSENT = "not in this kernel"


@dataclass(frozen=True, slots=True)
class Instance:
    """What a verdict was obtained at: the core (with the choices the spec made of its params),
    the pages and migrators.  A verdict holds for this instance; nothing here claims more."""

    core: str
    kernel: str
    choices: tuple[tuple[str, str], ...]
    pages: int
    migrators: int

    def describe(self) -> str:
        core = self.core
        if self.choices:
            core += " (" + ", ".join(f"{name} = {value}" for name, value in self.choices) + ")"
        pages = f"{self.pages} page" + ("" if self.pages == 1 else "s")
        migrators = f"{self.migrators} migrator" + ("" if self.migrators == 1 else "s")
        return f"core {core}, {pages}, {migrators}"


@dataclass(frozen=True, slots=True)
class Change:
    """One state variable that a step changed, phrased for a person."""

    name: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of a counterexample: which thread did what, where in the spec, what changed."""

    thread: str
    action: str
    span: Span | None
    changes: tuple[Change, ...]
    transition: int


@dataclass(frozen=True, slots=True)
class WaitEdge:
    """In a deadlock: ``waiter`` waits for ``resource``, which ``holder`` holds — or, when
    ``queued``, which ``holder`` only waits for at the head of the queue: a writer queued on a
    writer-fair rw_semaphore, behind which new readers wait without anyone holding the lock."""

    waiter: str
    resource: str
    holder: str
    span: Span | None
    queued: bool = False

    def describe(self) -> str:
        """"waits for R, held by H", or "waits for R, behind H, which is queued for it"."""
        if self.queued:
            return f"waits for {self.resource}, behind {self.holder}, which is queued for it"
        return f"waits for {self.resource}, held by {self.holder}"


@dataclass(frozen=True, slots=True)
class Trace:
    """A counterexample: the steps from the initial state to the violation.

    ``initial`` names every variable's starting value; ``cycle`` is the wait-for cycle of a
    deadlock that has one; ``blocked`` lists, for a deadlock, every thread stuck for ever, and
    ``partial`` tells that other threads could still run.  ``shortest`` is False when a budget
    stopped the search for a shorter trace before it could show this one is shortest.
    """

    property: Property
    message: str
    initial: tuple[tuple[str, str], ...]
    steps: tuple[TraceStep, ...]
    violation_span: Span | None
    cycle: tuple[WaitEdge, ...] = ()
    blocked: tuple[str, ...] = ()
    partial: bool = False
    shortest: bool = True


@dataclass(frozen=True, slots=True)
class PropertyResult:
    property: Property
    verdict: Verdict
    trace: Trace | None = None


@dataclass(frozen=True, slots=True)
class Statistics:
    states: int
    transitions: int
    depth: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Finding:
    """A known departure of the migration core from a contract (``departs`` in the core file),
    seen in this run: reported apart from the spec's verdict, with its trace."""

    property: Property
    reason: str
    trace: Trace


@dataclass(frozen=True, slots=True)
class CrossCheck:
    """What ``--engine both`` compared with a second engine: its name and verdict, the
    properties both engines decided (``compared``, where they agree) and the others, and whether
    the return codes were compared (only when both runs were complete and found no violation),
    and the seconds the second engine took.
    """

    engine: str
    verdict: Verdict
    compared: tuple[Property, ...]
    not_compared: tuple[Property, ...]
    codes_compared: bool
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ModeResult:
    """The verdict for one (spec, mode).

    ``verdict`` is VIOLATED when any property is, else UNKNOWN when a budget ran out, else
    REFUSES when every callback return was an error (``refused_with`` lists the codes), else
    HOLDS.  ``reason`` explains an UNKNOWN.  ``covered`` holds the spec spans of the steps that
    fired in some explored interleaving (engines that cannot tell leave it empty).
    ``cross_check`` says what a second engine confirmed (``--engine both``).
    """

    spec: str
    mode: Mode
    engine: str
    verdict: Verdict
    properties: tuple[PropertyResult, ...]
    refused_with: tuple[ReturnCode, ...]
    statistics: Statistics
    reason: str = ""
    covered: frozenset[Span] = frozenset()
    findings: tuple[Finding, ...] = ()
    instance: Instance | None = None
    cross_check: CrossCheck | None = None

    def violated(self) -> tuple[Property, ...]:
        return tuple(p.property for p in self.properties if p.verdict is Verdict.VIOLATED)

    def trace_for(self, prop: Property) -> Trace | None:
        for result in self.properties:
            if result.property is prop:
                return result.trace
        return None
