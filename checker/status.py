"""Exit statuses of the ``migcheck`` command: part of its interface (README.md, docs/ci.md).

Several outcomes in one run: the most severe wins, in the order INTERRUPTED, INTERNAL_ERROR,
BAD_INPUT, VIOLATED, UNKNOWN, OK (a certain violation outranks an unknown verdict).
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    """every verdict holds or refuses; for ``ci``: every expectation met"""
    VIOLATED = 1
    """a property is violated; for ``ci``: an expectation is unmet"""
    BAD_INPUT = 2
    """a bad spec, bad usage, or an output that cannot be written"""
    UNKNOWN = 3
    """a budget ran out: some verdict (or expectation) is unknown, and nothing worse happened"""
    INTERNAL_ERROR = 4
    """a bug in migcheck: an unexpected exception, or the two engines disagree"""
    INTERRUPTED = 130
    """interrupted (SIGINT, Ctrl-C): 128 + 2, as a shell reports it"""
