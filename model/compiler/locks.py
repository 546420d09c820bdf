"""Lock instances and how taking, trying and releasing them reads as guards and updates.

Exclusive locks (spinlock, mutex, bit lock, page lock PG_locked, buffer-head lock BH_Lock) keep
one owner variable: 0 when free, else the owner's thread index plus one.

Reader-writer locks keep one variable per thread: 0 none, 1 read-held, 2 write-held, 3 queued
for write.  rw_semaphores are writer-fair (kernel/locking/rwsem-xadd.c: once a writer waits,
new readers queue behind it): a writer first queues (3), and readers may not enter while any
writer holds or waits.  Spinning rwlocks (qrwlock) are modelled without the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.kinds import LockKind
from model.ts import (
    FALSE,
    TRUE,
    Expr,
    Wait,
    and_,
    const,
    eq,
    ite,
    ne,
    not_,
    or_,
    var,
)

FREE = 0
READ = 1
WRITE = 2
QUEUED = 3


@dataclass(frozen=True, slots=True)
class Acquire:
    """How to take a lock: when it may be taken, what changes, and who a waiter waits for.

    ``queue`` is set for a writer-fair write side: a first step that queues the writer.
    """

    guard: Expr
    updates: tuple[tuple[int, Expr], ...]
    waits: tuple[Wait, ...]
    queue: tuple[tuple[int, Expr], ...] = ()
    try_guard: Expr = TRUE


@dataclass(frozen=True, slots=True)
class ExclusiveLock:
    name: str
    kind: LockKind
    owner: int

    def held_by(self, me: int) -> Expr:
        return eq(var(self.owner), const(me))

    def holder(self) -> Expr:
        return var(self.owner)

    def acquire(self, me: int, write: bool = True) -> Acquire:
        free = eq(var(self.owner), const(FREE))
        return Acquire(
            free, ((self.owner, const(me)),), (Wait(self.name, var(self.owner)),), try_guard=free
        )

    def release(self, me: int) -> tuple[tuple[int, Expr], ...]:
        held = self.held_by(me)
        return ((self.owner, ite(held, const(FREE), var(self.owner))),)


@dataclass(frozen=True, slots=True)
class ReaderWriterLock:
    name: str
    kind: LockKind
    sides: tuple[int, ...]  # one variable per thread, indexed by thread

    @property
    def fair(self) -> bool:
        return self.kind is LockKind.RWSEM

    def held_by(self, me: int) -> Expr:
        side = var(self.sides[me - 1])
        return or_(eq(side, const(READ)), eq(side, const(WRITE)))

    def acquire(self, me: int, write: bool = True) -> Acquire:
        mine = self.sides[me - 1]
        others = [(t, side) for t, side in enumerate(self.sides) if side != mine]
        if not write:
            blocking = (WRITE, QUEUED) if self.fair else (WRITE,)
            guard = and_(*(_not_in(side, blocking) for _, side in others))
            waits = tuple(
                Wait(f"{self.name} (write side)", _holder_if(side, t, blocking))
                for t, side in others
            )
            try_guard = and_(*(_not_in(side, (WRITE, QUEUED)) for _, side in others))
            return Acquire(guard, ((mine, const(READ)),), waits, try_guard=try_guard)
        holding = (READ, WRITE)
        guard = and_(*(_not_in(side, holding) for _, side in others))
        waits = tuple(Wait(self.name, _holder_if(side, t, holding)) for t, side in others)
        try_guard = and_(*(eq(var(side), const(FREE)) for _, side in others))
        queue = ((mine, const(QUEUED)),) if self.fair else ()
        return Acquire(guard, ((mine, const(WRITE)),), waits, queue, try_guard)

    def release(self, me: int) -> tuple[tuple[int, Expr], ...]:
        return ((self.sides[me - 1], const(FREE)),)


def _not_in(side: int, values: tuple[int, ...]) -> Expr:
    return and_(*(ne(var(side), const(v)) for v in values))


def _holder_if(side: int, thread: int, values: tuple[int, ...]) -> Expr:
    inside = or_(*(eq(var(side), const(v)) for v in values)) if values else FALSE
    return ite(inside, const(thread + 1), const(0))


LockInstance = ExclusiveLock | ReaderWriterLock


def holds_any(locks: list[LockInstance], me: int) -> Expr:
    return or_(*(lock.held_by(me) for lock in locks))


def holds_none(locks: list[LockInstance], me: int) -> Expr:
    return not_(holds_any(locks, me))
