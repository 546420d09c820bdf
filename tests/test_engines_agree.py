"""Both engines judge every corpus spec in every mode alike, and z3 answers where it should.

The corpus is globbed, so new specs join automatically.  For every (spec, mode) the explicit
engine must finish, and a z3 verdict other than UNKNOWN must equal the explicit one: verdict,
violated properties, refused codes, and counterexample lengths (both engines report shortest
traces).  For the pairs in :data:`ANSWERED` z3 must also answer, so a regression in the z3
engine fails here instead of turning into UNKNOWN.

The list was measured on a 2-core machine with two checks running at once: every corpus pair
was answered within a 20 s budget, the slowest (aio_copy_outside_completion_lock in SYNC_LIGHT,
a counterexample of BMC) in 10.6 s, the slowest proof (buffer_migrate_page in ASYNC) in 5.7 s.
:data:`TIMEOUT` leaves a margin of about three over the slowest.  No pair is left out for time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from checker.engines.budget import Budget
from checker.engines.explicit import search as explicit
from checker.engines.z3 import engine as z3engine
from checker.result import ModeResult, Verdict
from checker.run import Overrides, instance_params, load_spec
from model.compiler.system import compile_system
from model.kinds import ALL_MODES, Mode

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.mig")) + sorted((ROOT / "specs/bad").glob("*.mig"))
TIMEOUT = float(os.environ.get("MIGCHECK_Z3_TIMEOUT", "30"))

EVERY_MODE = ("ASYNC", "SYNC_LIGHT", "SYNC", "SYNC_NO_COPY")

# (spec, modes) that z3 answered (not UNKNOWN) in the measurement above.
ANSWERED: dict[str, tuple[str, ...]] = {
    "specs/aio.mig": EVERY_MODE,
    "specs/balloon.mig": EVERY_MODE,
    "specs/btrfs_btree.mig": EVERY_MODE,
    "specs/buffer_migrate_page.mig": EVERY_MODE,
    "specs/f2fs.mig": EVERY_MODE,
    "specs/fallback_migrate_page.mig": EVERY_MODE,
    "specs/hugetlbfs.mig": EVERY_MODE,
    "specs/migrate_page.mig": EVERY_MODE,
    "specs/migrate_vma.mig": EVERY_MODE,
    "specs/nfs.mig": EVERY_MODE,
    "specs/ubifs.mig": EVERY_MODE,
    "specs/zsmalloc.mig": EVERY_MODE,
    "specs/bad/aio_copy_outside_completion_lock.mig": EVERY_MODE,
    "specs/bad/aio_no_copy_guard.mig": EVERY_MODE,
    "specs/bad/aio_ring_lock_blocking.mig": EVERY_MODE,
    "specs/bad/balloon_lock_blocking.mig": EVERY_MODE,
    "specs/bad/balloon_no_copy_guard.mig": EVERY_MODE,
    "specs/bad/batch_opposite_order.mig": EVERY_MODE,
    "specs/bad/buffer_async_lock_buffer.mig": EVERY_MODE,
    "specs/bad/buffer_batch_page_lock_cycle.mig": EVERY_MODE,
    "specs/bad/f2fs_inmem_lock_blocking.mig": EVERY_MODE,
    "specs/bad/fallback_writeout_sync_light.mig": EVERY_MODE,
    "specs/bad/migrate_page_copy_no_copy.mig": EVERY_MODE,
    "specs/bad/zsmalloc_no_copy_guard.mig": EVERY_MODE,
    "specs/bad/zsmalloc_pin_blocking.mig": EVERY_MODE,
}


def _signature(result: ModeResult) -> tuple[object, ...]:
    return (result.verdict, frozenset(result.violated()), frozenset(result.refused_with))


def test_answered_names_corpus_pairs() -> None:
    """Every listed pair is in the corpus, so a renamed spec cannot drop out of the list."""
    corpus = {str(path.relative_to(ROOT)) for path in SPECS}
    assert set(ANSWERED) <= corpus
    known = {mode.value for mode in ALL_MODES}
    assert all(set(modes) <= known for modes in ANSWERED.values())


@pytest.mark.parametrize("mode", ALL_MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_engines_agree(path: Path, mode: Mode) -> None:
    name = str(path.relative_to(ROOT))
    spec = load_spec(path, name).spec
    system = compile_system(spec, mode, instance_params(spec, Overrides()))
    reference = explicit.check(system, Budget())
    assert reference.verdict is not Verdict.UNKNOWN, reference.reason
    result = z3engine.check(system, Budget(timeout=TIMEOUT))
    if mode.value in ANSWERED.get(name, ()):
        assert result.verdict is not Verdict.UNKNOWN, result.reason
    if result.verdict is Verdict.UNKNOWN:
        assert set(result.violated()) <= set(reference.violated())
        return
    assert _signature(result) == _signature(reference)
    for prop in result.violated():
        ours, theirs = result.trace_for(prop), reference.trace_for(prop)
        assert ours is not None and theirs is not None
        assert len(ours.steps) == len(theirs.steps)
