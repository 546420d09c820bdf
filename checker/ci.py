"""The CI gate: check every spec of a tree and judge each verdict against its ``expect`` line.

``migcheck ci specs/`` finds the ``.mig`` files under its arguments, checks each in every mode,
and sorts every (spec, mode) into one of four outcomes — met, unmet, unknown, or no expectation.
Specs may be checked in parallel, one process per spec; the report lists them in path order
whatever the order they finished in, and holds no timings, so it is the same byte for byte from
run to run and for any number of processes.

Each verdict is judged against its expect line by :func:`checker.run.judge`, the one rule
every command and report uses: an expectation is met only when every property it constrains was
decided, unmet when the opposite is certain, and unknown otherwise — never met.
"""

from __future__ import annotations

import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from checker import coverage
from checker.engines.budget import Budget
from checker.engines.explicit.search import Progress
from checker.engines.registry import EngineDisagreement, get_engine
from checker.result import ModeResult
from checker.run import (
    Outcome,
    Overrides,
    check_modes,
    instance_params,
    judge,
    load_spec,
)
from checker.status import ExitStatus
from model.kinds import ALL_MODES, Mode
from model.language import ast
from model.span import Diagnostic, Severity, SpecError

SPEC_SUFFIX = ".mig"


@dataclass(frozen=True, slots=True)
class Options:
    """What every spec is checked with: the engine's name, budgets, param overrides."""

    engine: str = "explicit"
    budget: Budget = Budget()
    overrides: Overrides = Overrides()
    modes: tuple[Mode, ...] = ALL_MODES


@dataclass(frozen=True, slots=True)
class Judgement:
    """One (spec, mode): the result, the expect line for the mode, and the outcome."""

    result: ModeResult
    expected: ast.Expect | None
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class SpecReport:
    """Everything ``ci`` learnt about one spec file.

    ``errors`` is non-empty for a spec that could not be checked (its diagnostics);
    ``internal_error`` names a bug of migcheck met while checking it (an unexpected exception,
    the engines disagreeing), with its Python ``traceback``; ``warnings`` holds the spec
    checker's warnings; ``coverage`` the statements no run reached (warnings), or a note saying
    why that was not judged.
    """

    path: str
    spec: ast.Spec | None
    errors: tuple[Diagnostic, ...]
    warnings: tuple[Diagnostic, ...]
    judgements: tuple[Judgement, ...]
    usage_error: str = ""
    coverage: tuple[Diagnostic, ...] = ()
    internal_error: str = ""
    traceback: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    """The specs checked, in path order; ``interrupted`` when the run was stopped (SIGINT)
    before all ``total`` specs were checked (those reported are complete)."""

    specs: tuple[SpecReport, ...]
    interrupted: bool = False
    total: int | None = None

    def judgements(self) -> Iterator[tuple[SpecReport, Judgement]]:
        for spec in self.specs:
            for judgement in spec.judgements:
                yield spec, judgement

    def count(self, outcome: Outcome) -> int:
        return sum(1 for _, j in self.judgements() if j.outcome is outcome)

    def bad_specs(self) -> tuple[SpecReport, ...]:
        """Specs that were not checked: spec errors, bad usage, or an internal error."""
        return tuple(s for s in self.specs if s.errors or s.usage_error or s.internal_error)

    def internal_errors(self) -> tuple[SpecReport, ...]:
        return tuple(s for s in self.specs if s.internal_error)

    def exit_status(self) -> ExitStatus:
        """130 interrupted, else 4 an internal error, else 2 a spec could not be checked, else
        1 something unmet, else 3 unknown, else 0."""
        if self.interrupted:
            return ExitStatus.INTERRUPTED
        if self.internal_errors():
            return ExitStatus.INTERNAL_ERROR
        if self.bad_specs():
            return ExitStatus.BAD_INPUT
        if self.count(Outcome.UNMET):
            return ExitStatus.VIOLATED
        if self.count(Outcome.UNKNOWN):
            return ExitStatus.UNKNOWN
        return ExitStatus.OK


def discover(arguments: Iterable[str]) -> list[str]:
    """The spec files under ``arguments`` (directories, searched recursively, or files), each
    directory's files sorted by path, in the order the arguments were given, without repeats.

    Paths stay as the user spelled them (``specs/bad/x.mig`` for ``specs``), so every report
    names files the same way on every machine.
    """
    found: list[str] = []
    seen: set[str] = set()
    for argument in arguments:
        root = Path(argument)
        if root.is_dir():
            paths = sorted(
                (p for p in root.rglob("*" + SPEC_SUFFIX) if p.is_file()),
                key=lambda p: p.relative_to(root).as_posix(),
            )
            names = [_display(argument, p.relative_to(root)) for p in paths]
        else:
            names = [argument]
        for name in names:
            if name not in seen:
                seen.add(name)
                found.append(name)
    return found


def _display(argument: str, relative: Path) -> str:
    if argument in (".", "./"):
        return relative.as_posix()
    return argument.rstrip("/") + "/" + relative.as_posix()


def check_spec_file(
    path: str, options: Options, progress: Callable[[str], Progress | None] | None = None
) -> SpecReport:
    """Check one spec file; never raises for a bad spec or an internal error of migcheck (a bug
    must not hide the verdicts of the other specs): the report names it instead."""
    try:
        return _check_spec_file(path, options, progress)
    except Exception as crash:
        return _internal(path, describe_crash(crash), crash)


def describe_crash(crash: BaseException) -> str:
    """An unexpected exception in one line: its type, message and where it was raised (the
    engines disagreeing needs no more than its message)."""
    if isinstance(crash, EngineDisagreement):
        return str(crash)
    frames = traceback.extract_tb(crash.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(crash).split())
    return f"{type(crash).__name__}: {message}{where}" if message else (
        f"{type(crash).__name__}{where}")


def _internal(path: str, text: str, crash: BaseException) -> SpecReport:
    return SpecReport(path, None, (), (), (), internal_error=text,
                      traceback="".join(traceback.format_exception(crash)))


def _check_spec_file(
    path: str, options: Options, progress: Callable[[str], Progress | None] | None
) -> SpecReport:
    try:
        loaded = load_spec(Path(path), path, options.overrides.core)
    except SpecError as error:
        return SpecReport(path, None, error.diagnostics, (), ())
    except OSError as error:
        problem = Diagnostic(Severity.ERROR, None, f"{path}: cannot read: {error.strerror}")
        return SpecReport(path, None, (problem,), (), ())
    spec = loaded.spec
    try:
        params = instance_params(spec, options.overrides)
    except ValueError as problem:
        return SpecReport(path, spec, (), loaded.warnings, (), usage_error=str(problem))

    def for_mode(mode: Mode) -> Progress | None:
        return progress(f"{path} {mode.value}") if progress is not None else None

    results = check_modes(
        spec, options.modes, options.overrides, options.budget, get_engine(options.engine),
        for_mode, loaded.core,
    )
    already = frozenset(w.span for w in loaded.warnings if w.span is not None)
    unreached = coverage.judge(spec, results, options.modes, params, already, loaded.core)
    judgements = tuple(
        Judgement(r, spec.expectation(r.mode), judge(spec.expectation(r.mode), r))
        for r in results
    )
    return SpecReport(path, spec, (), loaded.warnings, judgements, coverage=unreached)


def run(
    paths: list[str],
    options: Options,
    jobs: int = 1,
    progress: Callable[[str], Progress | None] | None = None,
    finished: Callable[[int, int], None] | None = None,
) -> Report:
    """Check ``paths``; with ``jobs`` > 1, in that many processes.

    ``progress`` makes a per-mode progress callback (serial runs only: the engine runs in this
    process); ``finished(done, total)`` is called as each spec completes.  An interrupt
    (KeyboardInterrupt) stops the run: the worker processes are stopped, and the report holds
    the specs completed before it, marked ``interrupted``.
    """
    reports: list[SpecReport] = []

    def done(report: SpecReport) -> None:
        reports.append(report)
        if finished is not None:
            finished(len(reports), len(paths))

    try:
        if jobs <= 1 or len(paths) <= 1:
            for path in paths:
                done(check_spec_file(path, options, progress))
        else:
            _run_parallel(paths, options, jobs, done)
    except KeyboardInterrupt:
        return Report(tuple(reports), interrupted=True, total=len(paths))
    return Report(tuple(reports), total=len(paths))


def _run_parallel(
    paths: list[str], options: Options, jobs: int, done: Callable[[SpecReport], None]
) -> None:
    """One process per spec at a time.  Workers ignore SIGINT, so Ctrl-C reaches only this
    process (no worker tracebacks); it then terminates the workers instead of waiting for the
    specs they are checking."""
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_interrupts)
    try:
        for report in pool.map(partial(check_spec_file, options=options), paths):
            done(report)
    except BaseException:
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
        for worker in workers:
            worker.join()
        raise
    pool.shutdown()


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
