"""migcheck's engines, properties, traces, renderers and command line.

Engines read transition systems (:mod:`model.ts`) and return :class:`checker.result.ModeResult`
values; renderers read results, never engines.
"""
