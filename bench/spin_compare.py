#!/usr/bin/env python3
"""migcheck against SPIN on the same models: time and memory per batch size.

For each model and batch size, migcheck's explicit engine checks the model (median of
--runs runs, each in a fresh process so peak memory is its own), then the same transition
system is exported to Promela and checked by SPIN (spin -a; gcc -O2 -DSAFETY; ./pan), once,
with a memory and a time limit.  Prints one table row per (model, mode, pages).

    python bench/spin_compare.py [--pages 5 6 7 8] [--runs 3] [--spin-memory 8192]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = [
    ("bench/models/batch_writers.mig", "SYNC_NO_COPY"),
]


def run_measured(command: list[str], timeout: float) -> tuple[float, float, int, str]:
    """Run under GNU time for the child's own peak RSS."""
    timed = ["/usr/bin/time", "-f", "__TIME__ %e %M", *command]
    started = time.monotonic()
    try:
        done = subprocess.run(timed, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return time.monotonic() - started, float("nan"), -1, ""
    match = re.search(r"__TIME__ ([0-9.]+) ([0-9]+)", done.stderr)
    if match is None:
        return time.monotonic() - started, float("nan"), done.returncode, done.stdout
    return float(match.group(1)), int(match.group(2)) / 1024, done.returncode, done.stdout


def migcheck_row(spec: str, mode: str, pages: int, runs: int, timeout: float) -> dict[str, str]:
    times, memories, states = [], [], "?"
    verdict = "?"
    for _ in range(runs):
        seconds, mib, status, out = run_measured(
            [sys.executable, "-m", "checker.cli", "check", spec, "--mode", mode, "--pages",
             str(pages), "--max-states", "50000000", "--format", "json"], timeout)
        if status == -1:
            return {"time": f">{timeout:.0f} s", "memory": "-", "states": "-", "verdict": "timeout"}
        times.append(seconds)
        memories.append(mib)
        found = re.search(r'"states": (\d+)', out)
        states = found.group(1) if found else "?"
        verdict_match = re.search(r'"verdict": "(\w+)"', out)
        verdict = verdict_match.group(1) if verdict_match else "?"
    return {
        "time": f"{statistics.median(times):.2f} s",
        "memory": f"{statistics.median(memories):.0f} MiB",
        "states": states,
        "verdict": verdict,
        "seconds": str(statistics.median(times)),
    }


def spin_row(spec: str, mode: str, pages: int, memory: int, timeout: float) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as workdir:
        model = Path(workdir) / "model.pml"
        subprocess.run([sys.executable, "-m", "checker.cli", "export", "--promela", spec,
                        "--mode", mode, "--pages", str(pages), "-o", str(model)],
                       check=True, cwd=ROOT)
        subprocess.run(["spin", "-a", "model.pml"], check=True, cwd=workdir,
                       capture_output=True)
        subprocess.run(["gcc", "-O2", "-DSAFETY", f"-DMEMLIM={memory}", "-o", "pan", "pan.c"],
                       check=True, cwd=workdir, capture_output=True)
        timed = ["/usr/bin/time", "-f", "__TIME__ %e %M", "./pan", "-m100000"]
        try:
            done = subprocess.run(timed, capture_output=True, text=True, timeout=timeout,
                                  cwd=workdir)
        except subprocess.TimeoutExpired:
            return {"time": f">{timeout:.0f} s", "memory": "-", "states": "-",
                    "verdict": "timeout"}
    match = re.search(r"__TIME__ ([0-9.]+) ([0-9]+)", done.stderr)
    stored = re.search(r"([0-9.e+]+) states, stored", done.stdout)
    errors = re.search(r"errors: (\d+)", done.stdout)
    out_of_memory = any(
        sign in done.stdout + done.stderr
        for sign in ("out of memory", "reached -DMEMLIM bound", "insufficient memory")
    )
    verdict = "out of memory" if out_of_memory else (
        "holds" if errors and errors.group(1) == "0" else "violated" if errors else "?")
    return {
        "time": f"{float(match.group(1)):.2f} s" if match else "?",
        "memory": f"{int(match.group(2)) / 1024:.0f} MiB" if match else "?",
        "states": stored.group(1) if stored and not out_of_memory else "-",
        "verdict": verdict,
        "seconds": match.group(1) if match else "nan",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[5, 6, 7, 8])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--spin-memory", type=int, default=8192, help="SPIN's MEMLIM, MiB")
    parser.add_argument("--timeout", type=float, default=600.0, help="per run, seconds")
    args = parser.parse_args()
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        sys.exit("spin and gcc are needed: apt-get install spin gcc")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; SPIN MEMLIM {args.spin_memory} MiB, "
          f"timeout {args.timeout:.0f} s; migcheck median of {args.runs} runs")
    header = ("model", "mode", "pages", "migcheck states", "migcheck time", "migcheck memory",
              "SPIN states", "SPIN time", "SPIN memory", "SPIN verdict", "time ratio")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for spec, mode in MODELS:
        for pages in args.pages:
            mine = migcheck_row(spec, mode, pages, args.runs, args.timeout)
            theirs = spin_row(spec, mode, pages, args.spin_memory, args.timeout)
            try:
                ratio = f"{float(theirs['seconds']) / float(mine['seconds']):.1f}x"
            except (KeyError, ValueError, ZeroDivisionError):
                ratio = "-"
            print(" | ".join((Path(spec).stem, mode, str(pages), mine["states"], mine["time"],
                              mine["memory"], theirs["states"], theirs["time"],
                              theirs["memory"], theirs["verdict"], ratio)), flush=True)


if __name__ == "__main__":
    main()
