"""Outputs checked by the tools that read them: SARIF by Microsoft's SARIF Multitool (the
validator behind GitHub code scanning's ingestion rules), DOT by Graphviz.

Each test skips when its tool is missing, unless MIGCHECK_REQUIRE_SARIF_MULTITOOL=1 or
MIGCHECK_REQUIRE_GRAPHVIZ=1 is set (as .ci/run does): then a missing tool fails the test.  The
multitool is found as MIGCHECK_SARIF_MULTITOOL, or as ``sarif-multitool``,
``sarif-multitool-linux`` or ``sarif`` on PATH (``npm i -g @microsoft/sarif-multitool``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from checker.engines import registry
from checker.engines.budget import Budget
from checker.engines.explicit.search import Progress
from checker.result import ModeResult
from model.ts import TransitionSystem
from tests.cli_helpers import migcheck

CI = "tests/data/ci"


def _tool(names: tuple[str, ...], variable: str, require: str, what: str) -> str:
    explicit = os.environ.get(variable, "")
    found = explicit or next((p for p in map(shutil.which, names) if p), "")
    if found and Path(found).exists():
        return found
    message = (f"{what} not found (set {variable}, or put {' or '.join(names)} on PATH)")
    if os.environ.get(require) == "1":
        pytest.fail(f"{message}; {require}=1 requires it")
    pytest.skip(message)


def _multitool() -> str:
    return _tool(("sarif-multitool", "sarif-multitool-linux", "sarif"),
                 "MIGCHECK_SARIF_MULTITOOL", "MIGCHECK_REQUIRE_SARIF_MULTITOOL",
                 "the SARIF Multitool")


def _validate(tool: str, sarif: Path) -> list[str]:
    """The multitool's findings on ``sarif`` (every rule kind GitHub applies), as text."""
    log = sarif.with_suffix(".validation.sarif")
    args = ["validate", "--rule-kind", "Sarif;Gh", str(sarif), "-o", str(log)]
    if os.path.realpath(tool).endswith(".js"):
        # npm's wrapper runs the binary through a shell: ';' would end the command there
        args = [shlex.quote(a) for a in args]
    done = subprocess.run([tool, *args], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(log.read_text(encoding="utf-8-sig"))["runs"][0].get("results", [])
    return [f"{r['ruleId']}: {r['message']}" for r in results]


def _crash(system: TransitionSystem, budget: Budget,
           progress: Progress | None = None) -> ModeResult:
    raise ZeroDivisionError("the engine divided by zero")


def _interrupt(system: TransitionSystem, budget: Budget,
               progress: Progress | None = None) -> ModeResult:
    raise KeyboardInterrupt


REFUSING = ("spec refuses\ncallback {\n  if mode == SYNC { return EINVAL }\n  copy\n"
            "  return OK\n}\nexpect SYNC : holds\n")

REPORTS = {
    "violations, coverage, spec errors": [CI, "tests/data/coverage",
                                          "tests/data/bad/undeclared_lock.mig"],
    "budget": [f"{CI}/aio.mig", "--max-states", "50"],
    "usage error": [CI, "--pages", "99"],
    "absolute path": ["REFUSING"],
    "internal error": [f"{CI}/batch_abba.mig"],
    "interrupted": [f"{CI}/batch_abba.mig"],
    "a finding about the core": ["specs/migrate_vma.mig"],
}


@pytest.mark.parametrize("case", list(REPORTS))
def test_sarif_multitool_has_nothing_to_say(case: str, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    tool = _multitool()
    args = [str(tmp_path / "refuses.mig") if a == "REFUSING" else a for a in REPORTS[case]]
    (tmp_path / "refuses.mig").write_text(REFUSING, encoding="utf-8")
    if case == "internal error":
        monkeypatch.setattr(registry.explicit, "check", _crash)
    if case == "interrupted":
        monkeypatch.setattr(registry.explicit, "check", _interrupt)
    sarif = tmp_path / "report.sarif"
    outcome = migcheck(["ci", *args, "--sarif", str(sarif)], monkeypatch)
    assert outcome.exit_code in ((0,) if case == "a finding about the core" else (1, 2, 3, 4, 130))
    assert _validate(tool, sarif) == []


def _dot() -> str:
    return _tool(("dot",), "MIGCHECK_GRAPHVIZ_DOT", "MIGCHECK_REQUIRE_GRAPHVIZ",
                 "Graphviz (dot)")


TRACES = [
    f"{CI}/batch_abba.mig --mode SYNC_NO_COPY",
    f"{CI}/aio_no_copy_unguarded.mig --mode SYNC_NO_COPY",
    f"{CI}/aio_blocking_ring_lock.mig --mode ASYNC",
    "tests/data/traces/rwsem_queued_writer.mig --mode SYNC",
    "specs/bad/batch_opposite_order.mig --mode SYNC_NO_COPY",
    "specs/bad/buffer_batch_page_lock_cycle.mig --mode SYNC_NO_COPY",
    "specs/bad/zsmalloc_pin_blocking.mig --mode SYNC",
]


@pytest.mark.parametrize("trace", TRACES)
def test_graphviz_renders_the_dot_trace_without_a_warning(trace: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    tool = _dot()
    outcome = migcheck(f"trace {trace} --format dot", monkeypatch)
    assert outcome.exit_code == 1 and outcome.stdout.startswith("digraph counterexample {")
    done = subprocess.run([tool, "-Tsvg"], input=outcome.stdout, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0
    assert done.stderr == ""
    assert "<svg" in done.stdout
