"""A whole model: a spec under a migration core, in one mode, at one size.

The migration core is data (model/kernel/cores/*.mig): this module creates the threads (one
migrator per concurrent migration, one instance of each actor per page), the shared state, and
each migrator's code: the callers of ``migrate_pages()`` in the mode, each with what it holds
before the call and releases after, around the core's flow for the mode, which inlines the
spec's callback for each page it migrates.

Callers: every caller of the mode that the core declares is explored, plus the variants the
spec adds (``caller holds L``: the same callers entered with L held).  Callers whose code turns
out identical (the core never tests what distinguishes them in this mode) are one choice, so
declaring a caller costs states only where it changes what happens.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from model.compiler.bodies import CallerChoice, Frame, Role
from model.compiler.build import DONE, SystemBuilder, ThreadBuilder
from model.compiler.core_steps import CoreCompiler
from model.compiler.fusion import decide_lazily, fuse_private_steps
from model.compiler.locks import holds_any
from model.compiler.resources import Resources, allocate, page_name, shared_layout
from model.kinds import Mode, Property
from model.language import ast
from model.language.params import Params
from model.span import Span
from model.ts import (
    TRUE,
    Check,
    Step,
    StepKind,
    ThreadRole,
    TransitionSystem,
    VarRole,
    const,
    eq,
    or_,
    var,
)


class NotInKernel(Exception):
    """The core has no flow for the mode: the kernel it models does not have that mode."""


@dataclass(frozen=True, slots=True)
class Caller:
    """One way migrate_pages() is entered: which callers, their task's flags, what they hold."""

    names: tuple[str, ...]
    flags: frozenset[str]
    holds: tuple[ast.LockRef, ...]
    span: Span


def compile_system(
    spec: ast.Spec,
    mode: Mode,
    params: Params,
    core: ast.Core | None = None,
    fuse: bool = True,
) -> TransitionSystem:
    """The transition system of ``spec`` under ``core`` (by default the one it names, else
    Linux 4.14) in ``mode`` at the size ``params`` gives; raises :class:`NotInKernel` when the
    core has no such mode.  ``fuse`` merges steps on a thread's private state into the steps
    before them (:func:`model.compiler.fusion.fuse_private_steps`)."""
    if core is None:
        from model.kernel.cores import core_for

        core = core_for(spec)
    flow = core.flow(mode)
    if flow is None:
        raise NotInKernel(f"{core.name} has no migration mode {mode.value}")
    callers = caller_variants(spec, core, mode)
    system = _build(spec, core, mode, params, flow, callers)
    return fuse_private_steps(system) if fuse else system


def caller_variants(spec: ast.Spec, core: ast.Core, mode: Mode) -> list[Caller]:
    """The core's callers of ``mode``, and for each ``caller holds`` of the spec the variants
    entered with those locks held."""
    declared = core.callers_of(mode)
    plain = [Caller((c.name,), c.flags, (), c.span) for c in declared]
    if not plain:
        plain = [Caller(("migrate_pages() caller",), frozenset(), (), core.span)]
    variants = list(plain)
    for holds in spec.caller_holds:
        if mode not in holds.modes:
            continue
        for caller in plain:
            if holds.caller is None or holds.caller in caller.names:
                variants.append(replace(caller, holds=caller.holds + holds.locks, span=holds.span))
    return variants


def _build(
    spec: ast.Spec,
    core: ast.Core,
    mode: Mode,
    params: Params,
    flow: ast.MigrateBlock,
    callers: list[Caller],
) -> TransitionSystem:
    system = SystemBuilder(spec.name, mode)
    migrators = [
        system.thread("migrator" if params.migrators == 1 else f"migrator {m}", ThreadRole.MIGRATOR)
        for m in range(params.migrators)
    ]
    layout = shared_layout(params, flow.shared)
    total = layout[0]
    actor_pages: dict[int, int] = {}
    actors: list[tuple[ThreadBuilder, ast.Actor, int]] = []
    for actor in spec.actors:
        if actor.page is not None and actor.page >= total:
            raise ValueError(
                f"{actor.span}: actor {actor.name} runs on page {actor.page}, which this "
                f"instance does not have ({total} page(s)): raise --pages or param pages"
            )
        pages = range(total) if actor.page is None else (actor.page,)
        for page in pages:
            suffix = "" if actor.page is not None else page_name(page, total).replace(" ", "#")
            thread = system.thread(actor.name + suffix, ThreadRole.ACTOR)
            actor_pages[thread.index] = page
            actors.append((thread, actor, page))
    res = allocate(spec, params, mode, system, actor_pages, layout)
    choices = {d.name: str(d.value) for d in spec.params if core.param(d.name) is not None}
    compiler = CoreCompiler(res, core, choices)
    for thread, actor, page in actors:
        frame = Frame(thread, page, None, {}, role=Role.ACTOR)
        thread.entry = compiler.block(actor.body, DONE, frame)
        _check_finish(res, thread, page, actor)
    for m, thread in enumerate(migrators):
        _migrator(res, compiler, core, flow, thread, m, callers)
    built = system.build()
    for choice in compiler.choices_made:
        built = decide_lazily(built, choice)
    return built


def _migrator(
    res: Resources,
    compiler: CoreCompiler,
    core: ast.Core,
    flow: ast.MigrateBlock,
    thread: ThreadBuilder,
    m: int,
    callers: list[Caller],
) -> None:
    """The migrator's code: a choice of caller, then per caller what it takes, the core's
    flow for the mode, and what it releases when migrate_pages() returns."""
    pages = res.pages_of[m]
    order = tuple(pages)
    if flow.reversed_if is not None:
        probe = Frame(thread, pages[0], m, {}, role=Role.CORE)
        decided = compiler.expression(flow.reversed_if, probe)
        if decided.op.value != "const":
            raise ValueError(f"{flow.reversed_if.span}: 'reversed if' needs a condition known "
                             "when compiling (params, the migrator's number)")
        if decided.value:
            order = tuple(reversed(order))
    res.order_of[m] = order
    entries: list[tuple[tuple[Caller, ...], int]] = []
    for group in _by_holds(callers):
        first = group[0]
        held = frozenset(ref.name for ref in first.holds)
        frame = Frame(
            thread, order[0], m, {}, role=Role.CALLER, held_on_entry=held, flags=first.flags
        )
        if len(group) > 1:
            labels = ("not decided yet",) + tuple(" or ".join(c.names) for c in group)
            variable = res.system.variable(
                f"caller{compiler.who(m)}", 0, len(group), (0,), VarRole.CORE, labels
            )
            choice = CallerChoice(variable, tuple(c.flags for c in group), labels[1:])
            frame = replace(frame, caller=choice)
            compiler.choices_made.append(choice)
        location = DONE
        for ref in first.holds:
            location = compiler.unlock(ast.UnlockStmt(ref, ref.span), location, frame)
        compiler.exits[m] = location
        core_frame = replace(frame, role=Role.CORE)
        location = compiler.block(flow.body, location, core_frame)
        for ref in reversed(first.holds):
            location = compiler.lock(ast.LockStmt(ref, ref.span), location, frame)
        entries.append((group, location))
    if len(entries) == 1:
        thread.entry = entries[0][1]
        return
    choose = thread.location("migrate_pages() is called")
    for group, location in entries:
        label = " or ".join(name for c in group for name in c.names)
        if group[0].holds:
            label += ", holding " + ", ".join(_ref_text(ref) for ref in group[0].holds)
        thread.add(
            choose,
            location,
            TRUE,
            (),
            Step(StepKind.CORE, f"migrate_pages() called by {label}", _spanned(group[0])),
        )
    thread.entry = choose


def _by_holds(callers: list[Caller]) -> list[tuple[Caller, ...]]:
    """Callers grouped by what they hold; within a group, callers with the same task flags
    are one option (nothing can tell them apart)."""
    groups: dict[tuple[ast.LockRef, ...], dict[frozenset[str], Caller]] = {}
    for caller in callers:
        by_flags = groups.setdefault(caller.holds, {})
        known = by_flags.get(caller.flags)
        by_flags[caller.flags] = (
            caller if known is None else replace(known, names=known.names + caller.names)
        )
    return [tuple(by_flags.values()) for by_flags in groups.values()]


def _spanned(caller: Caller) -> Span | None:
    return caller.span if caller.span.line > 0 else None


def _check_finish(res: Resources, thread: ThreadBuilder, page: int, actor: ast.Actor) -> None:
    """An actor must finish with every lock and reference it took released."""
    locks = res.locks_of_page(page) + [res.old_lock[page]]
    locks += [lock for (m, p), lock in res.new_lock.items() if p == page]
    leaked = or_(holds_any(locks, thread.me), eq(var(res.counted[thread.index]), const(1)))
    thread.check_at(
        DONE,
        Check(
            Property.LOCK_BALANCE, leaked, f"{actor.name} finishes with a lock or reference held"
        ),
        Step(StepKind.CORE, f"{actor.name} finishes", actor.span),
    )


def _ref_text(ref: ast.LockRef) -> str:
    name = ref.name if ref.page is None else f"{ref.name}[{ref.page}]"
    side = "" if ref.access is ast.Access.EXCLUSIVE else f" {ref.access.value}"
    return name + side

