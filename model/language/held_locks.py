"""Which locks (and the page reference) may be held at each statement of a body, per mode:
the path analysis behind the spec checker's every-path lock errors and missing returns."""

from __future__ import annotations

from dataclasses import dataclass

from model.kinds import Mode
from model.language import ast
from model.language.limits import MAX_REPEAT
from model.language.params import INT_PARAMS, Params, params_of
from model.language.report import Report, end_of
from model.span import Span

MAX_PATHS = 4096


Held = frozenset[str]

CONTINUES = "(continues)"
"""The key under which a path keeps why it did not return (for the missing-return note)."""


@dataclass(frozen=True, slots=True)
class _Why:
    """Why a path holds, or does not hold, one resource: the branch that decided it, or the
    statement that took or released it.  ``text`` is the whole note."""

    span: Span
    text: str
    branch: bool = False


Reasons = dict[str, _Why]
Paths = dict[Held, Reasons]
_Option = tuple[Held, _Why, ast.Block | None]
"""One way through a branch: what its entry takes, why it is taken, and its block."""


class HeldLocks:
    """Which locks (and the page reference) may be held at each statement, per mode.

    Each set of held locks keeps, for each resource, why it is held or not: the branch that
    made the difference (a branch's note names the branch whose alternative ends differently,
    for each input path separately) or the statement that took or released it.

    A test of spec state goes both ways here even when another thread cannot change it in
    between, so a path of this analysis need not be a path of the model.  Hence an unlock,
    ``put ref``, ``write ref`` or ``writepage`` is an error only when it is wrong on EVERY path
    that reaches it; wrong on some paths only, it is left to the run-time lock-balance checks
    of model/compiler/bodies.py, which report it with a trace exactly where it happens.
    """

    def __init__(self, spec: ast.Spec, report: Report, mode: Mode) -> None:
        self.spec = spec
        self.report = report
        self.mode = mode
        self.params, _ = params_of(spec)
        self.truncated = False
        self.needs: dict[tuple[Span, str], _Need] = {}

    def body(self, block: ast.Block, callback: bool) -> None:
        callers = {key_of(ref) for ref in self.spec.held_by_caller(self.mode)}
        start: Held = frozenset({"page", "newpage"} | callers) if callback else frozenset()
        ends = self.block(block, {start: {}})
        if not self.truncated:
            for (span, message), need in self.needs.items():
                if not need.met:
                    notes = () if need.why is None else ((need.why.span, need.why.text),)
                    self.report.error(span, message, notes)
        if callback and ends:
            why = next(iter(ends.values())).get(CONTINUES)
            notes = () if why is None else ((why.span, why.text),)
            self.report.error(
                end_of(block),
                "the callback can reach its end without 'return': add 'return OK' or "
                "another return code",
                notes,
            )

    def block(self, block: ast.Block, paths: Paths) -> Paths:
        for stmt in block.statements:
            if not paths:
                return paths
            paths = self.statement(stmt, paths)
            if len(paths) > MAX_PATHS:
                self.truncated = True
                paths = dict(list(paths.items())[:MAX_PATHS])
        return paths

    @staticmethod
    def change(paths: Paths, why: _Why, add: str = "", remove: str = "") -> Paths:
        changed: Paths = {}
        name = add or remove
        for held, reasons in paths.items():
            after = (held | {add}) if add else held - {remove}
            changed.setdefault(after, {**reasons, name: why})
        return changed

    def statement(self, stmt: ast.Stmt, paths: Paths) -> Paths:
        if isinstance(stmt, ast.LockStmt):
            name = key_of(stmt.target)
            return self.change(paths, _Why(stmt.span, f"{name} is taken here"), add=name)
        if isinstance(stmt, ast.UnlockStmt):
            name = key_of(stmt.target)
            self.require(
                name,
                paths,
                stmt.span,
                f"unlock of {name}, which is not held on any path to here: take {name} "
                "before this, or remove the unlock",
            )
            return self.change(paths, _Why(stmt.span, f"{name} is released here"), remove=name)
        if isinstance(stmt, ast.WritepageStmt):
            self.require(
                "page",
                paths,
                stmt.span,
                "writepage needs the old page locked, and it is not locked on any path to "
                "here: writepage unlocks the page, so call it once and do not unlock page "
                "before it",
            )
            why = _Why(stmt.span, "writepage unlocks the page here")
            return self.change(paths, why, remove="page")
        if isinstance(stmt, ast.RefStmt):
            return self.reference(stmt, paths)
        if isinstance(stmt, ast.WriteStmt) and stmt.via == "ref":
            self.require(
                "ref",
                paths,
                stmt.span,
                "write ref without a reference held on any path to here: take one with "
                "'get ref' (or 'peek ref') before this",
            )
            return paths
        if isinstance(stmt, (ast.ReturnStmt, ast.ReturnCallStmt)):
            return {}
        if isinstance(stmt, ast.IfStmt):
            return self.branch(stmt, paths)
        if isinstance(stmt, ast.EitherStmt):
            options: list[_Option] = [
                (frozenset(), _Why(b.span, f"on the path through branch {n} of 'either'", True), b)
                for n, b in enumerate(stmt.branches, start=1)
            ]
            return self.alternatives(paths, options)
        if isinstance(stmt, ast.RepeatStmt):
            return self.repeat(stmt, paths)
        return paths

    def reference(self, stmt: ast.RefStmt, paths: Paths) -> Paths:
        if stmt.take:
            word = "get" if stmt.counted else "peek"
            holding = [reasons.get("ref") for held, reasons in paths.items() if "ref" in held]
            if holding:
                why = holding[0]
                self.report.error(
                    stmt.span,
                    f"{word} ref while a reference may still be held: put ref before taking "
                    "another (a thread holds one reference at a time)",
                    () if why is None else ((why.span, why.text),),
                )
            taken = _Why(stmt.span, "the reference taken here has not been put")
            return self.change(paths, taken, add="ref")
        self.require(
            "ref",
            paths,
            stmt.span,
            "put ref without a reference held on any path to here: take one with 'get ref' "
            "before this, or remove the put",
        )
        return self.change(paths, _Why(stmt.span, "the reference is put here"), remove="ref")

    def repeat(self, stmt: ast.RepeatStmt, paths: Paths) -> Paths:
        """The body ``count`` times, stopping early once the held sets repeat (the analysis of
        a body depends only on them).  A count out of range is reported elsewhere; its body is
        followed once, never unrolled."""
        count = _repeat_count(stmt.count, self.params)
        if count is None:
            return self.block(stmt.body, paths)
        for _ in range(count):
            after = self.block(stmt.body, paths)
            if after.keys() == paths.keys():
                return after
            paths = after
        return paths

    def branch(self, stmt: ast.IfStmt, paths: Paths) -> Paths:
        cond = stmt.cond
        text = ast.describe_condition(cond)
        true_why = _Why(cond.span, f"on the path where '{text}' is true", True)
        false_why = _Why(cond.span, f"on the path where '{text}' is false", True)
        then_add: Held = frozenset()
        other_add: Held = frozenset()
        negated = False
        while isinstance(cond, ast.NotCond):
            negated = not negated
            cond = cond.arg
        decided: bool | None = None
        if isinstance(cond, ast.TryLockCond):
            taken = frozenset({key_of(cond.target)})
            if negated:
                other_add = taken
            else:
                then_add = taken
        elif isinstance(cond, ast.ExprCond):
            decided = _mode_only(cond.expr, self.mode)
        options: list[_Option] = []
        if decided is not False:
            options.append((then_add, true_why, stmt.then))
        if decided is not True:
            options.append((other_add, false_why, stmt.other))
        return self.alternatives(paths, options)

    def alternatives(self, paths: Paths, options: list[_Option]) -> Paths:
        """Follow each alternative (a branch taken, with the locks its entry takes) from each
        input path; a resource whose state an alternative decides gets that branch as reason."""
        result: Paths = {}
        for held, reasons in paths.items():
            entries = [held | add for add, _, _ in options]
            outputs: list[Paths] = []
            entered: list[Reasons] = []
            for number, (_, why, block) in enumerate(options):
                entry = entries[number]
                differ = _differ(entry, entries[:number] + entries[number + 1 :])
                entered.append({**reasons, **{name: why for name in differ}})
                start: Paths = {entry: entered[number]}
                outputs.append(self.block(block, start) if block is not None else start)
            for number, (_, why, _) in enumerate(options):
                rest = outputs[:number] + outputs[number + 1 :]
                others = [h for other in rest for h in other]
                others_return = any(not other for other in rest)
                entered_reasons = entered[number]
                for after, after_reasons in outputs[number].items():
                    decided = set(_differ(after, others))
                    if others_return:
                        decided.add(CONTINUES)
                    updated = dict(after_reasons)
                    for name in decided:
                        inner = updated.get(name)
                        if inner is None or not inner.branch or inner is entered_reasons.get(name):
                            updated[name] = why
                    result.setdefault(after, updated)
        return result

    def require(self, name: str, paths: Paths, span: Span, message: str) -> None:
        """Note whether ``name`` is held on some path that reaches ``span``: the statement is
        an error when it is held on none of them (decided at the end, as a branch's paths
        are followed one input path at a time)."""
        if not paths:
            return
        need = self.needs.setdefault((span, message), _Need())
        if any(name in held for held in paths):
            need.met = True
        elif need.why is None:
            need.why = next(iter(paths.values())).get(name)


@dataclass(slots=True)
class _Need:
    """A statement that needs a resource held: whether some path holds it, and why the first
    path seen does not."""

    met: bool = False
    why: _Why | None = None


def _differ(held: Held, others: list[Held]) -> frozenset[str]:
    """The resources ``held`` has and some other set lacks, or lacks and some other has."""
    found: set[str] = set()
    for other in others:
        found |= held ^ other
    return frozenset(found)


def _repeat_count(count: int | str, params: Params) -> int | None:
    """How often ``repeat`` runs its body at ``params``; None for a count that is an error."""
    if isinstance(count, int):
        return count if 0 <= count <= MAX_REPEAT else None
    if count in INT_PARAMS:
        value: int = getattr(params, count)
        return value
    return None


def key_of(ref: ast.LockRef) -> str:
    """How a lock reference reads in the held-lock analysis (``page[1]`` is not ``page``)."""
    return ref.name if ref.page is None else f"{ref.name}[{ref.page}]"


def _mode_only(expr: ast.SExpr, mode: Mode) -> bool | None:
    """The value of an expression that tests only the mode (and constants), else None."""
    if isinstance(expr, ast.ModeTest):
        return mode in expr.modes
    if isinstance(expr, ast.IntLit):
        return bool(expr.value)
    if isinstance(expr, ast.Unary):
        inner = _mode_only(expr.arg, mode)
        return None if inner is None else not inner
    if isinstance(expr, ast.Binary) and expr.op in ("&&", "||"):
        left, right = _mode_only(expr.left, mode), _mode_only(expr.right, mode)
        if expr.op == "&&":
            if left is False or right is False:
                return False
            return None if left is None or right is None else True
        if left is True or right is True:
            return True
        return None if left is None or right is None else False
    return None
