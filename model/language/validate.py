"""Static checks of a parsed spec: everything that makes a spec meaningless is an error here,
with its span, before any engine runs.

The lock-holding analysis follows every path of a body once per mode (a test of the mode is
decided, tests of spec state go both ways) and tracks the sets of locks that may be held; what
is wrong on every path is an error here, with a note naming the branch or statement that
decided it, and what is wrong on some paths only is left to the model's run-time checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from model.kernel.library import library_names
from model.kinds import ALL_MODES, Mode, ReturnCode
from model.language import ast
from model.language.limits import MAX_REPEAT, MAX_VARIABLE_VALUES
from model.language.names import meaning, reserved_message, suggestion
from model.language.params import INT_PARAMS, PARAM_NAMES, Params, instance_errors, params_of
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


def _check_variables(spec: ast.Spec, report: _Report) -> None:
    for decl in spec.variables:
        values = decl.high - decl.low + 1
        if values > MAX_VARIABLE_VALUES:
            report.error(
                decl.span,
                f"var {decl.name} has {values} values ({decl.low}..{decl.high}): migcheck takes "
                f"at most {MAX_VARIABLE_VALUES} values per variable; narrow the range",
            )


def _check_caller_holds(spec: ast.Spec, report: _Report) -> None:
    """A caller may hold a lock shared by all pages (either side of a reader-writer lock) or
    the page lock of a page being migrated (``page``, ``page[N]``)."""
    for held in spec.caller_holds:
        first: dict[str, Span] = {}
        for ref in held.locks:
            key = _key(ref)
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


class _HeldLocks:
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

    def __init__(self, spec: ast.Spec, report: _Report, mode: Mode) -> None:
        self.spec = spec
        self.report = report
        self.mode = mode
        self.params, _ = params_of(spec)
        self.truncated = False
        self.needs: dict[tuple[Span, str], _Need] = {}

    def body(self, block: ast.Block, callback: bool) -> None:
        callers = {_key(ref) for ref in self.spec.held_by_caller(self.mode)}
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
            name = _key(stmt.target)
            return self.change(paths, _Why(stmt.span, f"{name} is taken here"), add=name)
        if isinstance(stmt, ast.UnlockStmt):
            name = _key(stmt.target)
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
            taken = frozenset({_key(cond.target)})
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
