"""Each construct of the spec language changes a verdict: these tests fail if one is ignored."""

from __future__ import annotations

from checker.result import Verdict
from model.kinds import Mode, Property, ReturnCode
from tests.semantics_helpers import run, spec, violated

MIGRATE = "move_mapping\ncopy\nreturn OK"
MIGRATE_NO_COPY = "move_mapping\nif mode == SYNC_NO_COPY { copy_states } else { copy }\nreturn OK"


# ---------------------------------------------------------------- locks


def test_blocking_locks_in_opposite_orders_deadlock() -> None:
    text = spec(
        "lock a\nlock b\nunlock b\nunlock a\n" + MIGRATE,
        "lock a : mutex",
        "lock b : mutex",
        "actor other { lock b\nlock a\nunlock a\nunlock b }",
    )
    result = run(text)
    assert result.violated() == (Property.DEADLOCK,)
    trace = result.trace_for(Property.DEADLOCK)
    assert trace is not None
    assert {(e.waiter, e.resource, e.holder) for e in trace.cycle} == {
        ("migrator", "b", "other"),
        ("other", "a", "migrator"),
    }


def test_trylock_with_back_off_breaks_the_cycle() -> None:
    text = spec(
        "lock a\nif !trylock b { unlock a\nreturn EAGAIN }\nunlock b\nunlock a\n" + MIGRATE,
        "lock a : mutex",
        "lock b : mutex",
        "actor other { lock b\nlock a\nunlock a\nunlock b }",
    )
    assert run(text).verdict is Verdict.HOLDS


def test_unlock_releases_the_lock() -> None:
    """Without the unlock in the actor the callback waits for ever."""
    held = spec("lock a\nunlock a\n" + MIGRATE, "lock a : mutex", "actor other { lock a }")
    released = spec(
        "lock a\nunlock a\n" + MIGRATE, "lock a : mutex", "actor other { lock a\nunlock a }"
    )
    assert Property.DEADLOCK in violated(held)
    assert Property.LOCK_BALANCE in violated(held)
    assert violated(released) == set()


COUNT_HOLDERS = (
    "var inside : int[0..2] = 0",
    "actor user { lock l{side}\ninside = inside + 1\n"
    'assert inside <= 1, "two threads inside l"\ninside = inside - 1\nunlock l }',
)


def _holders(declaration: str, side: str = "") -> set[Property]:
    text = spec(MIGRATE, declaration, COUNT_HOLDERS[0], COUNT_HOLDERS[1].replace("{side}", side))
    return violated(text, pages=2)


def test_a_shared_lock_excludes_all_pages() -> None:
    assert _holders("lock l : spinlock") == set()


def test_a_per_page_lock_is_one_lock_per_page() -> None:
    assert _holders("lock l : spinlock per page") == {Property.ASSERTION}


def test_readers_share_a_reader_writer_lock_and_writers_do_not() -> None:
    assert _holders("lock l : rwlock", " read") == {Property.ASSERTION}
    assert _holders("lock l : rwlock", " write") == set()


WRITER_FAIR = spec(
    MIGRATE,
    "lock sem : {kind}",
    "lock m : mutex",
    "var turn : int[0..3] = 0",
    "actor first { lock sem read\nturn = 1\nlock m\nunlock m\nunlock sem }",
    "actor writer { await turn >= 1\nlock sem write\nunlock sem }",
    "actor second { await turn >= 1\nlock m\nlock sem read\nunlock sem\nunlock m }",
)


def test_rwsem_readers_queue_behind_a_waiting_writer() -> None:
    """The reader-queued-behind-writer deadlock exists only with a writer-fair rwsem."""
    assert Property.DEADLOCK in violated(WRITER_FAIR.replace("{kind}", "rwsem"))
    assert Property.DEADLOCK not in violated(WRITER_FAIR.replace("{kind}", "rwlock"))


def test_sleeping_under_a_spinlock_is_reported() -> None:
    text = spec(
        "lock s\nlock m\nunlock m\nunlock s\n" + MIGRATE, "lock s : spinlock", "lock m : mutex"
    )
    assert violated(text) == {Property.LOCK_BALANCE}
    without_spinlock = spec("lock m\nunlock m\n" + MIGRATE, "lock m : mutex")
    assert violated(without_spinlock) == set()


def test_blocking_lock_in_async_breaks_mode_discipline() -> None:
    text = spec("lock m\nunlock m\n" + MIGRATE, "lock m : mutex")
    assert violated(text, Mode.ASYNC) == {Property.MODE_DISCIPLINE}
    assert violated(text, Mode.SYNC) == set()
    trylocked = spec("if !trylock m { return EAGAIN }\nunlock m\n" + MIGRATE, "lock m : mutex")
    assert violated(trylocked, Mode.ASYNC) == set()


def test_spinlocks_are_allowed_in_async() -> None:
    text = spec("lock s\nunlock s\n" + MIGRATE, "lock s : spinlock")
    assert violated(text, Mode.ASYNC) == set()


# ---------------------------------------------------------------- page state and data


def test_copy_states_alone_loses_the_contents() -> None:
    assert violated(spec("move_mapping\ncopy_states\nreturn OK")) == {Property.LOST_UPDATE}
    assert violated(spec(MIGRATE)) == set()


def test_contents_none_needs_no_copy() -> None:
    text = spec("move_mapping\nreturn OK", "param contents = none")
    assert violated(text) == set()


def test_a_write_without_the_page_lock_races_with_the_copy() -> None:
    racy = spec(MIGRATE, "actor user { write page }")
    locked = spec(MIGRATE, "actor user { lock page\nwrite page\nunlock page }")
    result = run(racy)
    assert result.violated() == (Property.LOST_UPDATE,)
    assert violated(locked) == set()


def test_lock_page_in_an_actor_follows_the_mapping_to_the_new_page() -> None:
    """->writepage unlocks the old page after the switch; a writer that then locks "the page"
    must wait for the new page, which the core still holds, so the copy cannot overwrite it."""
    text = spec(
        "move_mapping\nwritepage\ncopy\nreturn OK",
        "actor user { lock page\nwrite page\nunlock page }",
    )
    # returning with the page unlocked is a lock-balance violation of its own
    assert violated(text) == {Property.COPY_ORDER, Property.LOCK_BALANCE}


def test_a_counted_reference_makes_move_mapping_fail() -> None:
    callback = (
        'if !move_mapping { assert false, "move_mapping failed"\nreturn EAGAIN }\ncopy\nreturn OK'
    )
    with_ref = spec(callback, "actor holder { get ref\nput ref }")
    without = spec(callback, "actor holder { lock page\nunlock page }")
    assert violated(with_ref) == {Property.ASSERTION}
    assert violated(without) == set()


def test_a_stale_pointer_write_lands_on_the_old_page() -> None:
    stale = spec(MIGRATE, "actor user { peek ref\nlock page\nwrite ref\nunlock page\nput ref }")
    fresh = spec(MIGRATE, "actor user { lock page\npeek ref\nwrite ref\nunlock page\nput ref }")
    assert violated(stale) == {Property.LOST_UPDATE}
    assert violated(fresh) == set()


AIO_LIKE = spec(
    "lock c\nmove_mapping\n{copy}\n{repoint}\nunlock c\nreturn OK",
    "lock c : spinlock",
    "pointer ring",
    "actor completion { lock c\nwrite ring\nunlock c }",
)


def test_repoint_sends_later_writes_to_the_new_page() -> None:
    repointed = AIO_LIKE.replace("{copy}", "copy").replace("{repoint}", "repoint ring")
    forgotten = AIO_LIKE.replace("{copy}", "copy").replace("{repoint}", "")
    assert violated(repointed) == set()
    assert violated(forgotten) == {Property.LOST_UPDATE}


def test_no_copy_batch_copies_after_the_callback_released_its_lock() -> None:
    text = AIO_LIKE.replace(
        "{copy}", "if mode == SYNC_NO_COPY { copy_states } else { copy }"
    ).replace("{repoint}", "repoint ring")
    assert violated(text, Mode.SYNC) == set()
    assert violated(text, Mode.SYNC_NO_COPY) == {Property.LOST_UPDATE}


def test_cpu_copy_in_no_copy_mode_breaks_copy_order() -> None:
    assert violated(spec(MIGRATE), Mode.SYNC_NO_COPY) == {Property.COPY_ORDER}
    assert violated(spec(MIGRATE_NO_COPY), Mode.SYNC_NO_COPY) == set()


def test_returning_ok_without_migrating_state_in_no_copy_breaks_copy_order() -> None:
    assert Property.COPY_ORDER in violated(spec("copy_states\nreturn OK"), Mode.SYNC_NO_COPY)


def test_library_migrate_page_copies_states_only_in_no_copy() -> None:
    text = spec("return call migrate_page")
    for mode in Mode:
        assert violated(text, mode) == set(), mode


# ---------------------------------------------------------------- returns and modes


def test_mode_guard_refuses_the_mode() -> None:
    text = spec("if mode == SYNC_NO_COPY { return EINVAL }\n" + MIGRATE_NO_COPY)
    refused = run(text, Mode.SYNC_NO_COPY)
    assert refused.verdict is Verdict.REFUSES
    assert refused.refused_with == (ReturnCode.EINVAL,)
    assert run(text, Mode.SYNC).verdict is Verdict.HOLDS


def test_either_explores_every_branch() -> None:
    both = spec("either { return EBUSY } or {\n" + MIGRATE + "\n}")
    only_error = spec("either { return EBUSY } or { return EINVAL }")
    assert run(both).verdict is Verdict.HOLDS
    result = run(only_error)
    assert result.verdict is Verdict.REFUSES
    assert result.refused_with == (ReturnCode.EBUSY, ReturnCode.EINVAL)


def test_error_after_the_point_of_no_return() -> None:
    assert violated(spec("move_mapping\ncopy\nreturn EBUSY")) == {Property.LOCK_BALANCE}


def test_returning_with_a_lock_held() -> None:
    text = spec("lock s\n" + MIGRATE, "lock s : spinlock")
    assert Property.LOCK_BALANCE in violated(text)


def test_eagain_is_retried_and_other_errors_are_final() -> None:
    """The callback fails once, then succeeds: only -EAGAIN gets a second pass."""
    callback = "if !tried { tried = true\nreturn {code} }\n" + MIGRATE
    again = spec(callback.replace("{code}", "EAGAIN"), "var tried : bool = false")
    final = spec(callback.replace("{code}", "EBUSY"), "var tried : bool = false")
    assert run(again).verdict is Verdict.HOLDS
    assert run(final).verdict is Verdict.REFUSES


def test_forced_passes_block_on_the_page_lock() -> None:
    """From pass 3 on, SYNC waits for a busy page lock; ASYNC gives up instead."""
    text = spec(
        "done = true\n" + MIGRATE,
        "var done : bool = false",
        "actor holder { lock page\nawait done\nunlock page }",
    )
    sync = run(text, Mode.SYNC).trace_for(Property.DEADLOCK)
    async_ = run(text, Mode.ASYNC).trace_for(Property.DEADLOCK)
    assert sync is not None and async_ is not None
    assert sync.blocked == ("migrator", "holder")
    assert async_.blocked == ("holder",)


def test_writeback_is_waited_for_in_sync_and_refused_in_async() -> None:
    text = spec(MIGRATE, "actor io { start writeback\nend writeback }")
    assert run(text, Mode.SYNC).verdict is Verdict.HOLDS
    light = spec("wait writeback\n" + MIGRATE, "actor io { start writeback\nend writeback }")
    assert violated(light, Mode.SYNC_LIGHT) == {Property.MODE_DISCIPLINE}
    assert violated(light, Mode.SYNC) == set()


def test_writepage_unlocks_the_page_and_may_sleep() -> None:
    text = spec("writepage\nlock page\n" + MIGRATE)
    assert violated(text, Mode.SYNC_LIGHT) == {Property.MODE_DISCIPLINE}
    assert violated(text, Mode.SYNC) == set()
    assert violated(spec("writepage\n" + MIGRATE), Mode.SYNC) == {
        Property.COPY_ORDER,
        Property.LOCK_BALANCE,
    }


# ---------------------------------------------------------------- spec state


def test_repeat_unrolls_its_body() -> None:
    body = 'repeat {n} { x = x + 1 }\nassert x <= 1, "more than one write"'
    declarations = ("var x : int[0..4] = 0",)
    once = spec(MIGRATE, *declarations, "actor a { " + body.replace("{n}", "1") + " }")
    twice = spec(MIGRATE, *declarations, "actor a { " + body.replace("{n}", "2") + " }")
    by_param = spec(MIGRATE, *declarations, "actor a { " + body.replace("{n}", "writes") + " }")
    assert violated(once) == set()
    assert violated(twice) == {Property.ASSERTION}
    assert violated(by_param, writes=2) == {Property.ASSERTION}


def test_any_initial_value_covers_every_value() -> None:
    declarations = 'actor a { assert !dirty, "dirty page" }'
    assert violated(spec(MIGRATE, "var dirty : bool = any", declarations)) == {Property.ASSERTION}
    assert violated(spec(MIGRATE, "var dirty : bool = false", declarations)) == set()


def test_await_blocks_until_its_condition_holds() -> None:
    waiting = spec(MIGRATE, "var go : bool = false", "actor a { await go }")
    released = spec(
        MIGRATE, "var go : bool = false", "actor a { await go }", "actor b { go = true }"
    )
    result = run(waiting)
    assert result.violated() == (Property.DEADLOCK,)
    trace = result.trace_for(Property.DEADLOCK)
    assert trace is not None and trace.blocked == ("a",)
    assert violated(released) == set()


def test_assignment_out_of_range_is_an_assertion_failure() -> None:
    text = spec(MIGRATE, "var x : int[0..1] = 1", "actor a { x = x + 1 }")
    assert violated(text) == {Property.ASSERTION}


# ---------------------------------------------------------------- the core's batch flow


BATCH = spec(
    "return call migrate_page",
    "param pages = 2",
    "param migrators = 2",
    "param batch_lock = {lock}",
    "param batch_order = {order}",
)


def test_blocking_batches_in_opposite_orders_deadlock() -> None:
    text = BATCH.replace("{lock}", "blocking").replace("{order}", "opposite")
    result = run(text, Mode.SYNC_NO_COPY)
    assert result.violated() == (Property.DEADLOCK,)


def test_batches_in_the_same_order_or_with_trylock_do_not() -> None:
    same = BATCH.replace("{lock}", "blocking").replace("{order}", "same")
    trylock = BATCH.replace("{lock}", "trylock").replace("{order}", "opposite")
    assert violated(same, Mode.SYNC_NO_COPY) == set()
    assert violated(trylock, Mode.SYNC_NO_COPY) == set()


def test_a_partial_deadlock_is_found_while_others_still_run() -> None:
    text = spec(
        MIGRATE,
        "lock a : mutex",
        "lock b : mutex",
        "var n : int[0..4] = 0",
        "actor left { lock a\nlock b\nunlock b\nunlock a }",
        "actor right { lock b\nlock a\nunlock a\nunlock b }",
        "actor busy { repeat 4 { n = n + 1 } }",
    )
    result = run(text)
    trace = result.trace_for(Property.DEADLOCK)
    assert trace is not None
    assert {e.waiter for e in trace.cycle} == {"left", "right"}
    assert "busy" not in trace.blocked and "migrator" not in trace.blocked


def test_counterexamples_are_shortest() -> None:
    text = spec(
        "lock a\nlock b\nunlock b\nunlock a\n" + MIGRATE,
        "lock a : mutex",
        "lock b : mutex",
        "actor other { lock b\nlock a\nunlock a\nunlock b }",
    )
    trace = run(text).trace_for(Property.DEADLOCK)
    assert trace is not None
    # trylock page (with the writeback test, which reads only the migrator's own state here),
    # trylock new page, lock a, and the actor's lock b
    assert len(trace.steps) == 4


# ---------------------------------------------------------------- callers and other pages


def test_caller_holds_makes_taking_the_lock_again_a_self_deadlock() -> None:
    body = "lock l\nunlock l\n" + MIGRATE
    inside = spec(body, "lock l : mutex", "caller holds l in ASYNC, SYNC_LIGHT")
    outside = spec(body, "lock l : mutex")
    result = run(inside, Mode.SYNC_LIGHT)
    assert result.violated() == (Property.DEADLOCK,)
    trace = result.trace_for(Property.DEADLOCK)
    assert trace is not None
    called, taken = trace.steps[0], trace.steps[1]
    assert called.action == "migrate_pages() called by direct_compaction or kcompactd, holding l"
    assert taken.action == "lock l" and taken.span is not None and taken.span.line == 4
    assert violated(inside, Mode.SYNC) == set()
    assert violated(outside, Mode.SYNC_LIGHT) == set()


def test_caller_held_locks_are_not_the_callbacks_to_release() -> None:
    text = spec(MIGRATE, "lock l : spinlock", "caller holds l")
    assert violated(text) == set()
    sleeping = spec(
        "lock m\nunlock m\n" + MIGRATE, "lock l : spinlock", "lock m : mutex", "caller holds l"
    )
    assert violated(sleeping) == {Property.LOCK_BALANCE}


def test_an_actor_on_one_page_runs_once() -> None:
    text = spec(
        MIGRATE,
        "var n : int[0..2] = 0",
        "actor a on page 1 { n = n + 1 }",
        'actor check { assert n <= 1, "ran twice" }',
    )
    assert violated(text, pages=2) == set()
    everywhere = text.replace("actor a on page 1 {", "actor a {")
    assert violated(everywhere, pages=2) == {Property.ASSERTION}


def test_page_index_names_another_pages_lock() -> None:
    """A path holding page 0's buffers and waiting for page 1 deadlocks only against the batch,
    which holds both page locks while a callback sleeps on the buffers."""
    text = spec(
        "move_mapping\nlock buffers\ncopy_states\nunlock buffers\nreturn OK",
        "param pages = 2",
        "actor walker on page 0 { lock buffers\nlock page[1]\nunlock page[1]\nunlock buffers }",
    )
    result = run(text, Mode.SYNC_NO_COPY)
    trace = result.trace_for(Property.DEADLOCK)
    assert trace is not None
    assert {(e.waiter, e.resource) for e in trace.cycle} == {
        ("migrator", "buffer locks 0"),
        ("walker", "page lock 1"),
    }
    assert Property.DEADLOCK not in violated(text, Mode.SYNC)


def test_the_merged_migrate_vma_flow_copies_before_the_state_migrates() -> None:
    # the core declares the early device copy (`departs copy-order`): a finding about the core,
    # reported apart from the spec's verdict
    locked_writer = spec(
        "return call migrate_page",
        "param nocopy_flow = migrate_vma",
        "actor user { lock page\nwrite page\nunlock page }",
    )
    merged = run(locked_writer, Mode.SYNC_NO_COPY)
    assert set(merged.violated()) == set()
    assert [f.property for f in merged.findings] == [Property.COPY_ORDER]
    intended = run(locked_writer.replace("param nocopy_flow = migrate_vma", ""), Mode.SYNC_NO_COPY)
    assert set(intended.violated()) == set() and intended.findings == ()
    # migrate_vma_pages() calls migrate_page() itself: the owner's callback, which would move
    # the pointer, never runs, so a write through the pointer lands on the old page
    pointer_writer = AIO_LIKE.replace(
        "{copy}", "if mode == SYNC_NO_COPY { copy_states } else { copy }"
    ).replace("{repoint}", "repoint ring") + "param nocopy_flow = migrate_vma\n"
    assert violated(pointer_writer, Mode.SYNC_NO_COPY) == {Property.LOST_UPDATE}
