"""Checking a spec file end to end: parse, validate, compile per mode, run an engine, and
compare each verdict with the spec's ``expect`` line.

This is the library the command line is a thin layer over.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from checker.engines.budget import Budget
from checker.engines.explicit.search import Progress
from checker.engines.registry import Engine, explicit_engine
from checker.result import Instance, ModeResult, Statistics, Verdict
from model.compiler.system import compile_system
from model.kernel.cores import core_for, load_core
from model.kinds import ALL_MODES, ALL_PROPERTIES, Mode, Property
from model.language import ast
from model.language.core_validate import validate_pairing
from model.language.params import Params, check_limits, params_of
from model.language.parser import parse_file
from model.language.validate import check_spec
from model.span import Diagnostic, SpecError


@dataclass(frozen=True, slots=True)
class Overrides:
    """Command-line values that replace the spec's params (None keeps the spec's)."""

    pages: int | None = None
    migrators: int | None = None
    writes: int | None = None
    passes: int | None = None
    core: str | None = None

    def apply(self, params: Params) -> Params:
        return params.override(
            pages=self.pages, migrators=self.migrators, writes=self.writes, passes=self.passes
        )


@dataclass(frozen=True, slots=True)
class LoadedSpec:
    spec: ast.Spec
    warnings: tuple[Diagnostic, ...]
    core: ast.Core


def load_spec(path: Path, display: str | None = None, core: str | None = None) -> LoadedSpec:
    """Parse and validate the spec, load the core it runs under (``core``, a name or a path,
    overrides the spec's ``core`` line) and check the spec against it; raises
    :class:`model.span.SpecError` with every error."""
    spec = parse_file(path, display)
    warnings = check_spec(spec)
    chosen = core_of(spec, core)
    problems = validate_pairing(spec, chosen)
    if problems:
        raise SpecError(problems)
    return LoadedSpec(spec, warnings, chosen)


def core_of(spec: ast.Spec, override: str | None = None) -> ast.Core:
    """The core a spec runs under: the override, else its ``core`` line, else Linux 4.14."""
    return load_core(override) if override is not None else core_for(spec)


def instance_of(spec: ast.Spec, core: ast.Core, params: Params) -> Instance:
    choices = tuple(
        (decl.name, str(decl.value)) for decl in spec.params if core.param(decl.name) is not None
    )
    return Instance(core.name, core.kernel, choices, params.pages, params.migrators)


def instance_params(spec: ast.Spec, overrides: Overrides) -> Params:
    """The spec's params with the command line's overrides; ValueError when out of range."""
    params, _ = params_of(spec)
    params = overrides.apply(params)
    problem = check_limits(params, spec)
    if problem is not None:
        raise ValueError(problem)
    return params


def check_modes(
    spec: ast.Spec,
    modes: tuple[Mode, ...] = ALL_MODES,
    overrides: Overrides = Overrides(),
    budget: Budget | None = None,
    engine: Engine = explicit_engine,
    progress: Callable[[Mode], Progress | None] | None = None,
    core: ast.Core | None = None,
) -> tuple[ModeResult, ...]:
    """Check ``spec`` in each mode, in the order given, under ``core`` (by default the one the
    overrides or the spec name).  A mode the core's kernel does not have is not checked: its
    result says so (:attr:`Verdict.ABSENT`).

    ``progress``, when given, makes the progress callback for each mode's run.
    """
    params = instance_params(spec, overrides)
    chosen = core if core is not None else core_of(spec, overrides.core)
    instance = instance_of(spec, chosen, params)
    limits = budget if budget is not None else Budget()
    results: list[ModeResult] = []
    for mode in modes:
        if chosen.flow(mode) is None:
            results.append(absent(spec, mode, instance))
            continue
        result = engine(
            compile_system(spec, mode, params, chosen),
            limits,
            progress(mode) if progress is not None else None,
        )
        results.append(replace(result, instance=instance))
    return tuple(results)


def absent(spec: ast.Spec, mode: Mode, instance: Instance) -> ModeResult:
    """The result for a mode the kernel does not have: not checked, nothing to compare."""
    return ModeResult(
        spec=spec.name,
        mode=mode,
        engine="-",
        verdict=Verdict.ABSENT,
        properties=(),
        refused_with=(),
        statistics=Statistics(0, 0, 0, 0.0),
        instance=instance,
    )


class Outcome(Enum):
    """How one (spec, mode) verdict compares with the spec's expect line for that mode."""

    MET = "met"
    UNMET = "unmet"
    UNKNOWN = "unknown"
    NO_EXPECTATION = "no expectation"
    NOT_APPLICABLE = "not applicable"


def undecided(result: ModeResult) -> tuple[Property, ...]:
    """The properties ``result`` did not decide: judged unknown, or not judged at all."""
    decided = {
        p.property for p in result.properties if p.verdict in (Verdict.HOLDS, Verdict.VIOLATED)
    }
    return tuple(p for p in ALL_PROPERTIES if p not in decided)


def judge(expected: ast.Expect | None, result: ModeResult) -> Outcome:
    """The one rule, for every command and report, that compares a verdict with its expect line
    (docs/properties.md, "Expectations").

    An expect line is met only when every property it constrains was decided: ``holds`` needs
    every property decided to hold and a callback that returns 0 on some path; ``violates P, Q``
    needs exactly P and Q violated and every other property decided to hold; ``refuses CODES``
    needs every property decided to hold and a complete search in which the callback returned
    exactly CODES.  It is unmet when the opposite is certain: a violation the line does not
    allow was found, a property it names was proved to hold, or a complete run gave another
    verdict.  Anything else is unknown, never met.  Without an expect line the mode is "no
    expectation" when its verdict is complete, else unknown.
    """
    if result.verdict is Verdict.ABSENT:
        return Outcome.NOT_APPLICABLE  # the kernel has no such mode: neither met nor unmet
    found = set(result.violated())
    open_properties = set(undecided(result))
    complete = not open_properties and result.verdict is not Verdict.UNKNOWN
    if expected is None:
        return Outcome.NO_EXPECTATION if complete else Outcome.UNKNOWN
    allowed = set(expected.properties) if expected.outcome is ast.Outcome.VIOLATES else set()
    if found - allowed:
        return Outcome.UNMET
    if expected.outcome is ast.Outcome.VIOLATES:
        if allowed - found - open_properties:
            return Outcome.UNMET  # a property the line names was proved to hold
        return Outcome.MET if complete else Outcome.UNKNOWN
    if not complete:
        return Outcome.UNKNOWN
    if expected.outcome is ast.Outcome.HOLDS:
        return Outcome.MET if result.verdict is Verdict.HOLDS else Outcome.UNMET
    refused = result.verdict is Verdict.REFUSES
    met = refused and set(result.refused_with) == set(expected.codes)
    return Outcome.MET if met else Outcome.UNMET


@dataclass(frozen=True, slots=True)
class Comparison:
    """A verdict against the spec's expectation for its mode (``expected`` None: none given)."""

    result: ModeResult
    expected: ast.Expect | None

    @property
    def outcome(self) -> Outcome:
        return judge(self.expected, self.result)

    @property
    def met(self) -> bool | None:
        """True when met, False when unmet or unknown, None without an expect line."""
        if self.expected is None:
            return None
        return self.outcome is Outcome.MET


def describe_expectation(expected: ast.Expect | None) -> str:
    if expected is None:
        return "-"
    if expected.outcome is ast.Outcome.HOLDS:
        return "holds"
    if expected.outcome is ast.Outcome.REFUSES:
        return "refuses " + ", ".join(c.name for c in expected.codes)
    return "violates " + ", ".join(p.value for p in expected.properties)


def compare(spec: ast.Spec, results: tuple[ModeResult, ...]) -> tuple[Comparison, ...]:
    return tuple(Comparison(r, spec.expectation(r.mode)) for r in results)
