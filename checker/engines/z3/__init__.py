"""The z3 engine: the only package that imports z3."""
