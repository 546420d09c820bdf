"""The progress line: on a terminal only, after about a second, never with --quiet."""

from __future__ import annotations

import io

import pytest

from checker.progress import ProgressLine
from checker.result import Statistics
from tests.cli_helpers import migcheck


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_states_rate_and_depth_after_a_second() -> None:
    stream = Terminal()
    line = ProgressLine.for_terminal(stream, quiet=False)
    report = line.states("specs/aio.mig SYNC")
    assert report is not None
    report(Statistics(2048, 5000, 7, 0.4))
    assert stream.getvalue() == ""
    report(Statistics(40960, 90000, 21, 2.0))
    assert stream.getvalue() == (
        "\r\x1b[Kspecs/aio.mig SYNC: 40,960 states, 20,480 states/s, depth 21"
    )
    line.clear()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_no_progress_off_a_terminal_or_when_quiet() -> None:
    assert ProgressLine.for_terminal(io.StringIO(), quiet=False).states("x") is None
    assert ProgressLine.for_terminal(Terminal(), quiet=True).states("x") is None


def test_commands_write_nothing_on_a_captured_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck("check tests/data/ci/aio.mig --migrators 2 --mode SYNC --max-states "
                       "40000", monkeypatch)
    assert outcome.exit_code == 3
    # only the note that coverage was not judged: no progress line
    assert outcome.stderr == "note: tests/data/ci/aio.mig: coverage not judged: a budget ran out\n"
