"""Sequential composition of steps: one transition that does what a path of steps does.

``atomic { ... }`` in a core compiles its body as usual and then replaces every path through it
by one transition: the path's guards conjoined (each read after the earlier steps' updates),
its updates composed, its checks evaluated where they stood on the path.  Substitution is
exact, so the composed step changes the state exactly as the path would, with no point in
between at which another thread could run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import product

from model.compiler.bodies import CallerChoice
from model.span import Span
from model.ts import (
    TRUE,
    Check,
    Expr,
    Op,
    Step,
    ThreadRole,
    Transition,
    TransitionSystem,
    Wait,
    and_,
    apply_binary,
    not_,
    or_,
    partially_evaluate,
    variables_of,
)

Updates = dict[int, Expr]


def substitute(expr: Expr, updates: Updates) -> Expr:
    """``expr`` read after ``updates``: every variable they assign replaced by its new value."""
    if not updates:
        return expr
    if expr.op is Op.VAR:
        return updates.get(expr.value, expr)
    if not expr.args:
        return expr
    args = tuple(substitute(arg, updates) for arg in expr.args)
    if expr.op is Op.AND:
        return and_(*args)
    return Expr(expr.op, args, expr.value)


@dataclass(frozen=True, slots=True)
class Composed:
    """The effect of a path: when it may run, what it changes, what it checks."""

    guard: Expr
    updates: tuple[tuple[int, Expr], ...]
    checks: tuple[Check, ...]
    waits: tuple[Wait, ...]


def compose(
    path: list[Transition], location_checks: dict[int, list[Check]], pc: int
) -> Composed | None:
    """The one-step effect of ``path`` (None when its guards can never hold together).

    ``location_checks`` holds the checks of the locations the path passes through (keyed by
    location); they are evaluated in the state the path reaches there.  ``pc`` is the thread's
    program counter, which the caller sets.
    """
    updates: Updates = {}
    guards: list[Expr] = []
    checks: list[Check] = []
    waits: list[Wait] = []
    for position, transition in enumerate(path):
        if position > 0:
            for check in location_checks.get(transition.source, ()):
                checks.append(_checked_after(check, updates))
        guard = substitute(transition.guard, updates)
        if partially_evaluate(guard, {}) == 0:
            return None
        for check in transition.checks:
            checks.append(_checked_after(check, updates))
        guards.append(guard)
        waits.extend(
            Wait(wait.resource, substitute(wait.holder, updates)) for wait in transition.waits
        )
        step_updates = {
            target: substitute(value, updates)
            for target, value in transition.updates
            if target != pc
        }
        updates.update(step_updates)
    guard = and_(*guards) if guards else TRUE
    if partially_evaluate(guard, {}) == 0:
        return None
    return Composed(guard, tuple(sorted(updates.items())), tuple(checks), tuple(waits))


def _checked_after(check: Check, updates: Updates) -> Check:
    """A check met along the path: its condition read after the updates so far (the composed
    step fires only when the whole path's guards hold, so the branch taken is implied)."""
    return Check(check.property, substitute(check.bad, updates), check.message)


def joined_step(path: list[Transition], text: str) -> Step:
    """How a composed step reads: the atomic block's text at the first step's place."""
    first = path[0].step
    return Step(first.kind, text, first.span)


def simplify(expr: Expr) -> Expr:
    """Fold every subexpression that reads no variable into its constant value."""
    if expr.op is Op.CONST or expr.op is Op.VAR:
        return expr
    args = tuple(simplify(arg) for arg in expr.args)
    if expr.op is Op.AND:
        return and_(*args)
    if expr.op is Op.OR:
        return or_(*args)
    if expr.op is Op.NOT:
        return not_(args[0])
    if expr.op is Op.ITE:
        if args[0].op is Op.CONST:
            return args[1] if args[0].value else args[2]
        return Expr(Op.ITE, args)
    if all(arg.op is Op.CONST for arg in args):
        return Expr(Op.CONST, value=apply_binary(expr.op, args[0].value, args[1].value))
    return Expr(expr.op, args, expr.value)


def private_variables(system: TransitionSystem) -> list[frozenset[int]]:
    """Per thread, the variables no other thread reads or writes (in any guard, update, check,
    wait or location check); program counters excluded."""
    users: dict[int, set[int]] = {}

    def use(thread: int, expr: Expr) -> None:
        for variable in variables_of(expr):
            users.setdefault(variable, set()).add(thread)

    for transition in system.transitions:
        use(transition.thread, transition.guard)
        for target, value in transition.updates:
            users.setdefault(target, set()).add(transition.thread)
            use(transition.thread, value)
        for check in transition.checks:
            use(transition.thread, check.bad)
        for wait in transition.waits:
            use(transition.thread, wait.holder)
    for location_check in system.location_checks:
        use(location_check.thread, location_check.check.bad)
    pcs = {thread.pc for thread in system.threads}
    private: list[set[int]] = [set() for _ in system.threads]
    for variable, who in users.items():
        if len(who) == 1 and variable not in pcs:
            private[next(iter(who))].add(variable)
    return [frozenset(found) for found in private]


_MAX_VALUATIONS = 4096


def fuse_private_steps(system: TransitionSystem) -> TransitionSystem:
    """Merge every step that only reads and writes its thread's private variables into the
    steps that lead to it.

    A location is *invisible* when it is not the thread's start or end, carries no location
    check, and all its transitions read and write only the thread's private variables, carry
    no check, wait or return, and together are enabled in every valuation of what they read.
    Another thread can neither see a thread at such a location nor change what it does there,
    and the thread always moves on from it, so running the step together with the step that
    arrives there changes no verdict: no property reads the intermediate state, no thread can
    block there, and every interleaving of the unfused system has one of the fused system with
    the same sequence of visible steps.  Traces get shorter by the merged steps; the merged
    steps' spec lines stay covered (``Transition.covers``).
    """
    private = private_variables(system)
    invisible: set[tuple[int, int]] = set()
    outgoing: dict[tuple[int, int], list[Transition]] = {}
    for transition in system.transitions:
        outgoing.setdefault((transition.thread, transition.source), []).append(transition)
    checked = {(c.thread, c.location) for c in system.location_checks}
    for key, transitions in outgoing.items():
        thread, location = key
        info = system.threads[thread]
        if location == info.done or key in checked:
            continue
        if all(_invisible(t, private[thread]) for t in transitions) and _exhaustive(
            transitions, system
        ):
            invisible.add(key)
    system = _advance_migrators(system, invisible, outgoing)
    for index, info in enumerate(system.threads):
        # nothing leads to a thread's start: it keeps its own steps
        invisible.discard((index, system.variables[info.pc].initial[0]))
    if not invisible:
        return system
    # a location whose paths branch out too much stays a step of its own (a stop): merging
    # would trade a few states for many long transitions
    while True:
        expansions: dict[int, list[Transition]] = {}
        stops: set[tuple[int, int]] = set()
        for index, transition in enumerate(system.transitions):
            if (transition.thread, transition.source) in invisible:
                continue
            paths = _through(
                transition, invisible, outgoing, private[transition.thread], system, _MAX_PATHS
            )
            if isinstance(paths, int):
                stops.add((transition.thread, paths))
            else:
                expansions[index] = paths
        if not stops:
            break
        invisible -= stops
    fused = [t for index in sorted(expansions) for t in expansions[index]]
    return replace(system, transitions=tuple(fused))


def _advance_migrators(
    system: TransitionSystem,
    invisible: set[tuple[int, int]],
    outgoing: dict[tuple[int, int], list[Transition]],
) -> TransitionSystem:
    """Start each migrator past the invisible steps its initial state decides (the core's
    first tests of its own state): they are the same in every run, so no run and no verdict
    changes, and no trace begins with them.  A start that stays invisible is dropped from the
    invisible set, so no step leads to nowhere."""
    variables = list(system.variables)
    started: list[Span] = []
    for index, thread in enumerate(system.threads):
        if thread.role is not ThreadRole.MIGRATOR:
            continue
        seen: set[int] = set()
        while True:
            location = variables[thread.pc].initial[0]
            key = (index, location)
            if key not in invisible or location in seen:
                break
            seen.add(location)
            known = {v: variables[v].initial[0] for v in range(len(variables))
                     if len(variables[v].initial) == 1}
            enabled = [t for t in outgoing[key] if partially_evaluate(t.guard, known)]
            undecided = [t for t in outgoing[key] if partially_evaluate(t.guard, known) is None]
            if len(enabled) != 1 or undecided:
                break
            step = enabled[0]
            values = {target: partially_evaluate(value, known) for target, value in step.updates}
            if any(value is None for value in values.values()):
                break
            for target, value in values.items():
                variables[target] = replace(variables[target], initial=(int(value or 0),))
            variables[thread.pc] = replace(variables[thread.pc], initial=(step.target,))
            started.extend(span for span in (step.step.span, *step.covers) if span is not None)
    return replace(system, variables=tuple(variables), started=system.started + tuple(started))


def _invisible(transition: Transition, private: frozenset[int]) -> bool:
    if transition.checks or transition.waits or transition.returns is not None:
        return False
    if not variables_of(transition.guard) <= private:
        return False
    for target, value in transition.updates:
        if target not in private or not variables_of(value) <= private:
            return False
    return True


def _exhaustive(transitions: list[Transition], system: TransitionSystem) -> bool:
    """Some transition is enabled in every valuation of the variables the guards read."""
    read = sorted(set().union(*(variables_of(t.guard) for t in transitions)))
    ranges = [range(system.variables[v].low, system.variables[v].high + 1) for v in read]
    count = 1
    for values in ranges:
        count *= len(values)
    if count > _MAX_VALUATIONS:
        return False
    for valuation in product(*ranges):
        known = dict(zip(read, valuation, strict=True))
        if not any(partially_evaluate(t.guard, known) for t in transitions):
            return False
    return True


_MAX_CANDIDATES = 512
_MAX_PATHS = 8


@dataclass(slots=True)
class _Partial:
    """A path being extended: what it changes so far (in terms of the state before its first
    step), its guards read in that state, and the valuations of the thread's private variables
    that satisfy them (None: too many to track; then nothing is pruned)."""

    path: list[Transition]
    updates: Updates
    guards: list[Expr]
    candidates: list[dict[int, int]] | None
    seen: frozenset[int]


def _through(
    first: Transition,
    invisible: set[tuple[int, int]],
    outgoing: dict[tuple[int, int], list[Transition]],
    private: frozenset[int],
    system: TransitionSystem,
    most: int,
) -> list[Transition] | int:
    """The composed transitions of every feasible path that starts with ``first`` and passes
    through invisible locations only, up to the first visible one; or the location that must
    stay a step of its own: one a path would enter twice (a loop of invisible steps), or the
    first one when there are more than ``most`` paths.  Paths whose guards contradict
    each other on the thread's private variables are dropped as they are built, so a chain of
    tests costs what its feasible branches cost, not every combination of them."""
    pc = system.threads[first.thread].pc
    start = _Partial(
        [first],
        {target: value for target, value in first.updates if target != pc},
        [first.guard],
        [{}],
        frozenset(),
    )
    start.candidates = _narrow(start.candidates, first.guard, private, system)
    found: list[Transition] = []
    stack = [start]
    while stack:
        partial = stack.pop()
        last = partial.path[-1]
        key = (last.thread, last.target)
        if last.target in partial.seen:
            return last.target
        if key not in invisible:
            found.append(_composed(partial, system))
            if len(found) > most:
                return first.target
            continue
        for following in outgoing[key]:
            guard = simplify(substitute(following.guard, partial.updates))
            if guard.op is Op.CONST and guard.value == 0:
                continue
            candidates = _narrow(partial.candidates, guard, private, system)
            if candidates is not None and not candidates:
                continue
            updates = dict(partial.updates)
            for target, value in following.updates:
                updates[target] = simplify(substitute(value, partial.updates))
            stack.append(
                _Partial(
                    partial.path + [following],
                    updates,
                    partial.guards + [guard],
                    candidates,
                    partial.seen | {last.target},
                )
            )
    found.reverse()
    return found


def _narrow(
    candidates: list[dict[int, int]] | None,
    guard: Expr,
    private: frozenset[int],
    system: TransitionSystem,
) -> list[dict[int, int]] | None:
    """The candidate valuations that may satisfy ``guard`` (extended to the private variables
    it reads); None once they grow past the cap."""
    if candidates is None:
        return None
    read = sorted(variables_of(guard) & private)
    new = [v for v in read if v not in (candidates[0] if candidates else {})]
    extended = candidates
    for variable in new:
        info = system.variables[variable]
        extended = [
            {**valuation, variable: value}
            for valuation in extended
            for value in range(info.low, info.high + 1)
        ]
        if len(extended) > _MAX_CANDIDATES:
            return None
    return [valuation for valuation in extended if partially_evaluate(guard, valuation) != 0]


def _composed(partial: _Partial, system: TransitionSystem) -> Transition:
    first = partial.path[0]
    if len(partial.path) == 1:
        return first
    covers = tuple(
        span for t in partial.path[1:] for span in (t.step.span, *t.covers) if span is not None
    )
    return replace(
        first,
        target=partial.path[-1].target,
        guard=simplify(and_(*partial.guards)),
        updates=tuple(sorted(partial.updates.items())),
        covers=first.covers + covers,
    )


def decide_lazily(system: TransitionSystem, choice: CallerChoice) -> TransitionSystem:
    """Decide which caller called migrate_pages() the first time a step depends on it.

    Every step that reads the choice is split in one copy per caller: the copy for caller i
    may fire while the choice is undecided or already i, reads the flags of caller i, and
    records i.  Before the first such step the run cannot depend on the caller, so deciding
    then instead of at the start changes no verdict; states stay shared until it matters.
    """
    variable = choice.variable
    for location_check in system.location_checks:
        if variable in variables_of(location_check.check.bad):
            raise ValueError("a location check reads the caller's flags")
    result: list[Transition] = []
    for transition in system.transitions:
        if not _reads(transition, variable):
            result.append(transition)
            continue
        for number, name in enumerate(choice.names, start=1):
            fixed = {variable: Expr(Op.CONST, value=number)}
            undecided_or_this = or_(
                Expr(Op.EQ, (Expr(Op.VAR, value=variable), Expr(Op.CONST, value=0))),
                Expr(Op.EQ, (Expr(Op.VAR, value=variable), Expr(Op.CONST, value=number))),
            )
            guard = simplify(and_(undecided_or_this, substitute(transition.guard, fixed)))
            if guard.op is Op.CONST and guard.value == 0:
                continue
            updates = tuple(
                (target, simplify(substitute(value, fixed)))
                for target, value in transition.updates
                if target != variable
            ) + ((variable, Expr(Op.CONST, value=number)),)
            result.append(
                replace(
                    transition,
                    guard=guard,
                    updates=updates,
                    checks=tuple(
                        replace(c, bad=simplify(substitute(c.bad, fixed)))
                        for c in transition.checks
                    ),
                    waits=tuple(
                        Wait(w.resource, simplify(substitute(w.holder, fixed)))
                        for w in transition.waits
                    ),
                    step=replace(transition.step, text=f"{transition.step.text} ({name})"),
                )
            )
    return replace(system, transitions=tuple(result))


def _reads(transition: Transition, variable: int) -> bool:
    exprs = [transition.guard, *(v for _, v in transition.updates)]
    exprs += [c.bad for c in transition.checks] + [w.holder for w in transition.waits]
    return any(variable in variables_of(e) for e in exprs)
