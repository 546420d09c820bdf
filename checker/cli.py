"""The ``migcheck`` command line: a thin click layer over :mod:`checker.run` and
:mod:`checker.ci`.

Exit status is part of the interface.  ``check``: 0 every verdict holds or refuses, 1 some
property is violated, 2 a bad spec or bad usage, 3 a budget ran out (a verdict is unknown).
``ci``: 0 every expectation met, 1 some expectation unmet, 2 a bad spec or bad usage, 3 some
verdict unknown and nothing unmet.  ``trace``: 0 the property holds, 1 a counterexample was
printed, 2 bad spec or usage, 3 unknown.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from checker import ci as ci_gate
from checker.engines.budget import Budget
from checker.engines.explicit.search import Progress
from checker.engines.registry import ENGINE_NAMES, EngineDisagreement, get_engine
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
from model.compiler.system import compile_system
from model.kinds import ALL_MODES, ALL_PROPERTIES, Mode, Property
from model.language import ast
from model.span import SpecError

EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_BAD_SPEC = 2
EXIT_UNKNOWN = 3

MODE_CHOICE = click.Choice([m.value for m in Mode], case_sensitive=False)


def _modes(values: tuple[str, ...]) -> tuple[Mode, ...]:
    chosen = {Mode.parse(v) for v in values}
    return tuple(m for m in ALL_MODES if m in chosen) if values else ALL_MODES


def exit_status(results: list[ModeResult]) -> int:
    """1 if anything is violated, else 3 if anything is unknown, else 0."""
    if any(r.verdict is Verdict.VIOLATED for r in results):
        return EXIT_VIOLATED
    if any(r.verdict is Verdict.UNKNOWN for r in results):
        return EXIT_UNKNOWN
    return EXIT_OK


def budget_options(function: click.decorators.FC) -> click.decorators.FC:
    """The budget options every checking command takes."""
    function = click.option("--max-states", type=click.IntRange(min=1), default=2_000_000,
                            show_default=True,
                            help="Stop with verdict unknown after this many states.")(function)
    function = click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
                            default=None, help="Stop with verdict unknown after this many "
                            "seconds per mode.")(function)
    function = click.option("--max-memory", type=click.IntRange(min=1), default=None,
                            help="Stop with verdict unknown past this many MiB.")(function)
    return function


def instance_options(function: click.decorators.FC) -> click.decorators.FC:
    """Options that override the spec's params."""
    for name, text in (
        ("--passes", "migrate_pages() passes (1-10)."),
        ("--writes", "Repetitions of 'repeat writes' in actors (0-4)."),
        ("--migrators", "Concurrent migrators (1-4)."),
        ("--pages", "Pages per migrator, or per batch in SYNC_NO_COPY (1-8)."),
    ):
        function = click.option(name, type=int, default=None, help=text)(function)
    return function


@click.group()
@click.version_option(package_name="migcheck")
def main() -> None:
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
    """check_modes for a command: bad overrides are usage errors, an engine disagreement an
    error of migcheck's, and the progress line is cleared whatever happens."""
    try:
        return check_modes(spec, modes, overrides, budget, get_engine(engine),
                           _mode_progress(progress, label))
    except ValueError as problem:
        raise click.UsageError(str(problem)) from problem
    except EngineDisagreement as disagreement:
        raise click.ClickException(str(disagreement)) from disagreement
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
@quiet_option
def check(files: tuple[Path, ...], modes: tuple[str, ...], pages: int | None,
          migrators: int | None, writes: int | None, passes: int | None, max_states: int,
          timeout: float | None, max_memory: int | None, engine: str, trace: bool,
          output_format: str, quiet: bool) -> None:
    """Check spec FILES and print a verdict table per file."""
    overrides = Overrides(pages, migrators, writes, passes)
    budget = Budget(max_states, timeout, max_memory)
    progress = _progress_line(quiet)
    all_results: list[ModeResult] = []
    entries: list[render_json.SpecEntry] = []
    bad_spec = False
    for number, path in enumerate(files):
        if number and output_format == "text":
            click.echo()
        try:
            loaded = load_spec(path, str(path))
        except SpecError as error:
            click.echo(str(error), err=True)
            entries.append(render_json.SpecEntry(str(path), None, (), error.diagnostics))
            bad_spec = True
            continue
        for warning in loaded.warnings:
            click.echo(warning.render(), err=True)
        results = _check_modes(loaded.spec, _modes(modes), overrides, budget, engine,
                               progress, str(path))
        comparisons = compare(loaded.spec, results)
        all_results.extend(results)
        if output_format == "json":
            entries.append(render_json.SpecEntry(
                str(path), loaded.spec, tuple((c.result, c.expected) for c in comparisons),
                loaded.warnings))
            continue
        click.echo(render_text.header(loaded.spec))
        click.echo(render_text.table(comparisons))
        if trace:
            for result in results:
                for text in render_text.traces(result):
                    click.echo()
                    click.echo(text)
    if output_format == "json":
        click.echo(render_json.dumps(render_json.document("check", entries)), nl=False)
    status = EXIT_BAD_SPEC if bad_spec else exit_status(all_results)
    raise SystemExit(status)


@main.command(name="ci")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=True, dir_okay=True))
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Check this many specs at once, one process each; the output is the same.")
@instance_options
@budget_options
@engine_option
@click.option("--sarif", "sarif_file", type=click.Path(dir_okay=False, writable=True),
              help="Also write a SARIF 2.1.0 report (for GitHub code scanning) to this file.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, writable=True),
              help="Also write a JUnit XML report (one testcase per spec and mode).")
@quiet_option
def ci_command(paths: tuple[str, ...], jobs: int, pages: int | None, migrators: int | None,
               writes: int | None, passes: int | None, max_states: int, timeout: float | None,
               max_memory: int | None, engine: str, sarif_file: str | None,
               junit_file: str | None, quiet: bool) -> None:
    """Check every .mig spec under PATHS against its expect lines.

    Prints unmet expectations first, then unknown verdicts, then the rest, and the counts.
    Exit status: 0 every expectation met, 1 some unmet, 2 a bad spec or usage, 3 some verdict
    unknown (a budget ran out) and nothing unmet.
    """
    specs = ci_gate.discover(paths)
    if not specs:
        raise click.UsageError(f"no {ci_gate.SPEC_SUFFIX} files under {', '.join(paths)}")
    options = ci_gate.Options(engine, Budget(max_states, timeout, max_memory),
                              Overrides(pages, migrators, writes, passes))
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
            click.echo(error.render(), err=True)
        if spec_report.usage_error:
            click.echo(f"Error: {spec_report.path}: {spec_report.usage_error}", err=True)
    click.echo(render_ci.summary(report))
    if sarif_file is not None:
        Path(sarif_file).write_text(render_json.dumps(sarif(report)), encoding="utf-8")
    if junit_file is not None:
        Path(junit_file).write_text(junit(report), encoding="utf-8")
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
                  pages: int | None, migrators: int | None, writes: int | None,
                  passes: int | None, max_states: int, timeout: float | None,
                  max_memory: int | None, engine: str, quiet: bool) -> None:
    """Print the counterexample of FILE in one mode.

    Exit status: 1 a counterexample was printed, 0 the property holds (said on stdout for
    text, on stderr for the other formats), 2 a bad spec or usage, 3 a budget ran out first.
    """
    try:
        loaded = load_spec(file, str(file))
    except SpecError as error:
        click.echo(str(error), err=True)
        raise SystemExit(EXIT_BAD_SPEC) from error
    for warning in loaded.warnings:
        click.echo(warning.render(), err=True)
    chosen = Mode.parse(mode) or Mode.ASYNC
    progress = _progress_line(quiet)
    (result,) = _check_modes(loaded.spec, (chosen,), Overrides(pages, migrators, writes, passes),
                             Budget(max_states, timeout, max_memory), engine, progress,
                             str(file))
    wanted = [Property(prop)] if prop is not None else list(ALL_PROPERTIES)
    for candidate in wanted:
        found = result.trace_for(candidate)
        if found is not None:
            click.echo(_render_trace(output_format, str(file), result, found), nl=False)
            raise SystemExit(EXIT_VIOLATED)
    subject = prop if prop is not None else "no property"
    if result.reason:
        text = (f"{file}: {result.mode.value}: no counterexample found before the budget ran "
                f"out: {result.reason}; the verdict is unknown")
        click.echo(text, err=True)
        raise SystemExit(EXIT_UNKNOWN)
    verb = "holds" if prop is not None else "is violated"
    text = f"{file}: {result.mode.value}: {subject} {verb}: nothing to trace"
    if result.verdict is Verdict.REFUSES:
        text += " (the callback refuses the mode: " + ", ".join(
            c.name for c in result.refused_with) + ")"
    click.echo(text, err=output_format != "text")
    raise SystemExit(EXIT_OK)


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


@main.command(name="export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--promela", "promela", is_flag=True, required=True,
              help="Write the model as Promela for SPIN.")
@click.option("--mode", required=True, type=MODE_CHOICE, help="The mode to export.")
@instance_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write here instead of standard output.")
def export_command(file: Path, promela: bool, mode: str, pages: int | None,
                   migrators: int | None, writes: int | None, passes: int | None,
                   output: str | None) -> None:
    """Export the model of FILE in one mode, e.g. for SPIN: spin -a; gcc -DSAFETY pan.c."""
    try:
        loaded = load_spec(file, str(file))
        params = instance_params(loaded.spec, Overrides(pages, migrators, writes, passes))
        system = compile_system(loaded.spec, _modes((mode,))[0], params)
    except SpecError as error:
        click.echo(str(error), err=True)
        raise SystemExit(EXIT_BAD_SPEC) from error
    except ValueError as problem:
        raise click.UsageError(str(problem)) from problem
    text = export_promela.export(system)
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
