"""Library callbacks a spec can tail-call with ``return call NAME``.

Their bodies are written in the spec language itself (model/kernel/library/*.mig, package
data) and inlined where they are called, so a callback that ends in
``return migrate_page(mapping, newpage, page, mode)`` (nfs, btrfs) is modelled with the same
steps as migrate_page.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from model.language import ast
from model.language.parser import parse_text


def _library_folder() -> Traversable:
    return resources.files("model.kernel").joinpath("library")


def library_names() -> tuple[str, ...]:
    return tuple(
        sorted(
            entry.name.removesuffix(".mig")
            for entry in _library_folder().iterdir()
            if entry.name.endswith(".mig")
        )
    )


def library_body(name: str) -> ast.Block:
    """The parsed body of a library callback (spans point into ``<library NAME>``)."""
    text = _library_folder().joinpath(f"{name}.mig").read_text(encoding="utf-8")
    spec, diagnostics = parse_text(text, f"<library {name}>")
    if diagnostics:
        raise ValueError(f"library callback {name} does not parse: {diagnostics[0].render()}")
    return spec.callback
