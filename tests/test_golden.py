"""Golden tests for everything a person reads.

Each file under tests/golden/ starts with the command that produces it and its exit status:

    # migcheck check tests/data/ci/aio.mig
    # exit status: 0

then ``# stdout:`` and the standard output, and ``# stderr:`` and the standard error when there
is any.  The test runs every command from the repository root and compares.  To accept new
output, run ``MIGCHECK_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and review the diff; to add
a golden test, create a file holding only the command line and run the same.  The migcheck
version in JSON output is written as ``<version>``, and the seconds a mode took (the one timing
in it) as ``<seconds>``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from checker.reports.json_report import tool_version
from tests.cli_helpers import ROOT, migcheck

GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("MIGCHECK_UPDATE_GOLDEN") == "1"


SECONDS = re.compile(r'"seconds": [0-9.e+-]+')


def render(command: str, monkeypatch: pytest.MonkeyPatch) -> str:
    outcome = migcheck(command, monkeypatch)
    version = f'"version": "{tool_version()}"'
    stdout = SECONDS.sub('"seconds": "<seconds>"', outcome.stdout)
    parts = [f"# {command}", f"# exit status: {outcome.exit_code}", "# stdout:",
             stdout.replace(version, '"version": "<version>"')]
    if outcome.stderr:
        parts += ["# stderr:", outcome.stderr]
    return "\n".join(parts).rstrip("\n") + "\n"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.txt")), ids=lambda p: p.stem)
def test_golden(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = path.read_text(encoding="utf-8")
    command = expected.splitlines()[0].removeprefix("# ").strip()
    assert command.startswith("migcheck "), f"{path}: the first line must be '# migcheck ...'"
    actual = render(command, monkeypatch)
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
        return
    assert actual == expected, (
        f"{path.relative_to(ROOT)} differs; if the new output is right, rerun with "
        "MIGCHECK_UPDATE_GOLDEN=1 and review the diff"
    )


def test_golden_files_exist() -> None:
    assert len(list(GOLDEN.glob("*.txt"))) >= 10
