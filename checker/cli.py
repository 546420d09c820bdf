"""The ``migcheck`` command line: a thin click layer over :mod:`checker.run`.

Exit status is part of the interface: 0 every verdict holds or refuses, 1 some property is
violated, 2 a bad spec or bad usage, 3 a budget ran out (a verdict is unknown).
"""

from __future__ import annotations

from pathlib import Path

import click

from checker import render_text
from checker.budget import Budget
from checker.engines import ENGINE_NAMES, EngineDisagreement, get_engine
from checker.result import ModeResult, Verdict
from checker.run import Overrides, check_modes, compare, load_spec
from model.kinds import ALL_MODES, Mode
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


@main.command()
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mode", "modes", multiple=True, type=MODE_CHOICE,
              help="Check only this mode (repeatable); all four by default.")
@instance_options
@budget_options
@click.option("--engine", type=click.Choice(ENGINE_NAMES), default="explicit", show_default=True,
              help="explicit-state search, z3, or both (which must agree).")
@click.option("--trace", is_flag=True, help="Print the counterexample of every violation.")
def check(files: tuple[Path, ...], modes: tuple[str, ...], pages: int | None,
          migrators: int | None, writes: int | None, passes: int | None, max_states: int,
          timeout: float | None, max_memory: int | None, engine: str, trace: bool) -> None:
    """Check spec FILES and print a verdict table per file."""
    overrides = Overrides(pages, migrators, writes, passes)
    budget = Budget(max_states, timeout, max_memory)
    status = EXIT_OK
    all_results: list[ModeResult] = []
    bad_spec = False
    for number, path in enumerate(files):
        if number:
            click.echo()
        try:
            loaded = load_spec(path, str(path))
        except SpecError as error:
            click.echo(str(error), err=True)
            bad_spec = True
            continue
        for warning in loaded.warnings:
            click.echo(warning.render(), err=True)
        try:
            results = check_modes(loaded.spec, _modes(modes), overrides, budget,
                                  get_engine(engine))
        except ValueError as problem:
            raise click.UsageError(str(problem)) from problem
        except EngineDisagreement as disagreement:
            raise click.ClickException(str(disagreement)) from disagreement
        click.echo(render_text.header(loaded.spec))
        click.echo(render_text.table(compare(loaded.spec, results)))
        if trace:
            for result in results:
                for text in render_text.traces(result):
                    click.echo()
                    click.echo(text)
        all_results.extend(results)
    status = EXIT_BAD_SPEC if bad_spec else exit_status(all_results)
    raise SystemExit(status)


if __name__ == "__main__":
    main()
