"""Merging steps on a thread's private state (model/compiler/fusion.py) changes no verdict.

The argument is in the module's docstring; this checks it against the unmerged model on the
whole corpus under every shipped core, and on the constructs that make steps private."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.engines.budget import Budget
from checker.engines.explicit import search
from checker.result import ModeResult
from checker.run import Overrides, instance_params, load_spec
from model.compiler.system import NotInKernel, compile_system
from model.kernel.cores import load_core, shipped_names
from model.kinds import ALL_MODES

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(ROOT.glob("specs/*.mig")) + sorted(ROOT.glob("specs/bad/*.mig"))


def _outcome(result: ModeResult) -> tuple[object, ...]:
    return (
        result.verdict,
        frozenset(result.violated()),
        frozenset(result.refused_with),
        frozenset(f.property for f in result.findings),
    )


@pytest.mark.parametrize("core_name", shipped_names())
def test_fused_and_unfused_models_agree(core_name: str) -> None:
    core = load_core(core_name)
    budget = Budget(max_states=400_000)
    compared = 0
    for path in SPECS:
        spec = load_spec(path).spec
        params = instance_params(spec, Overrides())
        for mode in ALL_MODES:
            try:
                fused = search.check(compile_system(spec, mode, params, core), budget)
            except NotInKernel:
                continue
            unfused = search.check(compile_system(spec, mode, params, core, fuse=False), budget)
            assert _outcome(fused) == _outcome(unfused), (path.name, mode)
            for prop in fused.violated():
                short, long = fused.trace_for(prop), unfused.trace_for(prop)
                assert short is not None and long is not None
                # merged steps make traces shorter, never longer
                assert len(short.steps) <= len(long.steps), (path.name, mode, prop)
            compared += 1
    assert compared >= 3 * len(SPECS)


def test_steps_merged_into_the_start_count_as_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no other thread, the migrator's first steps are decided by its initial state and
    merged into its start; they ran all the same, so coverage must not call them unreached."""
    from tests.cli_helpers import migcheck

    spec = tmp_path / "plain.mig"
    spec.write_text('spec plain\nsource "t"\ncallback { move_mapping; copy; return OK }\n')
    outcome = migcheck(f"check {spec} --mode SYNC", monkeypatch)
    assert outcome.exit_code == 0
    assert "never reached" not in outcome.stderr
