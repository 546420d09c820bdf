"""The README's worked example is migcheck's real output (docs must match the code)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from checker.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _examples() -> list[tuple[str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n\$ (migcheck [^\n]+)\n(.*?)```", text, flags=re.DOTALL)
    return list(blocks)


def test_readme_examples_match_the_output() -> None:
    examples = _examples()
    assert len(examples) >= 2
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for command, shown in examples:
            result = runner.invoke(main, shlex.split(command)[1:])
            if shown.startswith("...\n"):
                assert result.output.endswith(shown[4:]), command
            else:
                assert result.output == shown, command
    finally:
        os.chdir(cwd)
