"""The engines behind one interface (:mod:`checker.engines.registry`): explicit-state search
and z3.  Engines read transition systems (:mod:`model.ts`) and return results
(:mod:`checker.result`); they never see a spec, never print and never exit."""
