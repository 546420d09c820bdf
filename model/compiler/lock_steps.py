"""Compilation of lock statements (lock, trylock, unlock) and the sleep rules every step that
may sleep obeys: the common ground of the body compilers.

Exclusive locks keep an owner (model/compiler/locks.py); an actor's ``page`` follows the
mapping (find_lock_page() re-looks the page up after waking).
"""

from __future__ import annotations

from model.compiler.frames import Frame, frame_migrator
from model.compiler.locks import ExclusiveLock, LockInstance, holds_any
from model.compiler.resources import Resources
from model.kinds import Mode, Property
from model.language import ast
from model.span import Span
from model.ts import (
    TRUE,
    Check,
    Expr,
    Step,
    StepKind,
    Wait,
    and_,
    const,
    eq,
    ite,
    ne,
    not_,
    var,
)


class LockSteps:
    """Locks, sleep checks and the helpers every step compiler uses."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        self.mode = res.mode
        # while a core's loop over pages compiles page N of several: " (page N)"
        self.page_label = ""

    @staticmethod
    def mode_of(frame: Frame, default: Mode) -> Mode:
        """The mode the code of ``frame`` sees."""
        return frame.mode if frame.mode is not None else default

    def block(self, block: ast.Block, next_location: int, frame: Frame) -> int:
        """Compile a block (the body compiler's; declared here for the step compilers)."""
        raise NotImplementedError

    # ------------------------------------------------------------ helpers

    def step(self, kind: StepKind, text: str, span: Span | None) -> Step:
        where = span if span is not None and span.line > 0 else None
        return Step(kind, text + self.page_label, where)

    def new_location(self, frame: Frame, text: str) -> int:
        return frame.thread.location(text)

    def migrating(self, frame: Frame) -> ExclusiveLock:
        """The old page's lock, which the core holds around the callback."""
        return self.res.old_lock[frame.page]

    def state_migrated(self, frame: Frame) -> Expr:
        """The page's state points at this migrator's new page (mapping or a spec pointer)."""
        return self.res.state_migrated(frame_migrator(frame), frame.page)

    def held_locks(self, frame: Frame) -> list[LockInstance]:
        """The locks a callback must have released when it returns (not the caller's)."""
        return [
            lock
            for lock in self.res.locks_of_page(frame.page)
            if lock.name not in frame.held_on_entry
        ]

    def sleep_checks(
        self,
        frame: Frame,
        location: int,
        what: str,
        span: Span,
        writeback_wait: bool = False,
        io_wait: Expr | None = None,
    ) -> None:
        """A sleeping call: forbidden in ASYNC (and writeback waits in SYNC_LIGHT) for the
        migrator, and for everyone while a spinning lock is held.  ``io_wait`` holds when the
        wait is for a lock held across read I/O, which SYNC_LIGHT does not wait for."""
        thread = frame.thread
        step = self.step(StepKind.CORE, what, span)
        mode = self.mode_of(frame, self.mode)
        if frame.judged and mode is Mode.SYNC_LIGHT and io_wait is not None:
            thread.check_at(
                location,
                Check(
                    Property.MODE_DISCIPLINE,
                    io_wait,
                    f"{what} may wait for read I/O in SYNC_LIGHT mode (the page is locked for "
                    "a read and not uptodate)",
                ),
                step,
            )
        if frame.judged and mode is Mode.ASYNC:
            thread.check_at(
                location,
                Check(Property.MODE_DISCIPLINE, TRUE, f"{what} may sleep in ASYNC mode"),
                step,
            )
        if frame.judged and mode is Mode.SYNC_LIGHT and writeback_wait:
            thread.check_at(
                location,
                Check(Property.MODE_DISCIPLINE, TRUE, f"{what} in SYNC_LIGHT mode"),
                step,
            )
        spinning = self.res.spinning_locks_of_page(frame.page)
        if spinning:
            thread.check_at(
                location,
                Check(
                    Property.LOCK_BALANCE,
                    holds_any(spinning, thread.me),
                    f"{what} may sleep while a spinning lock is held",
                ),
                step,
            )

    # ------------------------------------------------------------ locks

    def resolve(self, ref: ast.LockRef, frame: Frame) -> LockInstance | None:
        """The lock a name stands for; None for ``page`` in an actor (it follows the mapping)."""
        if ref.name == "page":
            if not frame.is_migrator:
                return None
            if ref.page is not None:
                return self.res.old_lock[self.page_of(ref, frame)]
            return self.migrating(frame)
        if ref.name == "newpage":
            return self.res.new_lock[(frame_migrator(frame), frame.page)]
        if ref.name == "buffers":
            return self.res.buffers[self.page_of(ref, frame)]
        return self.res.declared_lock(ref.name, frame.page)

    def page_of(self, ref: ast.LockRef, frame: Frame) -> int:
        """The page ``page[N]`` / ``buffers[N]`` names, or the thread's own page."""
        if ref.page is None:
            return frame.page
        if ref.page >= self.res.total_pages:
            raise ValueError(
                f"{ref.span}: {ref.name}[{ref.page}] names a page this instance does not have "
                f"({self.res.total_pages} page(s)): raise --pages or param pages"
            )
        return ref.page

    def mapped_page_locks(
        self, frame: Frame, ref: ast.LockRef | None = None
    ) -> list[tuple[Expr, ExclusiveLock]]:
        """For an actor's ``page``: (condition on the mapping, lock of the page it points at)."""
        page = frame.page if ref is None else self.page_of(ref, frame)
        mapping = var(self.res.mapping[page])
        cases = [(eq(mapping, const(0)), self.res.old_lock[page])]
        for m in self.res.migrators_of(page):
            cases.append((eq(mapping, const(m + 1)), self.res.new_lock[(m, page)]))
        return cases

    def lock(self, stmt: ast.LockStmt, next_location: int, frame: Frame) -> int:
        thread = frame.thread
        me = thread.me
        text = f"lock {stmt.target.name}" + _side(stmt.target)
        entry = self.new_location(frame, text)
        lock = self.resolve(stmt.target, frame)
        step = self.step(StepKind.LOCK, text, stmt.span)
        if lock is None:
            # find_lock_page(): wait for the lock of whichever page the mapping points at now;
            # a waiter that wakes after the switch retries on the new page.
            cases = self.mapped_page_locks(frame, stmt.target)
            holder = _holder_of(cases)
            for cond, page_lock in cases:
                acquire = page_lock.acquire(me)
                thread.add(
                    entry,
                    next_location,
                    and_(cond, acquire.guard),
                    acquire.updates,
                    step,
                    waits=(
                        Wait(
                            f"page lock{self.res.suffix(self.page_of(stmt.target, frame))}", holder
                        ),
                    ),
                )
            self.sleep_checks(frame, entry, text, stmt.span)
            return entry
        write = stmt.target.access is not ast.Access.READ
        acquire = lock.acquire(me, write)
        if lock.kind.sleeps:
            self.sleep_checks(
                frame, entry, text, stmt.span, io_wait=self.read_io_wait(stmt.target, lock, frame)
            )
        if acquire.queue:
            queued = self.new_location(frame, text + " (queued)")
            thread.add(
                queued, next_location, acquire.guard, acquire.updates, step, waits=acquire.waits
            )
            thread.add(
                entry,
                queued,
                TRUE,
                acquire.queue,
                self.step(StepKind.LOCK, f"{text}: queue as a writer", stmt.span),
            )
            return entry
        thread.add(entry, next_location, acquire.guard, acquire.updates, step, waits=acquire.waits)
        return entry

    def read_io_wait(self, ref: ast.LockRef, lock: LockInstance, frame: Frame) -> Expr | None:
        """For a page or buffer lock: it is held by another thread across read I/O."""
        if ref.name not in ("page", "buffers") or not isinstance(lock, ExclusiveLock):
            return None
        page = self.page_of(ref, frame)
        other = and_(ne(var(lock.owner), const(0)), ne(var(lock.owner), const(frame.thread.me)))
        return and_(other, eq(var(self.res.uptodate[page]), const(0)))

    def trylock(self, cond: ast.TryLockCond, success: int, failure: int, frame: Frame) -> int:
        thread = frame.thread
        me = thread.me
        target = cond.target
        text = f"trylock {target.name}" + _side(target)
        entry = self.new_location(frame, text)
        lock = self.resolve(target, frame)
        won = self.step(StepKind.TRYLOCK, f"{text}: taken", cond.span)
        lost = self.step(StepKind.TRYLOCK, f"{text}: busy", cond.span)
        if lock is None:
            for case, page_lock in self.mapped_page_locks(frame, target):
                acquire = page_lock.acquire(me)
                thread.add(entry, success, and_(case, acquire.try_guard), acquire.updates, won)
                thread.add(entry, failure, and_(case, not_(acquire.try_guard)), (), lost)
            return entry
        acquire = lock.acquire(me, target.access is not ast.Access.READ)
        thread.add(entry, success, acquire.try_guard, acquire.updates, won)
        thread.add(entry, failure, not_(acquire.try_guard), (), lost)
        return entry

    def unlock(self, stmt: ast.UnlockStmt, next_location: int, frame: Frame) -> int:
        thread = frame.thread
        me = thread.me
        text = f"unlock {stmt.target.name}"
        entry = self.new_location(frame, text)
        step = self.step(StepKind.UNLOCK, text, stmt.span)
        lock = self.resolve(stmt.target, frame)
        if lock is None:
            locks = [page_lock for _, page_lock in self.mapped_page_locks(frame, stmt.target)]
            updates = tuple(u for page_lock in locks for u in page_lock.release(me))
            held = holds_any(list(locks), me)
        else:
            updates = lock.release(me)
            held = lock.held_by(me)
        check = Check(Property.LOCK_BALANCE, not_(held), f"{text}, which this thread does not hold")
        thread.add(entry, next_location, TRUE, updates, step, checks=(check,))
        return entry

def _holder_of(cases: list[tuple[Expr, ExclusiveLock]]) -> Expr:
    """The holder of whichever page lock the mapping selects, as one expression."""
    result: Expr = const(0)
    for cond, lock in reversed(cases):
        result = ite(cond, lock.holder(), result)
    return result


def _side(ref: ast.LockRef) -> str:
    return "" if ref.access is ast.Access.EXCLUSIVE else f" {ref.access.value}"


