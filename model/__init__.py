"""migcheck's semantics: the .mig spec language and the kernel migration core.

Data flows one way: spec text -> AST (:mod:`model.language.ast`) -> transition system
(:mod:`model.ts`).  Nothing here knows about engines or renderers.
"""
