"""The ``migcheck`` command line: a thin click layer over :mod:`checker.run` and
:mod:`checker.ci`.

Exit status is part of the interface (:class:`checker.status.ExitStatus`).  ``check``: 0 every
verdict holds or refuses, 1 some property is violated, 3 a budget ran out (a verdict is
unknown).  ``ci``: 0 every expectation met, 1 some expectation unmet, 3 some expectation
unknown and nothing unmet.  ``trace``: 0 the property holds, 1 a counterexample was printed, 3
unknown.  Every command: 2 a bad spec, bad usage or an output that cannot be written, 4 an
internal error of migcheck (one line on stderr; ``--debug`` or ``MIGCHECK_DEBUG=1`` adds the
traceback), 130 interrupted.
"""

from __future__ import annotations

import math
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from checker import ci as ci_gate
from checker import coverage
from checker.console import OutputError, err, out, writable_file, write_report
from checker.engines.budget import Budget
from checker.engines.explicit.search import Progress
from checker.engines.registry import ENGINE_NAMES, get_engine
from checker.export import promela as export_promela
from checker.progress import ProgressLine
from checker.reports import ci_summary as render_ci
from checker.reports import diagram as render_diagram
from checker.reports import itf as render_itf
from checker.reports import json_report as render_json
from checker.reports import text as render_text
from checker.reports.junit import junit
from checker.reports.sarif import sarif
from checker.result import ModeResult, Trace, Verdict
from checker.run import Overrides, check_modes, compare, instance_params, load_spec
from checker.status import ExitStatus
from model.compiler.system import NotInKernel, compile_system
from model.kernel.cores import load_core, shipped_names, shipped_path
from model.kinds import ALL_MODES, ALL_PROPERTIES, Mode, Property
from model.language import ast
from model.span import SpecError

MODE_CHOICE = click.Choice([m.value for m in Mode], case_sensitive=False)


def _modes(values: tuple[str, ...]) -> tuple[Mode, ...]:
    chosen = {Mode.parse(v) for v in values}
    return tuple(m for m in ALL_MODES if m in chosen) if values else ALL_MODES


def exit_status(results: list[ModeResult]) -> ExitStatus:
    """1 if anything is violated, else 3 if anything is unknown, else 0."""
    if any(r.verdict is Verdict.VIOLATED for r in results):
        return ExitStatus.VIOLATED
    if any(r.verdict is Verdict.UNKNOWN for r in results):
        return ExitStatus.UNKNOWN
    return ExitStatus.OK


def _seconds(_context: click.Context, parameter: click.Parameter,
             value: float | None) -> float | None:
    """A time budget is a positive, finite number of seconds: ``nan`` and ``inf`` would
    disable the budget, or never trigger it, without saying so."""
    if value is not None and (not math.isfinite(value) or value <= 0):
        raise click.BadParameter(f"{value:g} is not a positive, finite number of seconds",
                                 param=parameter)
    return value


def budget_options(function: click.decorators.FC) -> click.decorators.FC:
    """The budget options every checking command takes."""
    function = click.option("--max-states", type=click.IntRange(min=1), default=2_000_000,
                            show_default=True,
                            help="Stop with verdict unknown after this many states.")(function)
    function = click.option("--timeout", type=float, default=None, callback=_seconds,
                            help="Stop with verdict unknown after this many seconds per mode "
                            "(per engine with --engine both).")(function)
    function = click.option("--max-memory", type=click.IntRange(min=1), default=None,
                            help="Stop with verdict unknown past this many MiB.")(function)
    return function


def instance_options(function: click.decorators.FC) -> click.decorators.FC:
    """Options that override the spec's params and its core."""
    for name, text in (
        ("--passes", "migrate_pages() passes (1-10)."),
        ("--writes", "Repetitions of 'repeat writes' in actors (0-4)."),
        ("--migrators", "Concurrent migrators (1-4)."),
        ("--pages", "Pages per migrator, or per batch in SYNC_NO_COPY (1-8)."),
    ):
        function = click.option(name, type=int, default=None, help=text)(function)
    function = click.option(
        "--core", "core", default=None, metavar="NAME|FILE",
        help="The migration core to check under (a shipped core's name, see 'migcheck cores', "
        "or a core file); overrides the spec's 'core' line.")(function)
    return function


class _Migcheck(click.Group):
    """The command group: turns an interrupt into exit status 130 and any exception that is
    not an answer of migcheck's into a one-line internal error with exit status 4."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            err("migcheck: interrupted")
            raise SystemExit(ExitStatus.INTERRUPTED) from None
        except Exception as crash:
            report_internal_error(ci_gate.describe_crash(crash),
                                  "".join(traceback.format_exception(crash)))
            raise SystemExit(ExitStatus.INTERNAL_ERROR) from None


def debugging() -> bool:
    """Whether ``--debug`` (or MIGCHECK_DEBUG=1) asked for tracebacks of internal errors."""
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.find_root().params.get("debug"))


def report_internal_error(text: str, trace: str, subject: str = "") -> None:
    """One line on stderr, preceded by the traceback when debugging."""
    if debugging():
        err(trace.rstrip("\n"))
    hint = "" if debugging() else " (--debug or MIGCHECK_DEBUG=1 prints the traceback)"
    where = f"{subject}: " if subject else ""
    err(f"internal error: {where}{text}; this is a bug in migcheck, please report it with the "
        f"spec and the command line{hint}")


@click.group(cls=_Migcheck)
@click.version_option(package_name="migcheck")
@click.option("--debug", is_flag=True, envvar="MIGCHECK_DEBUG",
              help="On an internal error, print the Python traceback as well (also "
              "MIGCHECK_DEBUG=1).")
def main(debug: bool) -> None:
    """migcheck: a model checker for Linux kernel page-migration callbacks."""


def engine_option(function: click.decorators.FC) -> click.decorators.FC:
    return click.option("--engine", type=click.Choice(ENGINE_NAMES), default="explicit",
                        show_default=True,
                        help="explicit-state search, z3, or both (which must agree).")(function)


def quiet_option(function: click.decorators.FC) -> click.decorators.FC:
    return click.option("--quiet", "-q", is_flag=True,
                        help="No progress line on stderr (it only appears on a terminal, for "
                        "runs longer than a second).")(function)


def _progress_line(quiet: bool) -> ProgressLine:
    return ProgressLine.for_terminal(sys.stderr, quiet)


def _mode_progress(line: ProgressLine, label: str) -> Callable[[Mode], Progress | None]:
    return lambda mode: line.states(f"{label} {mode.value}")


def _check_modes(spec: ast.Spec, modes: tuple[Mode, ...], overrides: Overrides, budget: Budget,
                 engine: str, progress: ProgressLine, label: str) -> tuple[ModeResult, ...]:
    """check_modes for a command: bad overrides are usage errors, and the progress line is
    cleared whatever happens (an engine disagreement is an internal error, exit status 4)."""
    try:
        instance_params(spec, overrides)
    except ValueError as problem:
        raise click.UsageError(str(problem)) from problem
    try:
        return check_modes(spec, modes, overrides, budget, get_engine(engine),
                           _mode_progress(progress, label))
    finally:
        progress.clear()


@main.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mode", "modes", multiple=True, type=MODE_CHOICE,
              help="Check only this mode (repeatable); all four by default.")
@instance_options
@budget_options
@engine_option
@click.option("--trace", is_flag=True, help="Print the counterexample of every violation "
              "(text format; JSON always holds them).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="A verdict table, or a JSON document (docs/json-schema.md).")
@click.option("--times", is_flag=True, help="A 'seconds' column in the table: the time each "
              "mode took (JSON always has it).")
@quiet_option
def check(files: tuple[Path, ...], modes: tuple[str, ...], core: str | None, pages: int | None,
          migrators: int | None, writes: int | None, passes: int | None, max_states: int,
          timeout: float | None, max_memory: int | None, engine: str, trace: bool,
          output_format: str, times: bool, quiet: bool) -> None:
    """Check spec FILES and print a verdict table per file."""
    overrides = Overrides(pages, migrators, writes, passes, core)
    budget = Budget(max_states, timeout, max_memory)
    progress = _progress_line(quiet)
    all_results: list[ModeResult] = []
    entries: list[render_json.SpecEntry] = []
    bad_spec = False
    for number, path in enumerate(files):
        if number and output_format == "text":
            out()
        try:
            loaded = load_spec(path, str(path), core)
        except SpecError as error:
            err(str(error))
            entries.append(render_json.SpecEntry(str(path), None, (), error.diagnostics))
            bad_spec = True
            continue
        for warning in loaded.warnings:
            err(warning.render())
        results = _check_modes(loaded.spec, _modes(modes), overrides, budget, engine,
                               progress, str(path))
        comparisons = compare(loaded.spec, results)
        all_results.extend(results)
        already = frozenset(w.span for w in loaded.warnings if w.span is not None)
        unreached = coverage.judge(loaded.spec, results, _modes(modes),
                                   instance_params(loaded.spec, overrides), already, loaded.core)
        if output_format == "json":
            entries.append(render_json.SpecEntry(
                str(path), loaded.spec, tuple((c.result, c.expected) for c in comparisons),
                loaded.warnings + unreached))
            for diagnostic in unreached:
                err(diagnostic.render())
            continue
        out(render_text.header(loaded.spec))
        covers = render_text.instance_line(comparisons)
        if covers is not None:
            out(covers)
        out(render_text.table(comparisons, times))
        for diagnostic in unreached:
            err(diagnostic.render())
        if trace:
            for result in results:
                for text in render_text.traces(result):
                    out()
                    out(text)
    if output_format == "json":
        out(render_json.dumps(render_json.document("check", entries)), nl=False)
    raise SystemExit(ExitStatus.BAD_INPUT if bad_spec else exit_status(all_results))


@main.command(name="ci")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=True, dir_okay=True))
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Check this many specs at once, one process each; the output is the same.")
@instance_options
@budget_options
@engine_option
@click.option("--sarif", "sarif_file", type=click.Path(dir_okay=False), callback=writable_file,
              help="Also write a SARIF 2.1.0 report (for GitHub code scanning) to this file.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), callback=writable_file,
              help="Also write a JUnit XML report (one testcase per spec and mode).")
@quiet_option
def ci_command(paths: tuple[str, ...], jobs: int, core: str | None, pages: int | None,
               migrators: int | None, writes: int | None, passes: int | None, max_states: int,
               timeout: float | None, max_memory: int | None, engine: str,
               sarif_file: str | None,
               junit_file: str | None, quiet: bool) -> None:
    """Check every .mig spec under PATHS against its expect lines.

    Prints unmet expectations first, then unknown verdicts, then the rest, and the counts.
    Exit status: 0 every expectation met, 1 some unmet, 2 a bad spec, usage or output, 3 some
    expectation unknown (a budget ran out) and nothing unmet, 4 an internal error, 130
    interrupted.
    """
    specs = ci_gate.discover(paths)
    if not specs:
        raise click.UsageError(f"no {ci_gate.SPEC_SUFFIX} files under {', '.join(paths)}")
    options = ci_gate.Options(engine, Budget(max_states, timeout, max_memory),
                              Overrides(pages, migrators, writes, passes, core))
    progress = _progress_line(quiet)

    def finished(done: int, total: int) -> None:
        if jobs > 1:
            progress.show(f"{done} of {total} specs checked")

    try:
        report = ci_gate.run(specs, options, jobs, progress.states, finished)
    finally:
        progress.clear()
    for spec_report in report.specs:
        for error in spec_report.errors:
            err(error.render())
        if spec_report.usage_error:
            err(f"Error: {spec_report.path}: {spec_report.usage_error}")
        if spec_report.internal_error:
            report_internal_error(spec_report.internal_error, spec_report.traceback,
                                  spec_report.path)
    if report.interrupted:
        err(f"migcheck: interrupted: {len(report.specs)} of {len(specs)} specs checked")
    failure: OutputError | None = None
    try:
        out(render_ci.summary(report))
    except OutputError as problem:
        failure = problem
    # the reports are written even when standard output failed: CI systems read them
    if sarif_file is not None:
        write_report(sarif_file, render_json.dumps(sarif(report)), "SARIF report")
    if junit_file is not None:
        write_report(junit_file, junit(report), "JUnit report")
    if failure is not None:
        raise failure
    raise SystemExit(report.exit_status())


TRACE_FORMATS = ("text", "json", "itf", "dot", "mermaid")


@main.command(name="trace")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mode", required=True, type=MODE_CHOICE, help="The mode to check.")
@click.option("--property", "prop", type=click.Choice([p.value for p in Property]),
              help="Print this property's counterexample (default: the first one violated).")
@click.option("--format", "output_format", type=click.Choice(TRACE_FORMATS), default="text",
              show_default=True, help="Readable text, JSON, Apalache ITF, Graphviz DOT or a "
              "Mermaid sequence diagram.")
@instance_options
@budget_options
@engine_option
@quiet_option
def trace_command(file: Path, mode: str, prop: str | None, output_format: str,
                  core: str | None, pages: int | None, migrators: int | None, writes: int | None,
                  passes: int | None, max_states: int, timeout: float | None,
                  max_memory: int | None, engine: str, quiet: bool) -> None:
    """Print the counterexample of FILE in one mode.

    Exit status: 1 a counterexample was printed, 0 the property holds (said on stdout for
    text, on stderr for the other formats), 2 a bad spec or usage, 3 a budget ran out first.
    """
    try:
        loaded = load_spec(file, str(file), core)
    except SpecError as error:
        err(str(error))
        raise SystemExit(ExitStatus.BAD_INPUT) from error
    for warning in loaded.warnings:
        err(warning.render())
    chosen = Mode.parse(mode) or Mode.ASYNC
    progress = _progress_line(quiet)
    (result,) = _check_modes(loaded.spec, (chosen,),
                             Overrides(pages, migrators, writes, passes, core),
                             Budget(max_states, timeout, max_memory), engine, progress,
                             str(file))
    wanted = [Property(prop)] if prop is not None else list(ALL_PROPERTIES)
    for candidate in wanted:
        found = result.trace_for(candidate)
        if found is not None:
            out(_render_trace(output_format, str(file), result, found), nl=False)
            raise SystemExit(ExitStatus.VIOLATED)
    subject = prop if prop is not None else "no property"
    if result.reason:
        text = (f"{file}: {result.mode.value}: no counterexample found before the budget ran "
                f"out: {result.reason}; the verdict is unknown")
        err(text)
        raise SystemExit(ExitStatus.UNKNOWN)
    verb = "holds" if prop is not None else "is violated"
    text = f"{file}: {result.mode.value}: {subject} {verb}: nothing to trace"
    if result.verdict is Verdict.ABSENT:
        text = (f"{file}: {result.mode.value} is not in this kernel ({loaded.core.name}): "
                "not checked")
    if result.verdict is Verdict.REFUSES:
        text += " (the callback refuses the mode: " + ", ".join(
            c.name for c in result.refused_with) + ")"
    if output_format == "text":
        out(text)
    else:
        err(text)
    raise SystemExit(ExitStatus.OK)


def _render_trace(output_format: str, file: str, result: ModeResult, trace: Trace) -> str:
    if output_format == "json":
        return render_json.dumps(render_json.trace_document(file, result, trace))
    if output_format == "itf":
        return render_json.dumps(render_itf.itf(file, result, trace))
    if output_format == "dot":
        return render_diagram.dot(result, trace)
    if output_format == "mermaid":
        return render_diagram.mermaid(result, trace)
    prop_result = next(p for p in result.properties if p.trace is trace)
    return render_text.trace_text(result, prop_result) + "\n"


@main.command(name="cores")
@click.option("--path", "path_of", default=None, metavar="NAME",
              help="Print only where the file of the shipped core NAME lies (to read or copy).")
def cores_command(path_of: str | None) -> None:
    """List the shipped migration cores: kernel, modes, and what changed from the previous."""
    names = shipped_names()
    if path_of is not None:
        if path_of not in names:
            raise click.UsageError(f"no shipped core '{path_of}': use one of {', '.join(names)}")
        out(shipped_path(path_of))
        return
    for number, name in enumerate(names):
        core = load_core(name)
        if number:
            out()
        out(f"{core.name}  (Linux {core.kernel}; modes {', '.join(m.value for m in core.modes)})")
        out(f"  {core.source}")
        for change in core.changes:
            out(f"  - {change}")


@main.command(name="export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--promela", "promela", is_flag=True, required=True,
              help="Write the model as Promela for SPIN.")
@click.option("--mode", required=True, type=MODE_CHOICE, help="The mode to export.")
@instance_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              callback=writable_file, help="Write here instead of standard output.")
def export_command(file: Path, promela: bool, mode: str, core: str | None, pages: int | None,
                   migrators: int | None, writes: int | None, passes: int | None,
                   output: str | None) -> None:
    """Export the model of FILE in one mode, e.g. for SPIN: spin -a; gcc -DSAFETY pan.c."""
    try:
        loaded = load_spec(file, str(file), core)
        params = instance_params(loaded.spec, Overrides(pages, migrators, writes, passes, core))
        system = compile_system(loaded.spec, _modes((mode,))[0], params, loaded.core)
    except SpecError as error:
        err(str(error))
        raise SystemExit(ExitStatus.BAD_INPUT) from error
    except NotInKernel as absent:
        err(f"{file}: {absent}: nothing to export")
        raise SystemExit(ExitStatus.BAD_INPUT) from absent
    except ValueError as problem:
        raise click.UsageError(str(problem)) from problem
    text = export_promela.export(system)
    if output is None:
        out(text, nl=False)
    else:
        write_report(output, text, "Promela model")


if __name__ == "__main__":
    main()
