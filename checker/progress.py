"""A progress line on a terminal for runs that take more than about a second.

The explicit engine calls its ``progress`` hook every few thousand states with the statistics so
far; :class:`ProgressLine` turns those calls into one self-overwriting line on stderr — states
explored, states per second, search depth — and erases it when the run ends.  It writes nothing
when the stream is not a terminal (CI logs, pipes) or when the user asked for quiet, so output
that is captured stays byte-identical from run to run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from checker.result import Statistics

_ERASE = "\r\x1b[K"


class ProgressLine:
    """One status line on ``stream``, shown once a run has taken ``delay`` seconds.

    ``interval`` limits how often the line is rewritten (a terminal redraw is not free).
    """

    def __init__(
        self, stream: TextIO, enabled: bool, delay: float = 1.0, interval: float = 0.25
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.delay = delay
        self.interval = interval
        self.shown = False
        self.last_shown = -1.0

    @classmethod
    def for_terminal(cls, stream: TextIO, quiet: bool) -> ProgressLine:
        """Enabled only when ``stream`` is a terminal and ``quiet`` is off."""
        isatty = getattr(stream, "isatty", None)
        return cls(stream, enabled=bool(isatty and isatty()) and not quiet)

    def states(self, label: str) -> Callable[[Statistics], None] | None:
        """A callback for the explicit engine's ``progress`` hook, or None when disabled."""
        if not self.enabled:
            return None
        self.last_shown = -1.0

        def report(statistics: Statistics) -> None:
            elapsed = statistics.seconds
            if elapsed < self.delay or elapsed - self.last_shown < self.interval:
                return
            self.last_shown = elapsed
            rate = statistics.states / elapsed if elapsed > 0 else 0.0
            self.show(
                f"{label}: {statistics.states:,} states, {rate:,.0f} states/s, "
                f"depth {statistics.depth}"
            )

        return report

    def show(self, text: str) -> None:
        """Replace the line with ``text`` (when enabled)."""
        if not self.enabled:
            return
        self.stream.write(_ERASE + text)
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Erase the line, so that the next output starts on a clean line."""
        if self.shown:
            self.stream.write(_ERASE)
            self.stream.flush()
            self.shown = False
