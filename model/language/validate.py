"""Static checks of a parsed spec: everything that makes a spec meaningless is an error here,
with its span, before any engine runs.

The lock-holding analysis follows every path of a body once per mode (a test of the mode is
decided, tests of spec state go both ways) and tracks the sets of locks that may be held; what
is wrong on every path is an error here, with a note naming the branch or statement that
decided it, and what is wrong on some paths only is left to the model's run-time checks.
"""

from __future__ import annotations

from collections.abc import Iterable

from model.kernel.library import library_names
from model.kinds import ALL_MODES, Mode, ReturnCode
from model.language import ast
from model.language.held_locks import HeldLocks, key_of
from model.language.limits import MAX_REPEAT, MAX_VARIABLE_VALUES
from model.language.names import meaning, reserved_message, suggestion
from model.language.params import INT_PARAMS, PARAM_NAMES, instance_errors, params_of
from model.language.report import Report
from model.span import Diagnostic, Severity, Span, SpecError

CALLBACK_ONLY = (
    ast.MoveMappingStmt,
    ast.CopyStmt,
    ast.RepointStmt,
    ast.WritepageStmt,
    ast.ReturnStmt,
    ast.ReturnCallStmt,
)
ACTOR_ONLY = (ast.WriteStmt, ast.RefStmt, ast.ReadStmt)


def validate(spec: ast.Spec) -> tuple[Diagnostic, ...]:
    """Every error and warning of a parsed spec, in source order."""
    report = Report()
    params, param_errors = params_of(spec)
    report.diagnostics.extend(param_errors)
    if not param_errors:
        report.diagnostics.extend(instance_errors(spec, params))
    _check_names(spec, report)
    _check_variables(spec, report)
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
        HeldLocks(spec, report, mode).body(spec.callback, callback=True)
        for actor in spec.actors:
            HeldLocks(spec, report, mode).body(actor.body, callback=False)
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


# ---------------------------------------------------------------- names and expectations


def _check_names(spec: ast.Spec, report: Report) -> None:
    first: dict[str, tuple[str, Span]] = {}
    declared: list[tuple[str, str, Span]] = (
        [(d.name, "lock", d.span) for d in spec.locks]
        + [(d.name, "variable", d.span) for d in spec.variables]
        + [(d.name, "pointer", d.span) for d in spec.pointers]
        + [(d.name, "actor", d.span) for d in spec.actors]
    )
    for name, what, span in declared:
        problem = reserved_message(name, what)
        if problem is not None:
            report.error(span, problem)
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


def _check_variables(spec: ast.Spec, report: Report) -> None:
    for decl in spec.variables:
        values = decl.high - decl.low + 1
        if values > MAX_VARIABLE_VALUES:
            report.error(
                decl.span,
                f"var {decl.name} has {values} values ({decl.low}..{decl.high}): migcheck takes "
                f"at most {MAX_VARIABLE_VALUES} values per variable; narrow the range",
            )


def _check_caller_holds(spec: ast.Spec, report: Report) -> None:
    """A caller may hold a lock shared by all pages (either side of a reader-writer lock) or
    the page lock of a page being migrated (``page``, ``page[N]``)."""
    for held in spec.caller_holds:
        first: dict[str, Span] = {}
        for ref in held.locks:
            key = key_of(ref)
            if key in first:
                report.error(
                    ref.span,
                    f"caller holds {key} twice in one line: name each lock once",
                    ((first[key], f"{key} is named here first"),),
                )
            first.setdefault(key, ref.span)
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
                f"caller holds '{ref.name}', which is not a declared lock (or page, page[N]): "
                + _declare_lock_advice(ref.name, "mutex"),
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


def _check_expects(spec: ast.Spec, report: Report) -> None:
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

    def __init__(self, spec: ast.Spec, report: Report, actor: ast.Actor | None) -> None:
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
            if isinstance(stmt.count, int) and not 0 <= stmt.count <= MAX_REPEAT:
                report.error(
                    stmt.span,
                    f"repeat {stmt.count}: counts run from 0 to {MAX_REPEAT}; repeat a param "
                    "(pages, migrators, writes, passes) to follow the instance",
                )
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
                report.error(stmt.span, _write_advice(stmt.via))
        elif isinstance(stmt, ast.RepointStmt):
            if not self.pointer(stmt.pointer):
                report.error(stmt.span, _repoint_advice(stmt.pointer))
        elif isinstance(stmt, ast.AssignStmt):
            if self.spec.variable(stmt.name) is None:
                report.error(stmt.span, _assign_advice(stmt.name))
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
                f"undeclared lock '{ref.name}': " + _declare_lock_advice(ref.name, "spinlock"),
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
                    self.report.error(node.span, _unknown_name_advice(node.name))
            elif isinstance(node, ast.Unary):
                stack.append(node.arg)
            elif isinstance(node, ast.Binary):
                stack.extend((node.left, node.right))


def _declare_lock_advice(name: str, kind: str) -> str:
    """How to get a lock called ``name``, for a name that is not a declared lock."""
    if name == "writeback":
        return (
            "writeback is the page's PG_writeback flag, not a lock: wait for it with "
            "'wait writeback'"
        )
    if name == "ref":
        return "ref is a page reference, not a lock: take it with 'get ref' in an actor"
    if meaning(name) is not None:
        other = suggestion(name, "lock")
        return (
            f"'{name}' is a reserved name; declare a lock with another name, e.g. "
            f"'lock {other} : {kind}'"
        )
    return f"declare it, e.g. 'lock {name} : {kind}'"


def _write_advice(via: str) -> str:
    """What is wrong with ``write VIA`` for a VIA that is not page, ref or a pointer."""
    if via == "newpage":
        return (
            "an actor cannot write the new page by name: 'write page' writes through the "
            "mapping, which leads to the new page once move_mapping has switched it"
        )
    if meaning(via) is not None:
        return (
            f"write through '{via}': '{via}' is a reserved name, not a pointer; write through "
            f"page, ref or a declared pointer, e.g. 'pointer {suggestion(via, 'pointer')}'"
        )
    return f"write through '{via}': declare 'pointer {via}', or write through page or ref"


def _repoint_advice(name: str) -> str:
    if name in ("page", "newpage"):
        return (
            f"repoint {name}: repoint switches a declared pointer; the mapping is switched by "
            "move_mapping"
        )
    if meaning(name) is not None:
        return (
            f"repoint {name}: '{name}' is a reserved name, not a pointer; declare a pointer "
            f"with another name, e.g. 'pointer {suggestion(name, 'pointer')}', and repoint that"
        )
    return f"undeclared pointer '{name}': declare 'pointer {name}'"


def _assign_advice(name: str) -> str:
    """What is wrong with ``NAME = ...`` for a NAME that is not a declared variable."""
    if name == "writeback":
        return (
            "writeback is the page's PG_writeback flag: an actor sets and clears it with "
            "'start writeback' and 'end writeback'"
        )
    if name == "uptodate":
        return (
            "uptodate is the page's PG_uptodate flag: an actor clears and sets it with "
            "'start read' and 'end read'"
        )
    if name in PARAM_NAMES:
        return (
            f"assignment to the param {name}, which is fixed for the whole instance: set it "
            f"with 'param {name} = ...', or declare a variable, e.g. "
            f"'var {suggestion(name, 'variable')} : int[0..8] = 0'"
        )
    if meaning(name) is not None:
        return (
            f"assignment to '{name}', a reserved name: declare a variable with another name, "
            f"e.g. 'var {suggestion(name, 'variable')} : bool = false'"
        )
    return (
        f"assignment to '{name}', which is not a declared variable: declare "
        f"'var {name} : bool = false'"
    )


def _unknown_name_advice(name: str) -> str:
    if name in Mode.__members__:
        return f"unknown name '{name}': test the mode with 'mode == {name}'"
    if meaning(name) is not None:
        return (
            f"'{name}' has no value in an expression ({meaning(name)}); declare a variable, "
            f"e.g. 'var {suggestion(name, 'variable')} : bool = false'"
        )
    return f"unknown name '{name}': declare a variable 'var {name} : bool = false'"


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


def _unreachable(block: ast.Block, report: Report) -> None:
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
