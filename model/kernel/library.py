"""Library callbacks a spec can tail-call with ``return call NAME``.

Their bodies are written in the spec language itself and inlined where they are called, so a
callback that ends in ``return migrate_page(mapping, newpage, page, mode)`` (nfs, btrfs) is
modelled with the same steps as migrate_page.
"""

from __future__ import annotations

from model.language import ast
from model.language.parser import parse_text

# mm/migrate.c: migrate_page(), Linux 4.14
_MIGRATE_PAGE = """
spec migrate_page
callback {
  if !move_mapping { return EAGAIN }
  if mode == SYNC_NO_COPY { copy_states } else { copy }
  return OK
}
"""

LIBRARY: dict[str, str] = {"migrate_page": _MIGRATE_PAGE}


def library_names() -> tuple[str, ...]:
    return tuple(sorted(LIBRARY))


def library_body(name: str) -> ast.Block:
    """The parsed body of a library callback (spans point into ``<library NAME>``)."""
    spec, diagnostics = parse_text(LIBRARY[name], f"<library {name}>")
    if diagnostics:
        raise ValueError(f"library callback {name} does not parse: {diagnostics[0].render()}")
    return spec.callback
