"""What the command line writes, and the errors that stop it.

Standard output carries the verdicts, reports and traces; standard error the diagnostics,
warnings and the progress line.  Both are written through :func:`out` and :func:`err`, which
flush standard output before anything goes to standard error, so that when both streams go to
the same place (a terminal, ``2>&1``) a warning always starts on a line of its own after the
output it follows.

An output that cannot be written (standard output on a full disk or a closed pipe, a report path
in a directory that does not exist) is an :class:`OutputError`: one line on standard error and
exit status 2, never a traceback.  Report paths are checked by :func:`writable_file` before a
run starts, so a long ``ci`` run does not end in a report it cannot write.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO, Any

import click

from checker.status import ExitStatus


class OutputError(click.ClickException):
    """An output migcheck cannot write; exit status 2."""

    exit_code = int(ExitStatus.BAD_INPUT)

    def show(self, file: IO[Any] | None = None) -> None:
        err(f"migcheck: error: {self.message}")


def out(text: str = "", nl: bool = True) -> None:
    """Write ``text`` to standard output (and flush it)."""
    try:
        click.echo(text, nl=nl)
    except OSError as error:
        _discard_stdout()
        raise OutputError(f"cannot write to standard output: {_reason(error)}") from error


def err(text: str) -> None:
    """Write a line to standard error, after everything written to standard output so far."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    with contextlib.suppress(OSError, ValueError):
        click.echo(text, err=True)


def write_report(path: str, text: str, what: str) -> None:
    """Write a report file; an :class:`OutputError` when that fails."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise OutputError(f"cannot write the {what} to {path}: {_reason(error)}") from error


def writable_file(_context: click.Context, parameter: click.Parameter,
                  value: str | None) -> str | None:
    """A click callback: fail (exit 2) before the run when ``value`` cannot be written."""
    if value is None:
        return None
    problem = unwritable(value)
    if problem:
        raise click.BadParameter(problem, param=parameter)
    return value


def unwritable(value: str) -> str:
    """Why a file could not be created or replaced at ``value``, or ''."""
    path = Path(value)
    if path.is_dir():
        return f"{value} is a directory"
    parent = path.parent
    if not parent.is_dir():
        return f"cannot write {value}: directory {parent} does not exist"
    if path.exists():
        if not os.access(path, os.W_OK):
            return f"cannot write {value}: permission denied"
    elif not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot write {value}: directory {parent} is not writable"
    return ""


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush of what is still
    buffered does not fail again (and print a traceback) at exit."""
    try:
        fileno = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)
