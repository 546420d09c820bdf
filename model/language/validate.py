"""Static checks of a parsed spec: everything that makes a spec meaningless is an error here,
with its span, before any engine runs.

The lock-holding analysis follows every path of a body once per mode (a test of the mode is
decided, tests of spec state go both ways) and tracks the sets of locks that may be held, so
``unlock of X, which is not held on some path`` names a real path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from model.kernel.library import library_names
from model.kinds import ALL_MODES, Mode, ReturnCode
from model.language import ast
from model.language.params import PARAM_NAMES, params_of
from model.span import Diagnostic, Severity, Span, SpecError

BUILTIN_NAMES = frozenset({"page", "newpage", "buffers", "writeback", "mode", "ref"})
INT_PARAMS = frozenset({"pages", "migrators", "writes", "passes"})
CALLBACK_ONLY = (
    ast.MoveMappingStmt,
    ast.CopyStmt,
    ast.RepointStmt,
    ast.WritepageStmt,
    ast.ReturnStmt,
    ast.ReturnCallStmt,
)
ACTOR_ONLY = (ast.WriteStmt, ast.RefStmt, ast.ReadStmt)
MAX_PATHS = 4096


@dataclass(slots=True)
class _Report:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    seen: set[tuple[Span | None, str]] = field(default_factory=set)

    def error(
        self, span: Span | None, message: str, notes: tuple[tuple[Span | None, str], ...] = ()
    ) -> None:
        self.add(Severity.ERROR, span, message, notes)

    def warning(self, span: Span | None, message: str) -> None:
        self.add(Severity.WARNING, span, message)

    def add(
        self,
        severity: Severity,
        span: Span | None,
        message: str,
        notes: tuple[tuple[Span | None, str], ...] = (),
    ) -> None:
        key = (span, message)
        if key not in self.seen:
            self.seen.add(key)
            self.diagnostics.append(Diagnostic(severity, span, message, notes))


def validate(spec: ast.Spec) -> tuple[Diagnostic, ...]:
    """Every error and warning of a parsed spec, in source order."""
    report = _Report()
    _, param_errors = params_of(spec)
    report.diagnostics.extend(param_errors)
    _check_names(spec, report)
    _check_expects(spec, report)
    _check_caller_holds(spec, report)
    if not spec.source:
        report.warning(
            spec.span, "no 'source \"FILE: FUNCTION\"' line: cite the kernel code this spec models"
        )
    _Body(spec, report, None).block(spec.callback)
    for actor in spec.actors:
        _Body(spec, report, actor).block(actor.body)
    _unreachable(spec.callback, report)
    for actor in spec.actors:
        _unreachable(actor.body, report)
    for mode in ALL_MODES:
        _HeldLocks(spec, report, mode).body(spec.callback, callback=True)
        for actor in spec.actors:
            _HeldLocks(spec, report, mode).body(actor.body, callback=False)
    return tuple(sorted(report.diagnostics, key=_position))


def check_spec(spec: ast.Spec) -> tuple[Diagnostic, ...]:
    """Validate; raise :class:`SpecError` if there is any error, else return the warnings."""
    diagnostics = validate(spec)
    if any(d.severity is Severity.ERROR for d in diagnostics):
        raise SpecError(diagnostics)
    return diagnostics


def _position(diagnostic: Diagnostic) -> tuple[int, int]:
    span = diagnostic.span
    return (span.line, span.column) if span is not None else (0, 0)


def _end_of(block: ast.Block) -> Span:
    span = block.span
    return Span(
        span.file, span.end_line, max(span.end_column - 1, 1), span.end_line, span.end_column
    )


# ---------------------------------------------------------------- names and expectations


def _check_names(spec: ast.Spec, report: _Report) -> None:
    first: dict[str, tuple[str, Span]] = {}
    declared: list[tuple[str, str, Span]] = (
        [(d.name, "lock", d.span) for d in spec.locks]
        + [(d.name, "variable", d.span) for d in spec.variables]
        + [(d.name, "pointer", d.span) for d in spec.pointers]
        + [(d.name, "actor", d.span) for d in spec.actors]
    )
    for name, what, span in declared:
        if name in BUILTIN_NAMES or name in PARAM_NAMES:
            report.error(span, f"'{name}' is a built-in name: give the {what} another name")
            continue
        if name in first:
            other_what, other_span = first[name]
            article = "an" if other_what[0] in "aeiou" else "a"
            report.error(
                span,
                f"duplicate name '{name}': {article} {other_what} already has it",
                ((other_span, f"the {other_what} '{name}' is declared here"),),
            )
            continue
        first[name] = (what, span)
    seen_params: dict[str, Span] = {}
    for param in spec.params:
        if param.name in seen_params:
            report.error(
                param.span,
                f"param {param.name} is set twice",
                ((seen_params[param.name], "first set here"),),
            )
        seen_params[param.name] = param.span


def _check_caller_holds(spec: ast.Spec, report: _Report) -> None:
    """A caller may hold a lock shared by all pages (either side of a reader-writer lock) or
    the page lock of a page being migrated (``page``, ``page[N]``)."""
    for ref in (r for held in spec.caller_holds for r in held.locks):
        if ref.name == "page":
            if ref.access is not ast.Access.EXCLUSIVE:
                report.error(ref.span, "page has no read or write side")
            if ref.page is not None and ref.page < 0:
                report.error(ref.span, "pages are numbered from 0")
            continue
        decl = spec.lock(ref.name)
        if decl is None:
            report.error(
                ref.span,
                f"caller holds '{ref.name}', which is not a declared lock (or page, page[N])",
            )
        elif decl.scope is not ast.Scope.SHARED:
            report.error(
                ref.span,
                f"caller holds needs a lock shared by all pages; {ref.name} is per page",
                ((decl.span, "declared here"),),
            )
        elif decl.kind.shared and ref.access is ast.Access.EXCLUSIVE:
            report.error(
                ref.span,
                f"{ref.name} is a {decl.kind.value}: say which side the caller holds, "
                f"'{ref.name} read' or '{ref.name} write'",
                ((decl.span, "declared here"),),
            )
    for actor in spec.actors:
        if actor.page is not None and actor.page < 0:
            report.error(actor.span, "pages are numbered from 0")


def _check_expects(spec: ast.Spec, report: _Report) -> None:
    seen: dict[Mode, Span] = {}
    for expect in spec.expects:
        for mode in expect.modes:
            if mode in seen:
                report.error(
                    expect.span,
                    f"a second expectation for {mode.value}",
                    ((seen[mode], "the first one is here"),),
                )
            seen[mode] = expect.span
        if ReturnCode.OK in expect.codes:
            report.error(
                expect.span,
                "'refuses OK' means nothing: refuses takes error codes such as EINVAL or EAGAIN",
            )


# ---------------------------------------------------------------- statements and references


class _Body:
    """Placement and name checks of one body (the callback, or one actor)."""

    def __init__(self, spec: ast.Spec, report: _Report, actor: ast.Actor | None) -> None:
        self.spec = spec
        self.report = report
        self.actor = actor

    @property
    def where(self) -> str:
        return "the callback" if self.actor is None else f"actor {self.actor.name}"

    def block(self, block: ast.Block) -> None:
        for statement in block.statements:
            self.statement(statement)

    def statement(self, stmt: ast.Stmt) -> None:
        report = self.report
        if self.actor is not None and isinstance(stmt, CALLBACK_ONLY):
            report.error(stmt.span, f"{_keyword(stmt)} belongs in the callback, not in an actor")
        if self.actor is None and isinstance(stmt, ACTOR_ONLY):
            report.error(
                stmt.span,
                f"{_keyword(stmt)} belongs in an actor (another kernel path), not in the callback",
            )
        if (
            self.actor is None
            and isinstance(stmt, ast.WritebackStmt)
            and (stmt.action is not ast.WritebackAction.WAIT)
        ):
            report.error(stmt.span, f"{stmt.action.value} writeback belongs in an actor")
        if isinstance(stmt, (ast.LockStmt, ast.UnlockStmt)):
            self.lock_ref(stmt.target, unlock=isinstance(stmt, ast.UnlockStmt))
        elif isinstance(stmt, ast.IfStmt):
            self.condition(stmt.cond)
            self.block(stmt.then)
            if stmt.other is not None:
                self.block(stmt.other)
        elif isinstance(stmt, ast.EitherStmt):
            for branch in stmt.branches:
                self.block(branch)
        elif isinstance(stmt, ast.RepeatStmt):
            if isinstance(stmt.count, str) and stmt.count not in INT_PARAMS:
                report.error(
                    stmt.span,
                    f"repeat {stmt.count}: the count must be a number or one "
                    f"of the params {', '.join(sorted(INT_PARAMS))}",
                )
            if isinstance(stmt.count, int) and not 0 <= stmt.count <= 8:
                report.error(stmt.span, "repeat counts run from 0 to 8")
            self.block(stmt.body)
        elif isinstance(stmt, ast.ReturnCallStmt):
            if stmt.library not in library_names():
                report.error(
                    stmt.span,
                    f"unknown library callback '{stmt.library}': use one of "
                    f"{', '.join(library_names())}",
                )
        elif isinstance(stmt, ast.WriteStmt):
            if stmt.via not in ("page", "ref") and not self.pointer(stmt.via):
                report.error(
                    stmt.span,
                    f"write through '{stmt.via}': declare 'pointer "
                    f"{stmt.via}', or write through page or ref",
                )
        elif isinstance(stmt, ast.RepointStmt):
            if not self.pointer(stmt.pointer):
                report.error(
                    stmt.span,
                    f"undeclared pointer '{stmt.pointer}': declare 'pointer {stmt.pointer}'",
                )
        elif isinstance(stmt, ast.AssignStmt):
            if self.spec.variable(stmt.name) is None:
                report.error(
                    stmt.span,
                    f"assignment to '{stmt.name}', which is not a declared "
                    f"variable: declare 'var {stmt.name} : bool = false'",
                )
            self.expression(stmt.value)
        elif isinstance(stmt, (ast.AwaitStmt, ast.AssertStmt)):
            self.expression(stmt.cond)

    def pointer(self, name: str) -> bool:
        return any(p.name == name for p in self.spec.pointers)

    def lock_ref(self, ref: ast.LockRef, unlock: bool = False) -> None:
        report = self.report
        if ref.name in ("page", "buffers"):
            if ref.access is not ast.Access.EXCLUSIVE:
                report.error(ref.span, f"{ref.name} has no read or write side")
            if ref.page is not None and self.actor is None:
                report.error(
                    ref.span,
                    f"{ref.name}[{ref.page}] names another page: only an "
                    "actor may; the callback works on its own page",
                )
            if ref.page is not None and ref.page < 0:
                report.error(ref.span, "pages are numbered from 0")
            return
        if ref.name == "newpage":
            if self.actor is not None:
                report.error(
                    ref.span,
                    "an actor cannot reach the new page by name: lock page "
                    "follows the mapping to it",
                )
            return
        decl = self.spec.lock(ref.name)
        if decl is None:
            report.error(
                ref.span,
                f"undeclared lock '{ref.name}': declare it, e.g. 'lock {ref.name} : spinlock'",
            )
            return
        if unlock and ref.access is not ast.Access.EXCLUSIVE:
            report.error(ref.span, f"unlock {ref.name} takes no side: it releases the side held")
            return
        if unlock:
            return
        if decl.kind.shared and ref.access is ast.Access.EXCLUSIVE:
            report.error(
                ref.span,
                f"{ref.name} is a {decl.kind.value}: say which side, "
                f"'{ref.name} read' or '{ref.name} write'",
                ((decl.span, "declared here"),),
            )
        if not decl.kind.shared and ref.access is not ast.Access.EXCLUSIVE:
            report.error(
                ref.span,
                f"{ref.name} is a {decl.kind.value}, which has no {ref.access.value} side",
                ((decl.span, "declared here"),),
            )

    def condition(self, cond: ast.Cond) -> None:
        if isinstance(cond, ast.NotCond):
            self.condition(cond.arg)
        elif isinstance(cond, ast.TryLockCond):
            self.lock_ref(cond.target)
        elif isinstance(cond, ast.MoveMappingCond):
            if self.actor is not None:
                self.report.error(
                    cond.span, "move_mapping belongs in the callback, not in an actor"
                )
        else:
            self.expression(cond.expr)

    def expression(self, expr: ast.SExpr) -> None:
        stack: list[ast.SExpr] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                known = (
                    self.spec.variable(node.name) is not None
                    or node.name in INT_PARAMS
                    or node.name in ("writeback", "uptodate")
                )
                if not known:
                    self.report.error(
                        node.span,
                        f"unknown name '{node.name}': declare a variable "
                        f"'var {node.name} : bool = false'",
                    )
            elif isinstance(node, ast.Unary):
                stack.append(node.arg)
            elif isinstance(node, ast.Binary):
                stack.extend((node.left, node.right))


def _keyword(stmt: ast.Stmt) -> str:
    names = {
        ast.MoveMappingStmt: "move_mapping",
        ast.CopyStmt: "copy",
        ast.RepointStmt: "repoint",
        ast.WritepageStmt: "writepage",
        ast.ReturnStmt: "return",
        ast.ReturnCallStmt: "return call",
        ast.WriteStmt: "write",
        ast.RefStmt: "get/put ref",
        ast.ReadStmt: "start/end read",
    }
    return names.get(type(stmt), "this statement")


# ---------------------------------------------------------------- control flow


def _always_returns(block: ast.Block) -> bool:
    return any(_statement_returns(s) for s in block.statements)


def _statement_returns(stmt: ast.Stmt) -> bool:
    if isinstance(stmt, (ast.ReturnStmt, ast.ReturnCallStmt)):
        return True
    if isinstance(stmt, ast.IfStmt):
        return stmt.other is not None and _always_returns(stmt.then) and _always_returns(stmt.other)
    if isinstance(stmt, ast.EitherStmt):
        return all(_always_returns(b) for b in stmt.branches)
    return False


def _unreachable(block: ast.Block, report: _Report) -> None:
    statements = block.statements
    for position, stmt in enumerate(statements):
        if _statement_returns(stmt) and position + 1 < len(statements):
            following = statements[position + 1]
            report.error(
                following.span,
                "unreachable statement: every path returns before it",
                ((stmt.span, "returns here"),),
            )
        for inner in _inner_blocks(stmt):
            _unreachable(inner, report)


def _inner_blocks(stmt: ast.Stmt) -> Iterable[ast.Block]:
    if isinstance(stmt, ast.IfStmt):
        yield stmt.then
        if stmt.other is not None:
            yield stmt.other
    elif isinstance(stmt, ast.EitherStmt):
        yield from stmt.branches
    elif isinstance(stmt, ast.RepeatStmt):
        yield stmt.body


# ---------------------------------------------------------------- lock holding along paths

Held = frozenset[str]


@dataclass(frozen=True, slots=True)
class _Why:
    """The last branch a path took, to explain an error found on that path."""

    span: Span
    text: str


Paths = dict[Held, _Why | None]


class _HeldLocks:
    """Which locks (and the page reference) may be held at each statement, per mode; each set
    of held locks remembers the last branch that led to it, for the error's note."""

    def __init__(self, spec: ast.Spec, report: _Report, mode: Mode) -> None:
        self.spec = spec
        self.report = report
        self.mode = mode
        params, _ = params_of(spec)
        self.writes = params.writes

    def body(self, block: ast.Block, callback: bool) -> None:
        callers = {_key(ref) for ref in self.spec.held_by_caller(self.mode)}
        start: Held = frozenset({"page", "newpage"} | callers) if callback else frozenset()
        ends = self.block(block, {start: None})
        if callback and ends:
            why = next(iter(ends.values()))
            notes = () if why is None else ((why.span, f"on the path {why.text}"),)
            self.report.error(
                _end_of(block),
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
                paths = dict(list(paths.items())[:MAX_PATHS])
        return paths

    @staticmethod
    def change(paths: Paths, add: str = "", remove: str = "") -> Paths:
        changed: Paths = {}
        for held, why in paths.items():
            after = (held | {add}) if add else held
            changed.setdefault(after - {remove} if remove else after, why)
        return changed

    def statement(self, stmt: ast.Stmt, paths: Paths) -> Paths:
        if isinstance(stmt, ast.LockStmt):
            return self.change(paths, add=_key(stmt.target))
        if isinstance(stmt, ast.UnlockStmt):
            name = _key(stmt.target)
            self.require(
                name, paths, stmt.span, f"unlock of {name}, which is not held on some path"
            )
            return self.change(paths, remove=name)
        if isinstance(stmt, ast.WritepageStmt):
            self.require(
                "page",
                paths,
                stmt.span,
                "writepage needs the old page locked, and it is not on some path",
            )
            return self.change(paths, remove="page")
        if isinstance(stmt, ast.RefStmt):
            if stmt.take:
                return self.change(paths, add="ref")
            self.require("ref", paths, stmt.span, "put ref without a reference held on some path")
            return self.change(paths, remove="ref")
        if isinstance(stmt, ast.WriteStmt) and stmt.via == "ref":
            self.require(
                "ref",
                paths,
                stmt.span,
                "write ref without a reference held on some path: add 'get ref' first",
            )
            return paths
        if isinstance(stmt, (ast.ReturnStmt, ast.ReturnCallStmt)):
            return {}
        if isinstance(stmt, ast.IfStmt):
            return self.branch(stmt, paths)
        if isinstance(stmt, ast.EitherStmt):
            result: Paths = {}
            for number, branch in enumerate(stmt.branches, start=1):
                why = _Why(branch.span, f"through branch {number} of 'either'")
                taken: Paths = {held: why for held in paths}
                for held, reason in self.block(branch, taken).items():
                    result.setdefault(held, reason)
            return result
        if isinstance(stmt, ast.RepeatStmt):
            count = stmt.count if isinstance(stmt.count, int) else self.writes
            for _ in range(count):
                paths = self.block(stmt.body, paths)
            return paths
        return paths

    def branch(self, stmt: ast.IfStmt, paths: Paths) -> Paths:
        cond = stmt.cond
        text = ast.describe_condition(cond)
        then_paths: Paths = {h: _Why(cond.span, f"where '{text}' is true") for h in paths}
        other_paths: Paths = {h: _Why(cond.span, f"where '{text}' is false") for h in paths}
        negated = False
        while isinstance(cond, ast.NotCond):
            negated = not negated
            cond = cond.arg
        if isinstance(cond, ast.TryLockCond):
            name = _key(cond.target)
            if negated:
                other_paths = self.change(other_paths, add=name)
            else:
                then_paths = self.change(then_paths, add=name)
        elif isinstance(cond, ast.ExprCond):
            decided = _mode_only(cond.expr, self.mode)
            if decided is True:
                other_paths = {}
            elif decided is False:
                then_paths = {}
        result = self.block(stmt.then, then_paths) if then_paths else {}
        rest = other_paths
        if stmt.other is not None:
            rest = self.block(stmt.other, other_paths) if other_paths else {}
        for held, why in rest.items():
            result.setdefault(held, why)
        return result

    def require(self, name: str, paths: Paths, span: Span, message: str) -> None:
        missing = [why for held, why in paths.items() if name not in held]
        if not missing:
            return
        why = missing[0]
        notes: tuple[tuple[Span | None, str], ...] = ()
        if why is not None:
            notes = ((why.span, f"on the path {why.text}"),)
        self.report.error(span, message, notes)


def _key(ref: ast.LockRef) -> str:
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
