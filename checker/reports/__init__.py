"""Renderers: results (:mod:`checker.result`) as text, JSON, SARIF, JUnit, ITF and diagrams.
Renderers know results, never engines."""
