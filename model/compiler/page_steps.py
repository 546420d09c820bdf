"""Compilation of the steps that touch pages: a callback's returns, move_mapping, copies,
pointer switches and ->writepage; an actor's writes, references, writeback and read I/O.

Each follows the kernel function it stands for (docs/spec-language.md names them); a write
lands on the page its route points at when it runs (docs/semantics.md).
"""

from __future__ import annotations

from dataclasses import replace

from model.compiler.frames import Frame, frame_migrator
from model.compiler.lock_steps import LockSteps
from model.compiler.locks import holds_any
from model.kernel.library import library_body
from model.kinds import Mode, Property, ReturnCode
from model.language import ast
from model.span import Span
from model.ts import (
    TRUE,
    Check,
    Expr,
    StepKind,
    Wait,
    and_,
    const,
    eq,
    ne,
    not_,
    var,
)


class PageSteps(LockSteps):
    """The steps on pages, for callbacks and actors."""

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

