"""Compilation of callback and actor bodies into transitions.

Bodies are compiled backwards: each statement gets the location to continue at and returns its
entry location, so a branch on the mode (known at compile time) costs no step.  Every statement
that touches shared state is one atomic transition; its :class:`model.ts.Step` points at the
statement's span.

The callback is inlined where the core calls it (model/kernel/cores/*.mig, compiled by
model/compiler/core_steps.py); its ``return`` transitions continue where the core goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from model.compiler.build import ThreadBuilder
from model.compiler.locks import ExclusiveLock, LockInstance, holds_any
from model.compiler.resources import Resources
from model.kernel.library import library_body
from model.kinds import Mode, Property, ReturnCode
from model.language import ast
from model.span import Span
from model.ts import (
    FALSE,
    TRUE,
    Check,
    Expr,
    Op,
    Step,
    StepKind,
    Wait,
    add,
    and_,
    const,
    eq,
    ite,
    le,
    lt,
    ne,
    not_,
    or_,
    sub,
    var,
)


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


class BodyCompiler:
    """Compiles statements of one spec into transitions of the threads that run them."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        self.mode = res.mode
        # while a core's loop over pages compiles page N of several: " (page N)"
        self.page_label = ""

    @staticmethod
    def mode_of(frame: Frame, default: Mode) -> Mode:
        """The mode the code of ``frame`` sees."""
        return frame.mode if frame.mode is not None else default

    # ------------------------------------------------------------ entry points

    def block(self, block: ast.Block, next_location: int, frame: Frame) -> int:
        location = next_location
        for statement in reversed(block.statements):
            location = self.statement(statement, location, frame)
        return location

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

    # ------------------------------------------------------------ control flow

    def statement(self, stmt: ast.Stmt, next_location: int, frame: Frame) -> int:
        if isinstance(stmt, ast.LockStmt):
            return self.lock(stmt, next_location, frame)
        if isinstance(stmt, ast.UnlockStmt):
            return self.unlock(stmt, next_location, frame)
        if isinstance(stmt, ast.IfStmt):
            decided = self.decided(stmt.cond, frame)
            if decided is not None:
                # a test of the mode, params or caller: only the branch taken is compiled
                chosen = stmt.then if decided else stmt.other
                return self.block(chosen, next_location, frame) if chosen else next_location
            then = self.block(stmt.then, next_location, frame)
            other = self.block(stmt.other, next_location, frame) if stmt.other else next_location
            return self.condition(stmt.cond, then, other, frame, stmt.span)
        if isinstance(stmt, ast.EitherStmt):
            entry = self.new_location(frame, "either")
            for number, branch in enumerate(stmt.branches, start=1):
                target = self.block(branch, next_location, frame)
                frame.thread.add(
                    entry,
                    target,
                    TRUE,
                    (),
                    self.step(StepKind.BRANCH, f"either: branch {number}", branch.span),
                )
            return entry
        if isinstance(stmt, ast.RepeatStmt):
            count = self.count(stmt.count, frame, stmt.span)
            location = next_location
            for _ in range(count):
                location = self.block(stmt.body, location, frame)
            return location
        if isinstance(stmt, ast.ReturnStmt):
            return self.return_(stmt.code, stmt.span, frame)
        if isinstance(stmt, ast.ReturnCallStmt):
            return self.library_call(stmt, next_location, frame)
        if isinstance(stmt, ast.MoveMappingStmt):
            failure = self.return_(ReturnCode.EAGAIN, stmt.span, frame)
            return self.move_mapping(next_location, failure, frame, stmt.span)
        if isinstance(stmt, ast.CopyStmt):
            return self.copy(stmt, next_location, frame)
        if isinstance(stmt, ast.WriteStmt):
            return self.write(stmt, next_location, frame)
        if isinstance(stmt, ast.RefStmt):
            return self.reference(stmt, next_location, frame)
        if isinstance(stmt, ast.RepointStmt):
            return self.repoint(stmt, next_location, frame)
        if isinstance(stmt, ast.WritebackStmt):
            return self.writeback(stmt, next_location, frame)
        if isinstance(stmt, ast.WritepageStmt):
            return self.writepage(stmt, next_location, frame)
        if isinstance(stmt, ast.ReadStmt):
            return self.read_io(stmt, next_location, frame)
        if isinstance(stmt, ast.AssignStmt):
            return self.assign(stmt, next_location, frame)
        if isinstance(stmt, ast.AwaitStmt):
            return self.await_(stmt, next_location, frame)
        if isinstance(stmt, ast.AssertStmt):
            return self.assertion(stmt, next_location, frame)
        return self.core_statement(stmt, next_location, frame)

    def core_statement(self, stmt: ast.Stmt, next_location: int, frame: Frame) -> int:
        """Statements only a core may hold; the core's compiler handles them."""
        raise ValueError(f"{stmt.span}: this statement belongs in a migration core")

    def decided(self, cond: ast.Cond, frame: Frame) -> bool | None:
        """The value of a condition known when compiling, else None."""
        negated = False
        while isinstance(cond, ast.NotCond):
            negated = not negated
            cond = cond.arg
        if not isinstance(cond, ast.ExprCond):
            return None
        expr = self.expression(cond.expr, frame)
        if expr.op is not Op.CONST:
            return None
        return bool(expr.value) != negated

    def count(self, arg: str | int, frame: Frame, span: object) -> int:
        """How often ``repeat`` runs: a number, or a param's value in this instance (the
        spec's, or the command line's override)."""
        if isinstance(arg, int):
            return arg
        if hasattr(self.res.params, arg):
            return int(getattr(self.res.params, arg))
        raise ValueError(f"{span}: '{arg}' is not a count")

    def condition(self, cond: ast.Cond, then: int, other: int, frame: Frame, span: Span) -> int:
        if isinstance(cond, ast.NotCond):
            return self.condition(cond.arg, other, then, frame, span)
        if isinstance(cond, ast.TryLockCond):
            return self.trylock(cond, then, other, frame)
        if isinstance(cond, ast.MoveMappingCond):
            return self.move_mapping(then, other, frame, cond.span)
        expr = self.expression(cond.expr, frame)
        if expr.op is Op.CONST:
            return then if expr.value else other
        entry = self.new_location(frame, "if")
        text = ast.describe(cond.expr)
        thread = frame.thread
        thread.add(entry, then, expr, (), self.step(StepKind.BRANCH, f"{text}: true", cond.span))
        thread.add(
            entry, other, not_(expr), (), self.step(StepKind.BRANCH, f"{text}: false", cond.span)
        )
        return entry

    # ------------------------------------------------------------ callback steps

    def return_(self, code: ReturnCode, span: Span, frame: Frame) -> int:
        thread = frame.thread
        entry = self.new_location(frame, f"return {code.name}")
        own = [lock for lock in self.held_locks(frame)]
        checks = [
            Check(
                Property.LOCK_BALANCE,
                holds_any(own, thread.me),
                f"returns {code.name} with a lock still held",
            ),
            Check(
                Property.LOCK_BALANCE,
                not_(self.migrating(frame).held_by(thread.me)),
                f"returns {code.name} with the old page unlocked: the core unlocks it (after "
                "->writepage, lock_page() again before returning, as writeout() does)",
            ),
        ]
        if code.is_error:
            checks.append(
                Check(
                    Property.LOCK_BALANCE,
                    self.state_migrated(frame),
                    f"returns {code.name} after the point of no return (state already migrated)",
                )
            )
        elif self.mode_of(frame, self.mode) is Mode.SYNC_NO_COPY:
            checks.append(
                Check(
                    Property.COPY_ORDER,
                    not_(self.state_migrated(frame)),
                    "returns OK in SYNC_NO_COPY without having migrated the page state",
                )
            )
        updates = frame.return_updates.get(code, ()) if frame.return_updates else ()
        thread.add(
            entry,
            frame.on_return[code],
            TRUE,
            updates,
            self.step(StepKind.RETURN, f"return {code.name}", span),
            checks=tuple(checks),
            returns=code,
        )
        return entry

    def library_call(self, stmt: ast.ReturnCallStmt, next_location: int, frame: Frame) -> int:
        """Inline a library callback; its steps point at the ``return call`` line."""
        transitions = self.res.system.transitions
        first = len(transitions)
        entry = self.block(library_body(stmt.library), next_location, frame)
        for index in range(first, len(transitions)):
            old = transitions[index]
            step = replace(old.step, text=f"{stmt.library}: {old.step.text}", span=stmt.span)
            transitions[index] = replace(old, step=step)
        return entry

    def move_mapping(self, success: int, failure: int, frame: Frame, span: Span) -> int:
        """migrate_page_move_mapping(): succeeds when the mapping still points at the old page
        and nobody else holds a reference to it (the refcount equals the expected count)."""
        thread = frame.thread
        page = frame.page
        entry = self.new_location(frame, "move_mapping")
        mapping = var(self.res.mapping[page])
        no_refs = and_(
            *(
                ne(var(self.res.counted[tid]), const(1))
                for tid in self.res.refs
                if self.actor_page(tid) == page
            )
        )
        ok = and_(eq(mapping, const(0)), no_refs)
        target = const(frame_migrator(frame) + 1)
        thread.add(
            entry,
            success,
            ok,
            ((self.res.mapping[page], target),),
            self.step(
                StepKind.MOVE_MAPPING, "move_mapping: mapping now points at the new page", span
            ),
        )
        thread.add(
            entry,
            failure,
            not_(ok),
            (),
            self.step(StepKind.MOVE_MAPPING, "move_mapping fails: page referenced elsewhere", span),
        )
        return entry

    def actor_page(self, thread_index: int) -> int:
        return self.res.actor_pages[thread_index]

    def copy(self, stmt: ast.CopyStmt, next_location: int, frame: Frame) -> int:
        thread = frame.thread
        key = (frame_migrator(frame), frame.page)
        text = "copy_states" if stmt.states_only else "copy"
        entry = self.new_location(frame, text)
        checks = [
            Check(
                Property.COPY_ORDER,
                not_(self.migrating(frame).held_by(thread.me)),
                f"{text} while the old page is not locked",
            ),
        ]
        updates: tuple[tuple[int, Expr], ...] = ()
        if not stmt.states_only:
            checks.append(
                Check(
                    Property.LOST_UPDATE,
                    eq(var(self.res.fresh[key]), const(1)),
                    "the copy overwrote a write that had already landed on the new page",
                )
            )
            if self.mode_of(frame, self.mode) is Mode.SYNC_NO_COPY:
                checks.append(
                    Check(
                        Property.COPY_ORDER,
                        TRUE,
                        "the callback copies page data with the CPU in SYNC_NO_COPY mode",
                    )
                )
            updates = ((self.res.stale[key], const(0)), (self.res.fresh[key], const(0)))
        thread.add(
            entry,
            next_location,
            TRUE,
            updates,
            self.step(StepKind.COPY_STATES if stmt.states_only else StepKind.COPY, text, stmt.span),
            checks=tuple(checks),
        )
        return entry

    def repoint(self, stmt: ast.RepointStmt, next_location: int, frame: Frame) -> int:
        entry = self.new_location(frame, f"repoint {stmt.pointer}")
        index = self.res.pointers[(stmt.pointer, frame.page)]
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            ((index, const(frame_migrator(frame) + 1)),),
            self.step(StepKind.MOVE_MAPPING, f"repoint {stmt.pointer} to the new page", stmt.span),
        )
        return entry

    def writepage(self, stmt: ast.WritepageStmt, next_location: int, frame: Frame) -> int:
        """->writepage() of the old page: writes it out and unlocks it (mm/migrate.c: writeout)."""
        entry = self.new_location(frame, "writepage")
        self.sleep_checks(frame, entry, "->writepage", stmt.span, writeback_wait=True)
        page_lock = self.migrating(frame)
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            page_lock.release(frame.thread.me),
            self.step(StepKind.WRITEPAGE, "->writepage (unlocks the page)", stmt.span),
            checks=(
                Check(
                    Property.LOCK_BALANCE,
                    not_(page_lock.held_by(frame.thread.me)),
                    "writepage while the old page is not locked by this thread",
                ),
            ),
        )
        return entry

    # ------------------------------------------------------------ actor steps

    def write(self, stmt: ast.WriteStmt, next_location: int, frame: Frame) -> int:
        """A write lands on the page its route points at now: the mapping, a pointer, or the
        reference this thread took earlier (which may be stale)."""
        thread = frame.thread
        page = frame.page
        entry = self.new_location(frame, f"write {stmt.via}")
        if stmt.via == "page":
            route = var(self.res.mapping[page])
        elif stmt.via == "ref":
            route = var(self.res.refs[thread.index])
        else:
            route = var(self.res.pointers[(stmt.via, page)])
        committed = var(self.res.committed[page])
        stale_all = tuple(
            (self.res.stale[(m, page)], const(1)) for m in self.res.migrators_of(page)
        )
        thread.add(
            entry,
            next_location,
            eq(route, const(0)),
            stale_all,
            self.step(StepKind.WRITE, f"write {stmt.via}: lands on the old page", stmt.span),
            checks=(
                Check(
                    Property.LOST_UPDATE,
                    ne(committed, const(0)),
                    "a write landed on the old page after its migration completed",
                ),
            ),
        )
        for m in self.res.migrators_of(page):
            thread.add(
                entry,
                next_location,
                eq(route, const(m + 1)),
                ((self.res.fresh[(m, page)], const(1)),),
                self.step(StepKind.WRITE, f"write {stmt.via}: lands on the new page", stmt.span),
            )
        if stmt.via == "ref":
            # the validator lets this through when a reference is held on some path only
            thread.add(
                entry,
                next_location,
                eq(route, const(-1)),
                (),
                self.step(StepKind.WRITE, "write ref: no reference held", stmt.span),
                checks=(
                    Check(Property.LOCK_BALANCE, TRUE, "write ref without a reference held"),
                ),
            )
        return entry

    def reference(self, stmt: ast.RefStmt, next_location: int, frame: Frame) -> int:
        thread = frame.thread
        ref = self.res.refs[thread.index]
        counted = self.res.counted[thread.index]
        if stmt.take:
            word = "get" if stmt.counted else "peek"
            entry = self.new_location(frame, f"{word} ref")
            text = (
                "get ref: take a reference on the mapped page"
                if stmt.counted
                else "peek ref: remember the mapped page, no reference taken"
            )
            thread.add(
                entry,
                next_location,
                TRUE,
                ((ref, var(self.res.mapping[frame.page])), (counted, const(int(stmt.counted)))),
                self.step(StepKind.REF, text, stmt.span),
            )
        else:
            entry = self.new_location(frame, "put ref")
            thread.add(
                entry,
                next_location,
                TRUE,
                ((ref, const(-1)), (counted, const(0))),
                self.step(StepKind.REF, "put ref", stmt.span),
                checks=(
                    Check(
                        Property.LOCK_BALANCE,
                        eq(var(ref), const(-1)),
                        "put ref without a reference held",
                    ),
                ),
            )
        return entry

    def writeback(self, stmt: ast.WritebackStmt, next_location: int, frame: Frame) -> int:
        thread = frame.thread
        flag = self.res.writeback[frame.page]
        action = stmt.action
        entry = self.new_location(frame, f"{action.value} writeback")
        if action is ast.WritebackAction.WAIT:
            self.sleep_checks(
                frame, entry, "wait_on_page_writeback", stmt.span, writeback_wait=True
            )
            thread.add(
                entry,
                next_location,
                eq(var(flag), const(0)),
                (),
                self.step(StepKind.WRITEBACK, "writeback is clear", stmt.span),
                waits=(Wait(f"writeback{self.res.suffix(frame.page)}", const(0)),),
            )
        elif action is ast.WritebackAction.START:
            thread.add(
                entry,
                next_location,
                eq(var(flag), const(0)),
                ((flag, const(1)),),
                self.step(StepKind.WRITEBACK, "set PG_writeback", stmt.span),
                waits=(Wait(f"writeback{self.res.suffix(frame.page)}", const(0)),),
            )
        else:
            thread.add(
                entry,
                next_location,
                TRUE,
                ((flag, const(0)),),
                self.step(StepKind.WRITEBACK, "end writeback", stmt.span),
            )
        return entry

    def read_io(self, stmt: ast.ReadStmt, next_location: int, frame: Frame) -> int:
        """``start read``: PG_uptodate clears, a read into the page is in flight (the page
        lock its reader holds is held across I/O); ``end read``: the read completed."""
        flag = self.res.uptodate[frame.page]
        word = "start" if stmt.start else "end"
        entry = self.new_location(frame, f"{word} read")
        text = "read I/O starts: page not uptodate" if stmt.start else "read I/O ends: uptodate"
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            ((flag, const(0 if stmt.start else 1)),),
            self.step(StepKind.WRITEBACK, text, stmt.span),
        )
        return entry

    # ------------------------------------------------------------ spec state

    def assign(self, stmt: ast.AssignStmt, next_location: int, frame: Frame) -> int:
        index = self.res.spec_var(stmt.name, frame.page)
        info = self.res.system.variables[index]
        value = self.expression(stmt.value, frame)
        in_range = and_(le(const(info.low), value), le(value, const(info.high)))
        entry = self.new_location(frame, f"{stmt.name} = ...")
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            ((index, ite(in_range, value, var(index))),),
            self.step(StepKind.ASSIGN, f"{stmt.name} = {ast.describe(stmt.value)}", stmt.span),
            checks=(
                Check(
                    Property.ASSERTION,
                    not_(in_range),
                    f"{stmt.name} leaves its range {info.low}..{info.high}",
                ),
            ),
        )
        return entry

    def await_(self, stmt: ast.AwaitStmt, next_location: int, frame: Frame) -> int:
        text = f"await {ast.describe(stmt.cond)}"
        entry = self.new_location(frame, text)
        self.sleep_checks(frame, entry, text, stmt.span)
        frame.thread.add(
            entry,
            next_location,
            self.expression(stmt.cond, frame),
            (),
            self.step(StepKind.AWAIT, text, stmt.span),
        )
        return entry

    def assertion(self, stmt: ast.AssertStmt, next_location: int, frame: Frame) -> int:
        text = f"assert {ast.describe(stmt.cond)}"
        entry = self.new_location(frame, text)
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            (),
            self.step(StepKind.ASSERT, text, stmt.span),
            checks=(
                Check(Property.ASSERTION, not_(self.expression(stmt.cond, frame)), stmt.message),
            ),
        )
        return entry

    def expression(self, expr: ast.SExpr, frame: Frame) -> Expr:
        """A spec expression over spec variables, params, the mode and the writeback flag."""
        if isinstance(expr, ast.IntLit):
            return const(expr.value)
        if isinstance(expr, ast.ModeTest):
            return TRUE if self.mode_of(frame, self.mode) in expr.modes else FALSE
        if isinstance(expr, ast.Name):
            return self.name_value(expr, frame)
        if isinstance(expr, ast.Unary):
            return not_(self.expression(expr.arg, frame))
        if isinstance(expr, ast.Binary):
            left = self.operand(expr.left, expr.right, frame)
            # decided by its left side when compiling: the right side is never looked at (a
            # name it reads costs no state)
            if expr.op == "&&" and left == FALSE:
                return FALSE
            if expr.op == "||" and left == TRUE:
                return TRUE
            right = self.operand(expr.right, expr.left, frame)
            return _binary(expr.op, left, right)
        return self.core_expression(expr, frame)

    def operand(self, expr: ast.SExpr, other: ast.SExpr, frame: Frame) -> Expr:
        """One side of a binary operator; a value name (``pending``, ``EAGAIN``) compared with
        a core local or param of that enumeration stands for its position in it."""
        if isinstance(expr, ast.Name):
            values = self.values_of(other, frame)
            if values is not None and expr.name in values and not self.is_variable(expr, frame):
                return const(values.index(expr.name))
        return self.expression(expr, frame)

    def values_of(self, expr: ast.SExpr, frame: Frame) -> tuple[str, ...] | None:
        """The value names of an enumeration-typed expression (a core's locals and params)."""
        return None

    def is_variable(self, expr: ast.Name, frame: Frame) -> bool:
        name = expr.name
        return name in self.res.shared_vars or (name, frame.page) in self.res.page_vars

    def name_value(self, expr: ast.Name, frame: Frame) -> Expr:
        if expr.name == "writeback":
            return ne(var(self.res.writeback[frame.page]), const(0))
        if expr.name == "uptodate":
            return eq(var(self.res.uptodate[frame.page]), const(1))
        if self.is_variable(expr, frame):
            return var(self.res.spec_var(expr.name, frame.page))
        return const(int(getattr(self.res.params, expr.name)))

    def core_expression(self, expr: ast.SExpr, frame: Frame) -> Expr:
        """Expressions only a core may hold (``any(...)``, ``caller.FLAG``)."""
        raise ValueError(f"{expr.span}: this expression belongs in a migration core")


def _binary(op: str, left: Expr, right: Expr) -> Expr:
    if op == "%":
        if left.op is Op.CONST and right.op is Op.CONST and right.value != 0:
            return const(left.value % right.value)
        raise ValueError("'%' is only for values known when the model is compiled")
    if op == "&&":
        return and_(left, right)
    if op == "||":
        return or_(left, right)
    if op == "+":
        return add(left, right)
    if op == "-":
        return sub(left, right)
    if left.op is Op.CONST and right.op is Op.CONST:
        table = {
            "==": left.value == right.value,
            "!=": left.value != right.value,
            "<": left.value < right.value,
            "<=": left.value <= right.value,
            ">": left.value > right.value,
            ">=": left.value >= right.value,
        }
        return TRUE if table[op] else FALSE
    if op == "==":
        return eq(left, right)
    if op == "!=":
        return ne(left, right)
    if op == "<":
        return lt(left, right)
    if op == "<=":
        return le(left, right)
    if op == ">":
        return lt(right, left)
    return le(right, left)


def _holder_of(cases: list[tuple[Expr, ExclusiveLock]]) -> Expr:
    """The holder of whichever page lock the mapping selects, as one expression."""
    result: Expr = const(0)
    for cond, lock in reversed(cases):
        result = ite(cond, lock.holder(), result)
    return result


def _side(ref: ast.LockRef) -> str:
    return "" if ref.access is ast.Access.EXCLUSIVE else f" {ref.access.value}"


def frame_migrator(frame: Frame) -> int:
    if frame.migrator is None:
        raise ValueError("a callback step compiled outside a migrator")
    return frame.migrator

