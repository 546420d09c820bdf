"""The compiler from a spec and a core to a transition system (:mod:`model.ts`): locks,
pages and spec state as variables, bodies as guarded transitions."""
