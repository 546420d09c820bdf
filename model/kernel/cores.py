"""The shipped migration cores (model/kernel/cores/*.mig) and how a spec or a command line
picks one: by name (``linux-4.14``) or by the path of a core file a developer edited.

Cores are package data: ``pip install`` ships them, and a kernel developer reads and copies
them like any spec.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from model.language import ast
from model.language.core_parser import parse_core_file, parse_core_text
from model.language.core_validate import check_core
from model.span import Diagnostic, Severity, Span, SpecError

DEFAULT_CORE = "linux-4.14"


def shipped_names() -> tuple[str, ...]:
    """The names of the shipped cores, oldest kernel first."""
    folder = resources.files("model.kernel").joinpath("cores")
    names = [entry.name.removesuffix(".mig") for entry in folder.iterdir()
             if entry.name.endswith(".mig")]
    return tuple(sorted(names, key=_release_order))


def _release_order(name: str) -> tuple[int, ...]:
    digits = name.removeprefix("linux-").split(".")
    return tuple(int(d) if d.isdigit() else 0 for d in digits)


def load_core(name_or_path: str, where: Span | None = None) -> ast.Core:
    """A shipped core by name, or a core file by path; raises :class:`SpecError` (with
    FILE:LINE:COL diagnostics) when it does not exist or has errors."""
    if name_or_path in shipped_names():
        return _shipped(name_or_path)
    path = Path(name_or_path)
    if path.suffix == ".mig" or path.exists():
        if not path.exists():
            raise SpecError((Diagnostic(Severity.ERROR, where, f"no core file {name_or_path}"),))
        core = parse_core_file(path)
        check_core(core)
        return core
    names = ", ".join(shipped_names())
    raise SpecError(
        (
            Diagnostic(
                Severity.ERROR,
                where,
                f"unknown core '{name_or_path}': use one of {names}, or the path of a core file",
            ),
        )
    )


def shipped_path(name: str) -> str:
    """Where a shipped core's file lies (to read or copy it)."""
    return str(resources.files("model.kernel").joinpath("cores", f"{name}.mig"))


@cache
def _shipped(name: str) -> ast.Core:
    """A shipped core, parsed once per process (package data does not change while it runs;
    the AST is immutable)."""
    resource = resources.files("model.kernel").joinpath("cores", f"{name}.mig")
    # a shipped core's steps cite it by file name; `migcheck cores` says where it lies
    core, diagnostics = parse_core_text(resource.read_text(encoding="utf-8"), f"{name}.mig")
    if diagnostics:
        raise SpecError(diagnostics)
    check_core(core)
    return core


def core_for(spec: ast.Spec) -> ast.Core:
    """The core a spec names (``core NAME``), else the default Linux 4.14 core."""
    if spec.core is None:
        return load_core(DEFAULT_CORE)
    return load_core(spec.core, spec.core_span)
