"""Reserved names: the words the language gives a meaning of its own, so a spec cannot declare
a lock, variable, pointer or actor under them.  docs/spec-language.md lists them.

Each message that rejects a name says what the name already means and suggests one that works,
so following the advice never leads to a second error.
"""

from __future__ import annotations

from model.language.params import PARAM_NAMES
from model.language.parser import STATEMENT_KEYWORDS

BUILTIN_MEANINGS: dict[str, str] = {
    "page": "the page: its lock PG_locked, and the page a write through the mapping reaches",
    "newpage": "the new page's lock",
    "buffers": "the page's buffer-head locks",
    "writeback": "the page's PG_writeback flag",
    "uptodate": "the page's PG_uptodate flag",
    "ref": "the page reference an actor takes with 'get ref'",
    "mode": "the migration mode",
    "true": "the value 1",
    "false": "the value 0",
}
RESERVED = frozenset(BUILTIN_MEANINGS) | frozenset(PARAM_NAMES)
VARIABLE_KEYWORDS = STATEMENT_KEYWORDS | {"trylock"}
"""Words that start a statement or condition: a variable named so could not be assigned or
tested (``copy = 1`` reads as the copy statement)."""

_SUFFIX = {"lock": "lock", "variable": "state", "pointer": "pointer", "actor": "actor"}


def meaning(name: str) -> str | None:
    """What a reserved name stands for, or None when the name is free."""
    if name in BUILTIN_MEANINGS:
        return BUILTIN_MEANINGS[name]
    if name in PARAM_NAMES:
        return f"the param {name}, set with 'param {name} = ...'"
    return None


def suggestion(name: str, what: str) -> str:
    """A free name for a ``what`` (lock, variable, pointer, actor) that wanted ``name``."""
    return f"{name}_{_SUFFIX[what]}"


def reserved_message(name: str, what: str) -> str | None:
    """Why ``name`` cannot name a ``what``, and what to write instead; None when it can."""
    meant = meaning(name)
    if meant is not None:
        return (
            f"'{name}' is a reserved name ({meant}): name the {what} something else, "
            f"e.g. '{suggestion(name, what)}'"
        )
    if what == "variable" and name in VARIABLE_KEYWORDS:
        return (
            f"'{name}' is a statement keyword: a variable named so could not be assigned or "
            f"tested; name it something else, e.g. '{suggestion(name, what)}'"
        )
    return None
