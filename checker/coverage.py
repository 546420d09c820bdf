"""Statements of a spec that no mode and no interleaving ever reached.

A callback branch that never runs is usually a modelling mistake — a trylock that can never
fail because no actor takes the lock, an error path behind a condition that is always false — and
a verdict about a spec with dead branches says less than it seems to.  The explicit engine
reports, per mode, the spec spans of the steps that fired (:attr:`ModeResult.covered`); this
module compares their union with the statements of the callback and the actors.

Some statements produce no step of their own: a mode test is decided when the spec is compiled
(``if mode == SYNC_NO_COPY { ... }`` leaves only the branch for the mode), and ``repeat`` only
unrolls its body.  Such a statement is never reported itself; its inner statements are judged
one by one.  A statement is reported only when it yields steps in some mode's transition system
and none of them fired.  Statements that every path returns before are left to the spec
checker, which already warns about them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from checker.result import ModeResult, Verdict
from model.compiler.system import NotInKernel, compile_system
from model.kinds import ALL_MODES, Mode
from model.language import ast
from model.language.params import Params
from model.span import Diagnostic, Severity, Span


def step_spans(
    spec: ast.Spec, modes: Iterable[Mode], params: Params, core: ast.Core | None = None
) -> frozenset[Span]:
    """The spec spans of every step of the transition systems of ``modes`` (a mode the core's
    kernel does not have has none)."""
    spans: set[Span] = set()
    for mode in modes:
        try:
            system = compile_system(spec, mode, params, core)
        except NotInKernel:
            continue
        spans.update(system.started)
        for transition in system.transitions:
            if transition.step.span is not None:
                spans.add(transition.step.span)
            spans.update(transition.covers)
    return frozenset(spans)


def judge(
    spec: ast.Spec,
    results: tuple[ModeResult, ...],
    modes: tuple[Mode, ...],
    params: Params,
    already: frozenset[Span] = frozenset(),
    core: ast.Core | None = None,
) -> tuple[Diagnostic, ...]:
    """The statements no run of ``modes`` reached (warnings), or one note saying why coverage
    could not be judged: a budget ran out, or the engine does not tell which steps fired.
    ``check`` and ``ci`` both report these."""
    if any(r.reason for r in results):
        return (Diagnostic(Severity.NOTE, None,
                           f"{spec.file}: coverage not judged: a budget ran out"),)
    if not any(r.covered for r in results):
        return (Diagnostic(Severity.NOTE, None, f"{spec.file}: coverage not judged: the "
                           "engine does not report which statements ran"),)
    checked = tuple(r.mode for r in results if r.verdict is not Verdict.ABSENT)
    modes = tuple(m for m in modes if m in checked)
    steps = step_spans(spec, modes, params, core)
    return unreached(spec, results, steps, already, modes)


def unreached(
    spec: ast.Spec,
    results: Iterable[ModeResult],
    steps: frozenset[Span],
    already: frozenset[Span] = frozenset(),
    modes: tuple[Mode, ...] = ALL_MODES,
) -> tuple[Diagnostic, ...]:
    """A warning for each run of consecutive sibling statements that never fired.

    ``steps`` comes from :func:`step_spans`; ``already`` holds spans that other warnings
    already name (they are not reported twice).  Inside a reported statement nothing more is
    reported: its whole body is dead with it.  ``modes`` are the modes that were checked: the
    warnings name them when they are not all four.
    """
    covered: set[Span] = set()
    for result in results:
        covered.update(result.covered)
    where = ("in any mode or interleaving" if set(modes) == set(ALL_MODES)
             else f"in any interleaving of {', '.join(m.value for m in modes)}")
    warnings: list[Diagnostic] = []
    blocks = [spec.callback] + [actor.body for actor in spec.actors]
    for block in blocks:
        warnings.extend(_block(block, frozenset(covered), steps, already, where, modes))
    return tuple(sorted(warnings, key=_order))


def _order(diagnostic: Diagnostic) -> tuple[int, int]:
    span = diagnostic.span
    return (span.line, span.column) if span is not None else (0, 0)


Guard = tuple[Span, str] | None


def _block(
    block: ast.Block,
    covered: frozenset[Span],
    steps: frozenset[Span],
    already: frozenset[Span],
    where: str,
    modes: tuple[Mode, ...],
    guard: Guard = None,
) -> Iterator[Diagnostic]:
    """Warnings for ``block``; ``guard`` is the condition under which the block runs."""
    run: list[ast.Stmt] = []
    for stmt in block.statements:
        own = _own_spans(stmt)
        yields = bool(own & steps)
        dead = yields and not own & covered and stmt.span not in already
        if dead:
            run.append(stmt)
            continue
        if run:
            yield _warning(run, guard, where)
            run = []
        for inner, inner_guard in _inner_blocks(stmt, modes):
            yield from _block(inner, covered, steps, already, where, modes, inner_guard)
    if run:
        yield _warning(run, guard, where)


def _warning(run: list[ast.Stmt], guard: Guard, where: str) -> Diagnostic:
    first = run[0]
    more = len(run) - 1
    tail = f" (nor the {more} statement{'s' if more > 1 else ''} after it)" if more else ""
    notes: tuple[tuple[Span | None, str], ...] = ()
    if guard is not None:
        notes = ((guard[0], f"it runs only when {guard[1]}, which never happened"),)
    return Diagnostic(
        Severity.WARNING,
        first.span,
        f"'{describe(first)}' is never reached {where}{tail}",
        notes,
    )


def _own_spans(stmt: ast.Stmt) -> frozenset[Span]:
    """The spans that the steps of ``stmt`` itself (not its inner blocks) carry."""
    if isinstance(stmt, ast.IfStmt):
        return frozenset({_innermost(stmt.cond).span})
    if isinstance(stmt, ast.EitherStmt):
        return frozenset(branch.span for branch in stmt.branches)
    if isinstance(stmt, ast.RepeatStmt):
        return frozenset()
    return frozenset({stmt.span})


def _inner_blocks(stmt: ast.Stmt, modes: tuple[Mode, ...]) -> list[tuple[ast.Block, Guard]]:
    """The blocks inside ``stmt`` with the condition each runs under.  A branch that a mode test
    rules out in every mode checked is left out: it cannot run there by construction (``check
    --mode ASYNC`` does not warn about the SYNC_NO_COPY branch)."""
    if isinstance(stmt, ast.IfStmt):
        cond = ast.describe_condition(stmt.cond)
        span = stmt.cond.span
        decided = {_mode_value(stmt.cond, mode) for mode in modes}
        out: list[tuple[ast.Block, Guard]] = []
        if decided != {False}:
            out.append((stmt.then, (span, f"'{cond}' is true")))
        if stmt.other is not None and decided != {True}:
            out.append((stmt.other, (span, f"'{cond}' is false")))
        return out
    if isinstance(stmt, ast.EitherStmt):
        return [
            (branch, (branch.span, f"branch {number} of 'either' is chosen"))
            for number, branch in enumerate(stmt.branches, start=1)
        ]
    if isinstance(stmt, ast.RepeatStmt):
        return [(stmt.body, None)]
    return []


def _mode_value(node: ast.Cond | ast.SExpr, mode: Mode) -> bool | None:
    """The value of a condition in ``mode`` when the mode alone decides it, else None."""
    if isinstance(node, ast.ExprCond):
        return _mode_value(node.expr, mode)
    if isinstance(node, ast.NotCond | ast.Unary):
        inner = _mode_value(node.arg, mode)
        return None if inner is None else not inner
    if isinstance(node, ast.ModeTest):
        return mode in node.modes
    if isinstance(node, ast.Binary) and node.op in ("&&", "||"):
        left, right = _mode_value(node.left, mode), _mode_value(node.right, mode)
        if node.op == "&&":
            return False if False in (left, right) else (
                True if left is True and right is True else None)
        return True if True in (left, right) else (
            False if left is False and right is False else None)
    return None


def _innermost(cond: ast.Cond) -> ast.Cond:
    while isinstance(cond, ast.NotCond):
        cond = cond.arg
    return cond


def describe(stmt: ast.Stmt) -> str:
    """A statement in short spec syntax, for messages."""
    if isinstance(stmt, ast.LockStmt | ast.UnlockStmt):
        verb = "lock" if isinstance(stmt, ast.LockStmt) else "unlock"
        access = stmt.target.access
        side = f" {access.value}" if access is not ast.Access.EXCLUSIVE else ""
        return f"{verb} {stmt.target.name}{side}"
    if isinstance(stmt, ast.IfStmt):
        return f"if {ast.describe_condition(stmt.cond)}"
    if isinstance(stmt, ast.EitherStmt):
        return "either"
    if isinstance(stmt, ast.RepeatStmt):
        return f"repeat {stmt.count}"
    if isinstance(stmt, ast.ReturnStmt):
        return f"return {stmt.code.name}"
    if isinstance(stmt, ast.ReturnCallStmt):
        return f"return call {stmt.library}"
    if isinstance(stmt, ast.MoveMappingStmt):
        return "move_mapping"
    if isinstance(stmt, ast.CopyStmt):
        return "copy_states" if stmt.states_only else "copy"
    if isinstance(stmt, ast.WriteStmt):
        return f"write {stmt.via}"
    if isinstance(stmt, ast.RefStmt):
        if not stmt.take:
            return "put ref"
        return "get ref" if stmt.counted else "peek ref"
    if isinstance(stmt, ast.RepointStmt):
        return f"repoint {stmt.pointer}"
    if isinstance(stmt, ast.WritebackStmt):
        return f"{stmt.action.value} writeback"
    if isinstance(stmt, ast.WritepageStmt):
        return "writepage"
    if isinstance(stmt, ast.AssignStmt):
        return f"{stmt.name} = ..."
    if isinstance(stmt, ast.AwaitStmt):
        return "await ..."
    if isinstance(stmt, ast.AssertStmt):
        return f'assert ..., "{stmt.message}"'
    return type(stmt).__name__.removesuffix("Stmt").lower()
