"""Cross-check verdicts with SPIN on the Promela export of the same models.

SPIN sees assertion violations (every property migcheck checks on a step or a location) and
invalid end states (global deadlocks); it does not see a partial deadlock.  For each model the
test asks SPIN whether any error exists and compares with migcheck.  Without ``spin`` on PATH
these tests are skipped, unless MIGCHECK_REQUIRE_SPIN is set (as in CI), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from checker.engines.explicit import search as explicit
from checker.export.promela import export
from model.compiler.system import compile_system
from model.kinds import Mode, Property
from model.language.params import params_of
from model.language.parser import parse_file

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    ("specs/aio.mig", Mode.SYNC),
    ("specs/aio.mig", Mode.SYNC_NO_COPY),
    ("specs/bad/aio_no_copy_guard.mig", Mode.SYNC_NO_COPY),
    ("specs/bad/aio_ring_lock_blocking.mig", Mode.SYNC),
    ("specs/bad/batch_opposite_order.mig", Mode.SYNC_NO_COPY),
    ("specs/bad/migrate_page_copy_no_copy.mig", Mode.SYNC_NO_COPY),
    ("specs/bad/fallback_writeout_sync_light.mig", Mode.SYNC_LIGHT),
    ("specs/zsmalloc.mig", Mode.ASYNC),
    ("specs/balloon.mig", Mode.ASYNC),
    ("specs/f2fs.mig", Mode.SYNC),
]


def _spin_available() -> bool:
    found = shutil.which("spin") is not None and shutil.which("gcc") is not None
    if not found and os.environ.get("MIGCHECK_REQUIRE_SPIN"):
        pytest.fail("MIGCHECK_REQUIRE_SPIN is set but spin or gcc is not on PATH")
    return found


def _spin_finds_error(model: str, workdir: Path) -> bool:
    (workdir / "model.pml").write_text(model, encoding="utf-8")
    subprocess.run(["spin", "-a", "model.pml"], cwd=workdir, check=True, capture_output=True)
    subprocess.run(
        ["gcc", "-O1", "-DSAFETY", "-DMEMLIM=2048", "-o", "pan", "pan.c"],
        cwd=workdir, check=True, capture_output=True,
    )
    run = subprocess.run(["./pan", "-m100000"], cwd=workdir, capture_output=True, text=True,
                         check=False)
    summary = [line for line in run.stdout.splitlines() if "errors:" in line]
    assert summary, run.stdout + run.stderr
    return not summary[-1].rstrip().endswith("errors: 0")


@pytest.mark.parametrize(("path", "mode"), CASES, ids=lambda c: str(c))
def test_spin_agrees(path: str, mode: Mode, tmp_path: Path) -> None:
    if not _spin_available():
        pytest.skip("spin is not installed (apt-get install spin)")
    spec = parse_file(ROOT / path, path)
    params, _ = params_of(spec)
    system = compile_system(spec, mode, params)
    result = explicit.check(system)
    violated = set(result.violated())
    deadlock_trace = result.trace_for(Property.DEADLOCK)
    partial_only = (
        violated == {Property.DEADLOCK}
        and deadlock_trace is not None
        and bool(deadlock_trace.cycle)
        and set(deadlock_trace.blocked) != {t.name for t in system.threads}
    )
    expected_error = bool(violated) and not partial_only
    assert _spin_finds_error(export(system), tmp_path) == expected_error, (
        f"{path} {mode.value}: migcheck says {sorted(p.value for p in violated)}"
    )
