"""Every error about a bad spec names FILE:LINE:COL, and a bad spec exits 2 in every command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_helpers import DATA, migcheck

BAD = sorted((DATA / "bad").glob("*.mig"))
LOCATED = re.compile(r"^tests/data/bad/[a-z_]+\.mig:\d+:\d+: (error|note|warning): \S")


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
@pytest.mark.parametrize("command", ["check", "ci", "check --format json",
                                     "trace --mode SYNC"])
def test_bad_spec_exits_2_with_located_messages(path: Path, command: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"tests/data/bad/{path.name}"
    outcome = migcheck(f"{command} {name}", monkeypatch)
    assert outcome.exit_code == 2
    lines = outcome.stderr.splitlines()
    assert lines, "no diagnostics"
    assert all(LOCATED.match(line) for line in lines), outcome.stderr
