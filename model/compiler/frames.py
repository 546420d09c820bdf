"""Where a body is compiled: the frame of a statement (its thread, page, role, the mode its
code sees, loops, the caller) — the context every step compiler reads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from model.compiler.build import ThreadBuilder
from model.kinds import Mode, ReturnCode
from model.ts import Expr


class Role(Enum):
    """Whose code a statement belongs to: the mode contracts judge the callback and the core,
    not the caller that entered migrate_pages() nor the other kernel paths."""

    CALLBACK = "callback"
    CORE = "core"
    CALLER = "caller"
    ACTOR = "actor"


@dataclass(frozen=True, slots=True)
class Loop:
    """Where ``continue`` and ``break`` go in the innermost loop."""

    next_iteration: int
    exit: int


@dataclass(frozen=True, slots=True)
class CallerChoice:
    """Several callers whose task flags differ: which one called is a private variable of the
    migrator, decided the first time the core tests a flag (value 0: not decided yet; i + 1:
    ``options[i]``), so states stay shared until the difference matters."""

    variable: int
    options: tuple[frozenset[str], ...]
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Frame:
    """Where a body runs: its thread, its page, its role, and for the migrator's code its
    migrator, the mode its code sees (a callback may be called in another mode than the
    migration's, e.g. the ASYNC first try of a batch), the core locations each return code
    continues at, the locks held on entry (the caller's), the innermost loop, and the caller's
    task flags."""

    thread: ThreadBuilder
    page: int
    migrator: int | None
    on_return: dict[ReturnCode, int]
    return_updates: dict[ReturnCode, tuple[tuple[int, Expr], ...]] | None = None
    role: Role = Role.CALLBACK
    mode: Mode | None = None
    held_on_entry: frozenset[str] = frozenset()
    loop: Loop | None = None
    flags: frozenset[str] = frozenset()
    caller: CallerChoice | None = None
    pages: tuple[int, ...] | None = None
    bindings: tuple[tuple[str, str | int], ...] = ()

    def bound(self, name: str) -> str | int | None:
        """The value a procedure parameter is bound to here, if ``name`` is one."""
        return next((value for key, value in self.bindings if key == name), None)

    @property
    def is_callback(self) -> bool:
        return self.role is Role.CALLBACK

    @property
    def is_migrator(self) -> bool:
        """The migrating task's own code: the callback, the core, or its caller."""
        return self.role is not Role.ACTOR

    @property
    def judged(self) -> bool:
        """Code the mode's contract judges (mode-discipline): the callback and the core."""
        return self.role in (Role.CALLBACK, Role.CORE)


def frame_migrator(frame: Frame) -> int:
    if frame.migrator is None:
        raise ValueError("a callback step compiled outside a migrator")
    return frame.migrator

