"""How far each engine scales with the batch size.

For each engine, spec and mode, check pages = 1..8 with a 60 s budget and print the median time
over a few runs (one run once a check takes over 5 s) and the first batch size at which the
engine no longer answers.  Run it by hand: ``python bench/engine_scaling.py [specs...]``.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

from checker.engines.budget import Budget
from checker.engines.explicit import search as explicit
from checker.engines.z3 import engine as z3engine
from checker.result import Verdict
from checker.run import Overrides, instance_params, load_spec
from model.compiler.system import compile_system
from model.kinds import Mode

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = ("bench/models/batch_writers.mig", "specs/migrate_page.mig")
MODES = (Mode.SYNC_NO_COPY,)
TIMEOUT = 60.0
RUNS = 3
PAGES = range(1, 9)


def machine() -> str:
    return (f"{platform.platform()}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"z3 {z3engine.solver_version()}")


def measure(engine: str, path: Path, mode: Mode, pages: int) -> tuple[str, float]:
    spec = load_spec(path, str(path)).spec
    system = compile_system(spec, mode, instance_params(spec, Overrides(pages=pages)))
    times: list[float] = []
    verdict = ""
    for _ in range(RUNS):
        started = time.monotonic()
        if engine == "explicit":
            result = explicit.check(system, Budget(max_states=None, timeout=TIMEOUT))
        else:
            result = z3engine.check(system, Budget(timeout=TIMEOUT))
        times.append(time.monotonic() - started)
        verdict = result.verdict.value
        if result.verdict is Verdict.UNKNOWN or times[-1] > 5:
            break
    return verdict, statistics.median(times)


def main(arguments: list[str]) -> None:
    specs = [ROOT / s for s in (arguments or DEFAULT_SPECS)]
    print(machine())
    print(f"budget {TIMEOUT:g} s per check; median of up to {RUNS} runs\n")
    print(f"{'engine':9} {'spec':22} {'mode':13} {'pages':>5} {'verdict':9} {'seconds':>8}")
    summary: list[str] = []
    for engine in ("explicit", "z3"):
        for path in specs:
            for mode in MODES:
                stopped = "answers up to 8"
                for pages in PAGES:
                    try:
                        verdict, seconds = measure(engine, path, mode, pages)
                    except ValueError as problem:
                        verdict, seconds = f"({problem})", 0.0
                    print(f"{engine:9} {path.stem:22} {mode.value:13} {pages:>5} "
                          f"{verdict:9} {seconds:8.2f}", flush=True)
                    if verdict == "unknown" or verdict.startswith("("):
                        stopped = f"stops at {pages}"
                        break
                summary.append(f"{engine:9} {path.stem:22} {mode.value:13} {stopped}")
    print("\nwhere each engine stops answering within the budget:")
    print("\n".join(summary))


if __name__ == "__main__":
    main(sys.argv[1:])
