"""Helpers for tests that check the meaning of spec constructs through the explicit engine."""

from __future__ import annotations

from checker.engines.budget import Budget
from checker.engines.explicit import search as explicit
from checker.result import ModeResult
from model.compiler.system import compile_system
from model.kinds import Mode, Property
from model.language.params import params_of
from model.language.parser import parse_text
from model.language.validate import validate
from model.span import Severity
from model.ts import TransitionSystem


def system_of(text: str, mode: Mode = Mode.SYNC, **params: object) -> TransitionSystem:
    """Parse, validate and compile a spec text; fails the test on any spec error."""
    spec, errors = parse_text(text, "test.mig")
    problems = [d for d in errors + validate(spec) if d.severity is Severity.ERROR]
    assert not problems, "\n".join(d.render() for d in problems)
    base, _ = params_of(spec)
    return compile_system(spec, mode, base.override(**params))


def run(text: str, mode: Mode = Mode.SYNC, **params: object) -> ModeResult:
    return explicit.check(system_of(text, mode, **params), Budget(max_states=500_000))


def violated(text: str, mode: Mode = Mode.SYNC, **params: object) -> set[Property]:
    return set(run(text, mode, **params).violated())


def spec(callback: str, *rest: str) -> str:
    """A spec text with the given callback body and further declarations."""
    return 'spec t\nsource "test"\n' + "\n".join(rest) + "\ncallback {\n" + callback + "\n}\n"
