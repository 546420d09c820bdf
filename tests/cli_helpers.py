"""Running the migcheck command line in-process, from the repository root, as a user would."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


def migcheck(command: str | list[str], monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """Run ``migcheck ARGS`` with the repository root as working directory."""
    args = shlex.split(command) if isinstance(command, str) else command
    if args and args[0] == "migcheck":
        args = args[1:]
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, args, prog_name="migcheck", catch_exceptions=False)
    return Outcome(result.exit_code, result.stdout, result.stderr)
