"""The kernel migration core for each mode, and compilation of a whole spec into a system.

Per-page flow (ASYNC, SYNC_LIGHT, SYNC) follows mm/migrate.c, Linux 4.14:
``migrate_pages()`` makes up to 10 passes over its list, retrying pages that gave -EAGAIN;
``force`` is ``pass > 2``.  For each page ``__unmap_and_move()`` trylocks the old page (on
failure ASYNC, or any mode before ``force``, gives up with -EAGAIN; otherwise ``lock_page()``),
checks PageWriteback (ASYNC and SYNC_LIGHT: -EBUSY; SYNC: -EAGAIN before ``force``, then
``wait_on_page_writeback()``), trylocks the new page, calls the callback, unlocks the new page,
then the old page.  A callback returning 0 completes the page's migration.

Batch flow (SYNC_NO_COPY, the intended protocol of commit 2916ecc0f9): lock the pages of the
batch (``param batch_lock``: trylock and leave busy pages out, as migrate_vma_prepare() does, or
a blocking lock_page() in batch order), call each locked page's callback, then one DMA copy of
every page whose callback returned 0, then unlock every page.
"""

from __future__ import annotations

from dataclasses import replace

from model.compiler.bodies import BodyCompiler, Frame
from model.compiler.build import DONE, SystemBuilder, ThreadBuilder
from model.compiler.locks import ExclusiveLock, holds_any
from model.compiler.resources import Resources, allocate, page_layout, page_name
from model.kinds import Mode, Property, ReturnCode
from model.language import ast
from model.language.params import BatchLock, BatchOrder, NoCopyFlow, Params
from model.ts import (
    TRUE,
    Check,
    Expr,
    Step,
    StepKind,
    ThreadRole,
    TransitionSystem,
    VarRole,
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
    var,
)

FORCE_PASS = 3  # migrate_pages(): force = pass > 2

PENDING, MIGRATED, FAILED = 0, 1, 2
NOT_LOCKED, LOCKED, STATE_MOVED, GAVE_UP = 0, 1, 2, 3


def compile_system(spec: ast.Spec, mode: Mode, params: Params) -> TransitionSystem:
    """The transition system of ``spec`` under ``mode`` at the size ``params`` gives."""
    system = SystemBuilder(spec.name, mode)
    migrators = [
        system.thread("migrator" if params.migrators == 1 else f"migrator {m}", ThreadRole.MIGRATOR)
        for m in range(params.migrators)
    ]
    total, _ = page_layout(params, mode)
    actor_pages: dict[int, int] = {}
    actors: list[tuple[ThreadBuilder, ast.Actor, int]] = []
    for actor in spec.actors:
        if actor.page is not None and actor.page >= total:
            raise ValueError(
                f"{actor.span}: actor {actor.name} runs on page {actor.page}, which this "
                f"instance does not have ({total} page(s)): raise --pages or param pages"
            )
        pages = range(total) if actor.page is None else (actor.page,)
        for page in pages:
            suffix = "" if actor.page is not None else page_name(page, total).replace(" ", "#")
            thread = system.thread(actor.name + suffix, ThreadRole.ACTOR)
            actor_pages[thread.index] = page
            actors.append((thread, actor, page))
    res = allocate(spec, params, mode, system, actor_pages)
    _caller_holds(spec, params, res)
    bodies = BodyCompiler(res)
    for thread, actor, page in actors:
        frame = Frame(thread, page, None, {})
        thread.entry = bodies.block(actor.body, DONE, frame)
        _check_finish(res, thread, page, actor)
    for m, thread in enumerate(migrators):
        if mode is Mode.SYNC_NO_COPY:
            _batch_migrator(res, bodies, thread, m)
        else:
            _per_page_migrator(res, bodies, thread, m)
    return system.build()


def _caller_holds(spec: ast.Spec, params: Params, res: Resources) -> None:
    """``caller holds L``: the migrating task entered migration with L held (direct compaction
    from an allocation made under L).  With several migrators the first one is that task; the
    others migrate from callers that hold nothing."""
    variables = res.system.variables
    for ref in spec.held_by_caller(res.mode):
        lock = res.shared_locks[ref.name]
        if isinstance(lock, ExclusiveLock):
            info = variables[lock.owner]
            variables[lock.owner] = replace(info, initial=(1,))


def _caller_returns(res: Resources, thread: ThreadBuilder, m: int) -> int:
    """Where the migrator goes when migrate_pages() returns: its caller, which entered with
    locks held (``caller holds``), releases them, then the thread is finished."""
    held = res.spec.held_by_caller(res.mode)
    if m != 0 or not held:
        return DONE
    names = ", ".join(ref.name for ref in held)
    back = thread.location("migrate_pages() returned to the caller")
    updates = tuple(
        update for ref in held for update in res.shared_locks[ref.name].release(thread.me)
    )
    thread.add(
        back,
        DONE,
        TRUE,
        updates,
        Step(StepKind.UNLOCK, f"migrate_pages() returned: the caller unlocks {names}",
             held[0].span),
    )
    return back


def _check_finish(res: Resources, thread: ThreadBuilder, page: int, actor: ast.Actor) -> None:
    """An actor must finish with every lock and reference it took released."""
    locks = res.locks_of_page(page) + [res.old_lock[page]]
    locks += [lock for (m, p), lock in res.new_lock.items() if p == page]
    leaked = or_(holds_any(locks, thread.me), eq(var(res.counted[thread.index]), const(1)))
    thread.check_at(
        DONE,
        Check(
            Property.LOCK_BALANCE, leaked, f"{actor.name} finishes with a lock or reference held"
        ),
        Step(StepKind.CORE, f"{actor.name} finishes", actor.span),
    )


def _core(text: str) -> Step:
    return Step(StepKind.CORE, text)


def _per_page_migrator(res: Resources, bodies: BodyCompiler, thread: ThreadBuilder, m: int) -> None:
    system = res.system
    me = thread.me
    pages = res.pages_of[m]
    mode = res.mode
    passes = res.params.passes
    who = "" if res.params.migrators == 1 else f" of migrator {m}"
    pass_var = system.variable(f"pass{who}", 0, passes - 1, (0,), VarRole.CORE)
    status = {
        p: system.variable(
            f"page{res.suffix(p)} status",
            0,
            2,
            (PENDING,),
            VarRole.CORE,
            ("pending", "migrated", "failed"),
        )
        for p in pages
    }
    starts = [thread.location(f"migrate page{res.suffix(p)}") for p in pages]
    pass_end = thread.location("end of pass")
    thread.entry = starts[0]
    forced = le(const(FORCE_PASS), var(pass_var))
    for i, p in enumerate(pages):
        start = starts[i]
        following = starts[i + 1] if i + 1 < len(pages) else pass_end
        sfx = res.suffix(p)
        old = res.old_lock[p]
        new = res.new_lock[(m, p)]
        pending = eq(var(status[p]), const(PENDING))
        got_old = thread.location(f"page{sfx} locked")
        thread.add(start, following, not_(pending), (), _core(f"page{sfx} already done: skip"))
        take = old.acquire(me)
        thread.add(
            start,
            got_old,
            and_(pending, take.guard),
            take.updates,
            _core(f"trylock_page(page{sfx}): taken"),
        )
        busy = and_(pending, not_(take.guard))
        if mode is Mode.ASYNC:
            thread.add(
                start,
                following,
                busy,
                (),
                _core(f"trylock_page(page{sfx}): busy, -EAGAIN (ASYNC never waits)"),
            )
        else:
            waiting = thread.location(f"lock_page(page{sfx})")
            thread.add(
                start,
                following,
                and_(busy, not_(forced)),
                (),
                _core(f"trylock_page(page{sfx}): busy, -EAGAIN (not forced before pass 3)"),
            )
            thread.add(
                start,
                waiting,
                and_(busy, forced),
                (),
                _core(f"trylock_page(page{sfx}): busy, forced: lock_page"),
            )
            thread.add(
                waiting,
                got_old,
                take.guard,
                take.updates,
                _core(f"lock_page(page{sfx})"),
                waits=take.waits,
            )
        # PageWriteback: give up, retry, or wait, by mode
        writeback = var(res.writeback[p])
        clear = eq(writeback, const(0))
        check_wb = got_old
        unlock_old_again = thread.location(f"unlock page{sfx} (-EAGAIN)")
        unlock_old_busy = thread.location(f"unlock page{sfx} (-EBUSY)")
        lock_new = thread.location(f"trylock new page{sfx}")
        thread.add(check_wb, lock_new, clear, (), _core(f"page{sfx} not under writeback"))
        if mode in (Mode.ASYNC, Mode.SYNC_LIGHT):
            thread.add(
                check_wb,
                unlock_old_busy,
                not_(clear),
                (),
                _core(f"page{sfx} under writeback: -EBUSY ({mode.value} never waits)"),
            )
        else:
            wait_wb = thread.location(f"wait_on_page_writeback(page{sfx})")
            thread.add(
                check_wb,
                unlock_old_again,
                and_(not_(clear), not_(forced)),
                (),
                _core(f"page{sfx} under writeback: -EAGAIN (not forced)"),
            )
            thread.add(
                check_wb,
                wait_wb,
                and_(not_(clear), forced),
                (),
                _core(f"page{sfx} under writeback: forced, wait"),
            )
            thread.add(
                wait_wb,
                lock_new,
                clear,
                (),
                _core(f"writeback of page{sfx} ended"),
                waits=_wait_writeback(res, p),
            )
        thread.add(
            unlock_old_again,
            following,
            TRUE,
            old.release(me),
            _core(f"unlock_page(page{sfx}): retry in a later pass"),
        )
        thread.add(
            unlock_old_busy,
            following,
            TRUE,
            old.release(me) + ((status[p], const(FAILED)),),
            _core(f"unlock_page(page{sfx}): gave up (-EBUSY)"),
        )
        take_new = new.acquire(me)
        # the new page is freshly allocated and unreachable: its trylock cannot fail
        after_ok = thread.location(f"unlock new page{sfx} (migrated)")
        after_again = thread.location(f"unlock new page{sfx} (-EAGAIN)")
        after_fail = thread.location(f"unlock new page{sfx} (failed)")
        on_return = {code: after_fail for code in ReturnCode}
        on_return[ReturnCode.OK] = after_ok
        on_return[ReturnCode.EAGAIN] = after_again
        frame = Frame(thread, p, m, on_return)
        callback_entry = bodies.block(res.spec.callback, after_fail, frame)
        thread.add(
            lock_new,
            callback_entry,
            take_new.guard,
            take_new.updates,
            _core(f"trylock_page(new page{sfx}): taken; unmap; call the callback ({mode.value})"),
        )
        _unlock_both(res, thread, m, p, after_ok, following, status[p], MIGRATED)
        _unlock_both(res, thread, m, p, after_again, following, status[p], PENDING)
        _unlock_both(res, thread, m, p, after_fail, following, status[p], FAILED)
    any_pending = or_(*(eq(var(status[p]), const(PENDING)) for p in pages))
    more = and_(lt(var(pass_var), const(passes - 1)), any_pending)
    thread.add(
        pass_end,
        starts[0],
        more,
        ((pass_var, add(var(pass_var), const(1))),),
        _core("next pass: retry the pages that gave -EAGAIN"),
    )
    thread.add(
        pass_end, _caller_returns(res, thread, m), not_(more), (), _core("migrate_pages() returns")
    )


def _wait_writeback(res: Resources, page: int) -> tuple[Wait, ...]:
    """Any thread may end writeback (bio completion does): no single thread is waited for."""
    return (Wait(f"writeback{res.suffix(page)}", const(0)),)


def _unlock_both(
    res: Resources,
    thread: ThreadBuilder,
    m: int,
    page: int,
    location: int,
    following: int,
    status: int,
    outcome: int,
) -> None:
    """Unlock the new page, then the old page; a completed migration is checked for lost writes."""
    me = thread.me
    sfx = res.suffix(page)
    unlock_old = thread.location(f"unlock page{sfx}")
    thread.add(
        location,
        unlock_old,
        TRUE,
        res.new_lock[(m, page)].release(me),
        _core(f"remove migration entries; unlock_page(new page{sfx})"),
    )
    updates = res.old_lock[page].release(me) + ((status, const(outcome)),)
    checks: tuple[Check, ...] = ()
    text = f"unlock_page(page{sfx})"
    if outcome == MIGRATED:
        updates += ((res.committed[page], const(m + 1)),)
        checks = (_commit_check(res, m, page),)
        text += f": migration of page{sfx} complete"
    thread.add(unlock_old, following, TRUE, updates, _core(text), checks=checks)


def _commit_check(res: Resources, m: int, page: int) -> Check:
    return Check(
        Property.LOST_UPDATE,
        eq(var(res.stale[(m, page)]), const(1)),
        "the migration completed but the new page lacks a write made to the old page",
    )


def _batch_migrator(res: Resources, bodies: BodyCompiler, thread: ThreadBuilder, m: int) -> None:
    system = res.system
    me = thread.me
    pages = list(res.pages_of[m])
    if res.params.batch_order is BatchOrder.OPPOSITE and m % 2 == 1:
        pages.reverse()
    who = "" if res.params.migrators == 1 else f" (migrator {m})"
    state = {
        p: system.variable(
            f"batch slot{res.suffix(p)}{who}",
            0,
            3,
            (NOT_LOCKED,),
            VarRole.CORE,
            ("not locked", "locked", "state migrated", "gave up"),
        )
        for p in pages
    }
    lock_phase = [thread.location(f"lock page{res.suffix(p)}") for p in pages]
    call_phase = [thread.location(f"callback page{res.suffix(p)}") for p in pages]
    dma = thread.location("DMA copy page" + res.suffix(pages[0]))
    unlock_phase = [thread.location(f"unlock page{res.suffix(p)}") for p in pages]
    thread.entry = lock_phase[0]
    blocking = res.params.batch_lock is BatchLock.BLOCKING
    device_first = res.params.nocopy_flow is NoCopyFlow.MIGRATE_VMA
    after_locks = dma if device_first else call_phase[0]
    after_callbacks = unlock_phase[0] if device_first else dma
    after_dma = call_phase[0] if device_first else unlock_phase[0]
    for i, p in enumerate(pages):
        sfx = res.suffix(p)
        following = lock_phase[i + 1] if i + 1 < len(pages) else after_locks
        old = res.old_lock[p]
        take = old.acquire(me)
        check_wb = thread.location(f"page{sfx} locked")
        wait_wb = thread.location(f"wait_on_page_writeback(page{sfx})")
        lock_new = thread.location(f"trylock new page{sfx}")
        locked = take.updates + ((state[p], const(LOCKED)),)
        if blocking:
            thread.add(
                lock_phase[i],
                check_wb,
                take.guard,
                locked,
                _core(f"lock_page(page{sfx})"),
                waits=take.waits,
            )
        else:
            thread.add(
                lock_phase[i],
                check_wb,
                take.guard,
                locked,
                _core(f"trylock_page(page{sfx}): taken"),
            )
            thread.add(
                lock_phase[i],
                following,
                not_(take.guard),
                (),
                _core(f"trylock_page(page{sfx}): busy, left out of the batch"),
            )
        clear = eq(var(res.writeback[p]), const(0))
        thread.add(check_wb, lock_new, clear, (), _core(f"page{sfx} not under writeback"))
        thread.add(check_wb, wait_wb, not_(clear), (), _core(f"page{sfx} under writeback: wait"))
        thread.add(
            wait_wb,
            lock_new,
            clear,
            (),
            _core(f"writeback of page{sfx} ended"),
            waits=_wait_writeback(res, p),
        )
        take_new = res.new_lock[(m, p)].acquire(me)
        thread.add(
            lock_new,
            following,
            take_new.guard,
            take_new.updates,
            _core(f"trylock_page(new page{sfx}): taken"),
        )
    for i, p in enumerate(pages):
        following = call_phase[i + 1] if i + 1 < len(pages) else after_callbacks
        slot = var(state[p])
        on_return = {code: following for code in ReturnCode}
        return_updates: dict[ReturnCode, tuple[tuple[int, Expr], ...]] = {
            code: ((state[p], const(GAVE_UP)),) for code in ReturnCode
        }
        return_updates[ReturnCode.OK] = ((state[p], const(STATE_MOVED)),)
        frame = Frame(thread, p, m, on_return, return_updates)
        callback_entry = bodies.block(res.spec.callback, following, frame)
        thread.add(
            call_phase[i],
            following,
            ne(slot, const(LOCKED)),
            (),
            _core(f"page{res.suffix(p)} not in the batch: skip its callback"),
        )
        thread.add(
            call_phase[i],
            callback_entry,
            eq(slot, const(LOCKED)),
            (),
            _core(f"call the callback for page{res.suffix(p)} (SYNC_NO_COPY)"),
        )
    _dma_copy(res, thread, m, pages, state, dma, after_dma, LOCKED if device_first else STATE_MOVED)
    finished = _caller_returns(res, thread, m)
    for i, p in enumerate(pages):
        sfx = res.suffix(p)
        following = unlock_phase[i + 1] if i + 1 < len(pages) else finished
        slot = var(state[p])
        unlock_old = thread.location(f"unlock page{sfx}")
        thread.add(
            unlock_phase[i],
            following,
            eq(slot, const(NOT_LOCKED)),
            (),
            _core(f"page{sfx} not in the batch"),
        )
        thread.add(
            unlock_phase[i],
            unlock_old,
            ne(slot, const(NOT_LOCKED)),
            res.new_lock[(m, p)].release(me),
            _core(f"remove migration entries; unlock_page(new page{sfx})"),
        )
        moved = eq(slot, const(STATE_MOVED))
        thread.add(
            unlock_old,
            following,
            TRUE,
            res.old_lock[p].release(me)
            + ((res.committed[p], ite(moved, const(m + 1), var(res.committed[p]))),),
            _core(f"unlock_page(page{sfx})"),
            checks=(
                Check(
                    Property.LOST_UPDATE,
                    and_(moved, eq(var(res.stale[(m, p)]), const(1))),
                    "the migration completed but the new page lacks a write made to the old page",
                ),
            ),
        )


def _dma_copy(
    res: Resources,
    thread: ThreadBuilder,
    m: int,
    pages: list[int],
    state: dict[int, int],
    location: int,
    following: int,
    copied: int,
) -> None:
    """The DMA transfer copies every page in slot state ``copied``, page by page: pages whose
    callback migrated their state (the intended flow), or every locked page before any callback
    ran (migrate_vma as merged, which copy-order reports).

    Copying page by page allows no outcome that one atomic transfer does not: every page is
    locked by the migrator throughout, and a write to page i between the copies of pages j and
    k has the same effect on page i as a write before or after the whole transfer.
    """
    locations = (
        [location]
        + [thread.location(f"DMA copy page{res.suffix(p)}") for p in pages[1:]]
        + [following]
    )
    for i, p in enumerate(pages):
        here, after = locations[i], locations[i + 1]
        moved = eq(var(state[p]), const(copied))
        key = (m, p)
        sfx = res.suffix(p)
        checks = (
            Check(
                Property.COPY_ORDER,
                not_(res.state_migrated(m, p)),
                f"the DMA copy of page{sfx} runs before the page's state migrated",
            ),
            Check(
                Property.LOST_UPDATE,
                eq(var(res.fresh[key]), const(1)),
                f"the DMA copy of page{sfx} overwrote a write that had already landed "
                "on the new page",
            ),
            Check(
                Property.COPY_ORDER,
                not_(res.old_lock[p].held_by(thread.me)),
                f"the DMA copy of page{sfx} runs after the page was unlocked",
            ),
        )
        thread.add(
            here,
            after,
            moved,
            ((res.stale[key], const(0)), (res.fresh[key], const(0))),
            _core(f"DMA copy of page{sfx}"),
            checks=checks,
        )
        thread.add(here, after, not_(moved), (), _core(f"page{sfx} not migrated: no DMA copy"))
