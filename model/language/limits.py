"""The sizes migcheck accepts in a spec, in one place: docs/spec-language.md ("Limits") lists
each of them, and the front end refuses anything past them with a located error.

Each limit keeps a bad or machine-made spec from reaching code that cannot take it: Python's
integer-string conversion, the interpreter's recursion limit in the recursive walkers of the
parser, validator and compiler, and the explicit engine's packing of lock owners in one byte.
"""

from __future__ import annotations

MAX_INTEGER_DIGITS = 9
"""Digits in an integer literal; every meaningful value is far smaller, and longer ones would
meet Python's limit on converting long digit strings."""

MAX_NESTING = 64
"""Blocks inside blocks (``if``, ``else if``, ``either``, ``repeat``)."""

MAX_EXPRESSION_DEPTH = 64
"""Levels of operators, ``!`` and parentheses in one expression or condition; ``a && b && c``
has two levels, ``!(a || b)`` three."""

MAX_VARIABLE_VALUES = 256
"""Values of one spec variable (``int[LOW..HIGH]`` has HIGH - LOW + 1)."""

MAX_THREADS = 255
"""Threads of one instance: migrators plus actor instances (an actor without ``on page`` runs
once per page).  A lock owner is a thread number or free, stored in one byte."""

MAX_REPEAT = 8
"""The largest literal count of ``repeat N``."""
