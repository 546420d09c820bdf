"""Builders that assemble a :class:`model.ts.TransitionSystem` piece by piece.

The compiler creates every thread first (so lock owners can be labelled with thread names),
then the variables, then each thread's code as locations and transitions.  Location 0 of every
thread is its entry and location 1 its finished state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.kinds import Mode, ReturnCode
from model.ts import (
    Check,
    Expr,
    LocationCheck,
    Step,
    Thread,
    ThreadRole,
    Transition,
    TransitionSystem,
    Variable,
    VarRole,
    Wait,
)

ENTRY = 0
DONE = 1


@dataclass(slots=True)
class ThreadBuilder:
    """The code of one thread: numbered locations and the transitions between them."""

    index: int
    name: str
    role: ThreadRole
    system: SystemBuilder
    location_names: list[str] = field(default_factory=lambda: ["start", "finished"])
    entry: int = ENTRY

    @property
    def me(self) -> int:
        """The value a lock-owner variable holds when this thread owns the lock."""
        return self.index + 1

    def location(self, name: str) -> int:
        self.location_names.append(name)
        return len(self.location_names) - 1

    def add(
        self,
        source: int,
        target: int,
        guard: Expr,
        updates: tuple[tuple[int, Expr], ...],
        step: Step,
        checks: tuple[Check, ...] = (),
        waits: tuple[Wait, ...] = (),
        returns: ReturnCode | None = None,
    ) -> None:
        self.system.transitions.append(
            Transition(self.index, source, target, guard, updates, step, checks, waits, returns)
        )

    def check_at(self, location: int, check: Check, step: Step) -> None:
        self.system.location_checks.append(LocationCheck(self.index, location, check, step))


@dataclass(slots=True)
class SystemBuilder:
    name: str
    mode: Mode
    variables: list[Variable] = field(default_factory=list)
    threads: list[ThreadBuilder] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    location_checks: list[LocationCheck] = field(default_factory=list)

    def thread(self, name: str, role: ThreadRole) -> ThreadBuilder:
        builder = ThreadBuilder(len(self.threads), name, role, self)
        self.threads.append(builder)
        return builder

    def owner_labels(self) -> tuple[str, ...]:
        """Labels of a lock-owner variable: 'free', then each thread's name."""
        return ("free",) + tuple(t.name for t in self.threads)

    def variable(
        self,
        name: str,
        low: int,
        high: int,
        initial: tuple[int, ...],
        role: VarRole,
        labels: tuple[str, ...] = (),
        owned: bool = False,
    ) -> int:
        self.variables.append(Variable(name, low, high, initial, role, labels, owned))
        return len(self.variables) - 1

    def owner_variable(self, name: str) -> int:
        """A lock owner: 0 free, else the owning thread's index plus one."""
        return self.variable(
            name, 0, len(self.threads), (0,), VarRole.LOCK, self.owner_labels(), owned=True
        )

    def build(self) -> TransitionSystem:
        variables = list(self.variables)
        threads: list[Thread] = []
        for builder in self.threads:
            labels = tuple(builder.location_names)
            variables.append(
                Variable(
                    f"pc[{builder.name}]", 0, len(labels) - 1, (builder.entry,), VarRole.PC, labels
                )
            )
            threads.append(Thread(builder.name, len(variables) - 1, DONE, builder.role))
        return TransitionSystem(
            self.name,
            self.mode,
            tuple(variables),
            tuple(threads),
            tuple(self.transitions),
            tuple(self.location_checks),
        )
