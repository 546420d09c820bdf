"""The .mig spec language: tokens, syntax tree, parser and validation.  Knows nothing of the
kernel model or of engines; the compiler (:mod:`model.compiler`) reads what this produces."""
