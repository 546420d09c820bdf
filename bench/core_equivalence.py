"""The corpus under the Linux 4.14 core written as a spec against the core hand-written in
Python that it replaced: verdicts, shortest-trace lengths, states and time, side by side.

The hand-written core lives in git history; this script unpacks the source tree of a revision
that still has it (``--old-ref``, by default the last one) into a temporary folder and runs the
same spec files through both, each in its own process, the explicit engine with its default
budget.  Times are medians of ``--runs`` runs.

    python bench/core_equivalence.py [--old-ref REV] [--runs N] [SPEC ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAST_HAND_WRITTEN_CORE = "e5690fd"

RUNNER = r"""
import json, os, sys, time
# the tree under test comes first: not the working directory, not an installed migcheck
sys.path = [sys.argv[1]] + [p for p in sys.path if p not in ("", os.getcwd())]
sys.meta_path = [f for f in sys.meta_path if "editable" not in type(f).__module__]
from pathlib import Path
from checker.engines.budget import Budget
from checker.engines.explicit import search
from checker.run import Overrides, instance_params, load_spec
from model.kinds import ALL_MODES
try:
    from model.compiler.system import compile_system
except ImportError:
    from model.compiler.core import compile_system
runs = int(sys.argv[2])
rows = []
for name in sys.argv[3:]:
    spec = load_spec(Path(name)).spec
    params = instance_params(spec, Overrides())
    for mode in ALL_MODES:
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            result = search.check(compile_system(spec, mode, params), Budget())
            seconds.append(time.perf_counter() - started)
        traces = {}
        for prop in result.violated():
            trace = result.trace_for(prop)
            traces[prop.value] = len(trace.steps) if trace is not None else -1
        rows.append({
            "spec": name, "mode": mode.value, "verdict": result.verdict.value,
            "refused": sorted(c.name for c in result.refused_with), "traces": traces,
            "states": result.statistics.states, "seconds": seconds,
        })
print(json.dumps(rows))
"""


def _unpack(revision: str, target: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "model", "checker"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


def _run(tree: Path, runs: int, specs: list[str]) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tree), str(runs), *specs],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    rows: list[dict[str, object]] = json.loads(done.stdout)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-ref", default=LAST_HAND_WRITTEN_CORE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("specs", nargs="*")
    arguments = parser.parse_args()
    specs = arguments.specs or [
        str(p.relative_to(ROOT))
        for p in sorted(ROOT.glob("specs/*.mig")) + sorted(ROOT.glob("specs/bad/*.mig"))
    ]
    with tempfile.TemporaryDirectory() as folder:
        old_tree = Path(folder)
        _unpack(arguments.old_ref, old_tree)
        old = _run(old_tree, arguments.runs, specs)
    new = _run(ROOT, arguments.runs, specs)
    header = (
        f"{'spec':44} {'mode':12} {'verdict (old -> new)':34} {'trace steps':18} "
        f"{'states old':>10} {'new':>7} {'ratio':>6} {'s old':>7} {'s new':>7} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    old_total = new_total = 0.0
    differ = 0
    for before, after in zip(old, new, strict=True):
        verdict = _verdict(before)
        if _verdict(after) != verdict:
            verdict += " -> " + _verdict(after)
            differ += 1
        lengths = ", ".join(
            f"{before['traces'][p]}->{after['traces'].get(p, '-')}"  # type: ignore[index,union-attr]
            for p in before["traces"]  # type: ignore[union-attr]
        )
        old_seconds = statistics.median(before["seconds"])  # type: ignore[arg-type]
        new_seconds = statistics.median(after["seconds"])  # type: ignore[arg-type]
        old_total += old_seconds
        new_total += new_seconds
        states_ratio = int(after["states"]) / max(int(before["states"]), 1)  # type: ignore[call-overload]
        print(
            f"{str(before['spec']).removeprefix('specs/'):44} {before['mode']!s:12} "
            f"{verdict:34} {lengths:18} {before['states']!s:>10} {after['states']!s:>7} "
            f"{states_ratio:6.2f} {old_seconds:7.3f} {new_seconds:7.3f} "
            f"{new_seconds / max(old_seconds, 1e-9):6.2f}"
        )
    print("-" * len(header))
    print(
        f"{len(old)} mode-runs, {differ} verdicts differ; time over the corpus "
        f"(medians of {arguments.runs}): hand-written core {old_total:.2f} s, "
        f"core spec {new_total:.2f} s, ratio {new_total / max(old_total, 1e-9):.2f}"
    )
    return 0


def _verdict(row: dict[str, object]) -> str:
    text = str(row["verdict"])
    if row["refused"]:
        text += " " + ",".join(row["refused"])  # type: ignore[call-overload]
    if row["traces"]:
        text += " " + ",".join(sorted(row["traces"]))  # type: ignore[call-overload]
    return text


if __name__ == "__main__":
    raise SystemExit(main())
