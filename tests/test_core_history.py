"""Migration-core bugs from the kernel's own history, each as a pair: the shipped core, and the
same core edited back to before the fix (the way a developer would edit a copy of a core to
check a patch to mm/migrate.c).  The core before the fix shows the violation with a trace
through the core's lines; the fixed core holds.  Commits are cited by subject line."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.engines.budget import Budget
from checker.engines.explicit import search
from checker.result import ModeResult, Verdict
from checker.run import Overrides, instance_params, load_spec
from model.compiler.system import compile_system
from model.kernel.cores import load_core, shipped_path
from model.kinds import Mode, Property
from model.language import ast

HISTORY = Path(__file__).resolve().parent / "data" / "history"


def _variant(tmp_path: Path, core: str, name: str, edits: list[tuple[str, str]]) -> ast.Core:
    """The shipped core ``core`` with each ``(text, replacement)`` applied exactly once."""
    text = Path(shipped_path(core)).read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"{core}: the fix's text is not in the core: {old!r}"
        text = text.replace(old, new)
    text = text.replace(f"core {core}\n", f"core {name}\n")
    path = tmp_path / f"{name}.mig"
    path.write_text(text, encoding="utf-8")
    return load_core(str(path))


def _check(spec_file: str, core: ast.Core, mode: Mode) -> ModeResult:
    spec = load_spec(HISTORY / spec_file).spec
    params = instance_params(spec, Overrides())
    return search.check(compile_system(spec, mode, params, core), Budget(max_states=500_000))


def _cites(result: ModeResult, prop: Property, core: ast.Core) -> None:
    """The violation's trace goes through lines of the core file."""
    trace = result.trace_for(prop)
    assert trace is not None
    lines = [s.span for s in trace.steps if s.span is not None and s.span.file == core.file]
    assert lines, "the trace cites no line of the core"


NO_MEMALLOC_TEST = ("        if caller.memalloc { continue }                    # PF_MEMALLOC: "
                    "never lock_page()\n", "")


@pytest.mark.parametrize("core", ["linux-4.14", "linux-5.10"])
def test_direct_compaction_never_waits_for_a_page_its_task_locked(
    tmp_path: Path, core: str
) -> None:
    """'mm: compaction: Avoid a potential deadlock due to lock_page() during direct
    compaction': before it, direct compaction called lock_page() in a forced pass on a page its
    own task had locked for readahead."""
    before = _variant(tmp_path, core, f"{core}-before-memalloc-test", [NO_MEMALLOC_TEST])
    broken = _check("readahead_direct_compaction.mig", before, Mode.SYNC_LIGHT)
    assert set(broken.violated()) == {Property.DEADLOCK}
    trace = broken.trace_for(Property.DEADLOCK)
    assert trace is not None and trace.message == (
        "deadlock: migrator waits for a lock it holds itself"
    )
    _cites(broken, Property.DEADLOCK, before)
    fixed = _check("readahead_direct_compaction.mig", load_core(core), Mode.SYNC_LIGHT)
    assert fixed.verdict is Verdict.HOLDS


BATCH_EVERY_MODE = (
    "  batch(ASYNC, 3)                                          # the batch, asynchronously first\n"
    "  for page in pages {                                      # then each folio that did not "
    "migrate\n"
    "    if outcome != migrated {\n"
    "      outcome = pending\n"
    "      batch(mode, 7) on page                               # alone, in the real mode\n"
    "    }\n"
    "  }\n",
    "  batch(mode, 10)                                          # every mode batched\n",
)


def test_a_synchronous_batch_waits_for_writeback_with_other_folios_locked(
    tmp_path: Path,
) -> None:
    """'migrate_pages: fix deadlock in batched migration' and 'migrate_pages: try migrate in
    batch asynchronously firstly' (6.3): before them every mode was batched, so SYNC waited for
    folio B's writeback with folio A of the batch locked."""
    before = _variant(tmp_path, "linux-6.6", "linux-6.3-rc1", [BATCH_EVERY_MODE])
    broken = _check("loop_writeback.mig", before, Mode.SYNC)
    assert set(broken.violated()) == {Property.DEADLOCK}
    _cites(broken, Property.DEADLOCK, before)
    fixed = _check("loop_writeback.mig", load_core("linux-6.6"), Mode.SYNC)
    assert fixed.verdict is Verdict.HOLDS


@pytest.mark.parametrize("mode", [Mode.SYNC_LIGHT, Mode.SYNC])
def test_batching_broke_a_callback_that_sleeps_for_buffer_locks(
    tmp_path: Path, mode: Mode
) -> None:
    """A callback that sleeps in lock_buffer() outside ASYNC was safe while the core held one
    page at a time (5.10); batching every mode (6.3-rc1) deadlocks it against a path that holds
    a buffer lock and wants another page of the list; 6.6, whose synchronous modes batch only
    in ASYNC, holds again."""
    callback_safe = _check("buffers_in_a_batch.mig", load_core("linux-5.10"), mode)
    assert callback_safe.verdict is Verdict.HOLDS
    before = _variant(tmp_path, "linux-6.6", "linux-6.3-rc1", [BATCH_EVERY_MODE])
    broken = _check("buffers_in_a_batch.mig", before, mode)
    assert set(broken.violated()) == {Property.DEADLOCK}
    _cites(broken, Property.DEADLOCK, before)
    assert _check("buffers_in_a_batch.mig", load_core("linux-6.6"), mode).verdict is Verdict.HOLDS


def test_sync_light_does_not_wait_for_read_io(tmp_path: Path) -> None:
    """'migrate_pages: avoid blocking for IO in MIGRATE_SYNC_LIGHT' (6.5): before it,
    kcompactd waited in folio_lock() for a folio locked across its read."""
    before = _variant(
        tmp_path,
        "linux-6.6",
        "linux-6.4",
        [("        if m == SYNC_LIGHT && !uptodate { continue }       # not worth waiting for "
          "I/O\n", "")],
    )
    broken = _check("read_io_sync_light.mig", before, Mode.SYNC_LIGHT)
    assert set(broken.violated()) == {Property.MODE_DISCIPLINE}
    _cites(broken, Property.MODE_DISCIPLINE, before)
    fixed = _check("read_io_sync_light.mig", load_core("linux-6.6"), Mode.SYNC_LIGHT)
    assert fixed.verdict is Verdict.HOLDS
    # 4.14 has the wait too, and declares it a departure: a finding about the core
    old = _check("read_io_sync_light.mig", load_core("linux-4.14"), Mode.SYNC_LIGHT)
    assert old.verdict is Verdict.HOLDS
    assert [f.property for f in old.findings] == [Property.MODE_DISCIPLINE]


def test_splitting_a_large_folio_does_not_block_with_the_batch_locked() -> None:
    """'mm/migrate: fix deadlock in migrate_pages_batch() on large folios' (6.11-rc4):
    try_split_folio() in 6.6 blocks in folio_lock() on large folio B while the ASYNC batch holds
    folio A; EROFS readahead holds B and waits for A."""
    core = load_core("linux-6.6")
    broken = _check("large_folio_split.mig", core, Mode.ASYNC)
    assert set(broken.violated()) == {Property.DEADLOCK}
    _cites(broken, Property.DEADLOCK, core)
    assert [f.property for f in broken.findings] == [Property.MODE_DISCIPLINE]
    fixed = _check("large_folio_split.mig", load_core("linux-6.11"), Mode.ASYNC)
    assert fixed.verdict is Verdict.HOLDS and fixed.findings == ()
