"""Static checks of a migration core, and of a spec against the core it runs under: every
error names FILE:LINE:COL and what would fix it, all of a file's errors are reported together,
and nothing is compiled from a core with errors (docs/cores.md is the reference)."""

from __future__ import annotations

from dataclasses import dataclass, field

from model.kinds import Mode, ReturnCode
from model.language import ast
from model.language.params import PARAM_NAMES
from model.span import Diagnostic, Severity, Span, SpecError

RESERVED = frozenset(
    {"page", "newpage", "buffers", "pages", "mode", "migrator", "caller", "any", "writeback",
     "uptodate", "migratepage", "call", "on", "for", "repeat", "as", "while", "break",
     "continue", "atomic", "dma", "commit", "departs", "return"}
)
COUNT_PARAMS = frozenset({"pages", "migrators", "writes", "passes"})
MODE_NAMES = frozenset(m.value for m in Mode)
CODE_NAMES = frozenset(c.name for c in ReturnCode)
BUILTIN_FLAGS = frozenset({"writeback", "uptodate"})
MAX_COUNT = 16
CALLBACK_STATEMENTS = (
    ast.MoveMappingStmt,
    ast.CopyStmt,
    ast.RepointStmt,
    ast.WritepageStmt,
    ast.ReturnStmt,
    ast.ReturnCallStmt,
)
ACTOR_STATEMENTS = (ast.WriteStmt, ast.RefStmt, ast.ReadStmt)
ATOMIC_STATEMENTS = (
    ast.UnlockStmt,
    ast.AssignStmt,
    ast.CommitStmt,
    ast.DmaCopyStmt,
    ast.AssertStmt,
    ast.IfStmt,
)


@dataclass(slots=True)
class _Scope:
    """What a statement may name: loop counters and procedure parameters in force."""

    counters: frozenset[str] = frozenset()
    mode_params: frozenset[str] = frozenset()
    count_params: frozenset[str] = frozenset()
    in_loop: bool = False
    in_atomic: bool = False

    def extended(self, **changes: object) -> _Scope:
        values = {
            "counters": self.counters,
            "mode_params": self.mode_params,
            "count_params": self.count_params,
            "in_loop": self.in_loop,
            "in_atomic": self.in_atomic,
        }
        values.update(changes)
        return _Scope(**values)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Checker:
    core: ast.Core
    found: list[Diagnostic] = field(default_factory=list)

    def error(self, span: Span | None, message: str,
              notes: tuple[tuple[Span | None, str], ...] = ()) -> None:
        self.found.append(Diagnostic(Severity.ERROR, span, message, notes))

    # ------------------------------------------------------------ declarations

    def declarations(self) -> None:
        core = self.core
        first: dict[str, tuple[str, Span]] = {}
        named: list[tuple[str, str, Span]] = (
            [(d.name, "param", d.span) for d in core.params]
            + [(d.name, "local", d.span) for d in core.locals]
            + [(d.name, "variable", d.span) for d in core.variables]
            + [(d.name, "caller", d.span) for d in core.callers]
            + [(d.name, "procedure", d.span) for d in core.procs]
        )
        for name, what, span in named:
            if name in RESERVED or name in PARAM_NAMES or name in MODE_NAMES:
                self.error(span, f"'{name}' is reserved in a core: give the {what} another name")
            elif name in first:
                other, where = first[name]
                self.error(span, f"duplicate name '{name}': a {other} already has it",
                           ((where, "declared here"),))
            else:
                first[name] = (what, span)
        for caller in core.callers:
            missing = sorted(m.value for m in caller.modes if m not in core.modes)
            if missing:
                self.error(caller.span, f"caller {caller.name} migrates in {', '.join(missing)}, "
                           "which this core's 'modes' line does not list")
        for mode in core.modes:
            flows = [f for f in core.flows if mode in f.modes]
            if not flows:
                self.error(core.span, f"mode {mode.value} is listed in 'modes' but no "
                           "'migrate in' block covers it")
            for extra in flows[1:]:
                self.error(extra.span, f"a second 'migrate' block for {mode.value}",
                           ((flows[0].span, "the first one is here"),))
        for block in core.flows:
            unlisted = sorted(m.value for m in block.modes if m not in core.modes)
            if unlisted:
                self.error(block.span, f"'migrate in' names {', '.join(unlisted)}, which this "
                           "core's 'modes' line does not list")

    # ------------------------------------------------------------ bodies

    def bodies(self) -> None:
        for flow in self.core.flows:
            self.block(flow.body, _Scope())
            if flow.reversed_if is not None:
                self.expression(flow.reversed_if, _Scope())
        for proc in self.core.procs:
            scope = _Scope(
                mode_params=frozenset(p.name for p in proc.params if p.is_mode),
                count_params=frozenset(p.name for p in proc.params if not p.is_mode),
            )
            self.block(proc.body, scope)

    def block(self, block: ast.Block, scope: _Scope) -> None:
        for statement in block.statements:
            self.statement(statement, scope)

    def statement(self, stmt: ast.Stmt, scope: _Scope) -> None:
        if scope.in_atomic and not isinstance(stmt, ATOMIC_STATEMENTS):
            self.error(stmt.span, "atomic { } holds only unlock, assignments, commit, dma copy, "
                       "assert and if on values: nothing that waits, branches on a lock or "
                       "leaves the block")
            return
        if isinstance(stmt, CALLBACK_STATEMENTS):
            hint = " (migrate_pages() returns with a plain 'return')" if isinstance(
                stmt, ast.ReturnStmt) else ""
            self.error(stmt.span, f"this statement belongs in a callback, not in a core{hint}")
        elif isinstance(stmt, ACTOR_STATEMENTS) or (
            isinstance(stmt, ast.WritebackStmt) and stmt.action is not ast.WritebackAction.WAIT
        ):
            self.error(stmt.span, "this statement belongs in an actor, not in a core")
        elif isinstance(stmt, (ast.LockStmt, ast.UnlockStmt)):
            self.lock_ref(stmt.target)
        elif isinstance(stmt, ast.IfStmt):
            self.condition(stmt.cond, scope)
            self.block(stmt.then, scope)
            if stmt.other is not None:
                self.block(stmt.other, scope)
        elif isinstance(stmt, ast.EitherStmt):
            for branch in stmt.branches:
                self.block(branch, scope)
        elif isinstance(stmt, ast.RepeatStmt):
            self.count(stmt.count, stmt.span, scope)
            self.block(stmt.body, scope)
        elif isinstance(stmt, ast.ForPagesStmt):
            self.block(stmt.body, scope.extended(in_loop=True))
        elif isinstance(stmt, ast.LoopStmt):
            self.count(stmt.count, stmt.span, scope)
            inner = scope.extended(counters=scope.counters | {stmt.counter}, in_loop=True)
            if stmt.condition is not None:
                self.expression(stmt.condition, inner)
            self.block(stmt.body, inner)
        elif isinstance(stmt, (ast.BreakStmt, ast.ContinueStmt)):
            if not scope.in_loop:
                self.error(stmt.span, "break and continue belong inside 'for page in pages' or "
                           "'repeat ... as'")
        elif isinstance(stmt, ast.AtomicStmt):
            self.block(stmt.body, scope.extended(in_atomic=True))
        elif isinstance(stmt, ast.DepartsStmt):
            self.block(stmt.body, scope)
        elif isinstance(stmt, ast.CallbackCallStmt):
            self.callback_call(stmt, scope)
        elif isinstance(stmt, ast.ProcCallStmt):
            self.proc_call(stmt, scope)
        elif isinstance(stmt, ast.AssignStmt):
            self.assignment(stmt, scope)
        elif isinstance(stmt, (ast.AwaitStmt, ast.AssertStmt)):
            self.expression(stmt.cond, scope)

    def lock_ref(self, ref: ast.LockRef) -> None:
        if ref.name not in ("page", "newpage", "buffers"):
            self.error(ref.span, f"a core locks only page, newpage and buffers, not "
                       f"'{ref.name}': a spec's locks are the spec's")
        elif ref.access is not ast.Access.EXCLUSIVE:
            self.error(ref.span, f"{ref.name} has no read or write side")

    def condition(self, cond: ast.Cond, scope: _Scope) -> None:
        if isinstance(cond, ast.NotCond):
            self.condition(cond.arg, scope)
        elif isinstance(cond, ast.TryLockCond):
            self.lock_ref(cond.target)
        elif isinstance(cond, ast.MoveMappingCond):
            self.error(cond.span, "move_mapping belongs in a callback, not in a core")
        else:
            self.expression(cond.expr, scope)

    def count(self, count: int | str, span: Span, scope: _Scope) -> None:
        if isinstance(count, int):
            if not 1 <= count <= MAX_COUNT:
                self.error(span, f"a count runs from 1 to {MAX_COUNT}")
        elif count not in COUNT_PARAMS and count not in scope.count_params:
            self.error(span, f"'{count}' is not a count: use a number, a count parameter or "
                       f"one of {', '.join(sorted(COUNT_PARAMS))}")

    def callback_call(self, stmt: ast.CallbackCallStmt, scope: _Scope) -> None:
        local = self.core.local(stmt.result)
        if local is None or set(local.values) != CODE_NAMES:
            self.error(stmt.span, f"'{stmt.result}' must be a local of type code to hold what "
                       f"the callback returns: declare 'local {stmt.result} : code = EAGAIN'")
        if stmt.mode is not None and stmt.mode not in MODE_NAMES | scope.mode_params | {"mode"}:
            self.error(stmt.span, f"'{stmt.mode}' is not a mode")
        if stmt.library is not None:
            from model.kernel.library import library_names

            if stmt.library not in library_names():
                self.error(stmt.span, f"unknown library callback '{stmt.library}': use one of "
                           f"{', '.join(library_names())}")

    def proc_call(self, stmt: ast.ProcCallStmt, scope: _Scope) -> None:
        proc = self.core.proc(stmt.name)
        if proc is None:
            self.error(stmt.span, f"no procedure '{stmt.name}' in this core: declare "
                       f"'proc {stmt.name}(...) {{ ... }}'")
            return
        if len(stmt.args) != len(proc.params):
            self.error(stmt.span, f"{stmt.name} takes {len(proc.params)} argument(s), not "
                       f"{len(stmt.args)}", ((proc.span, "declared here"),))
            return
        for param, arg in zip(proc.params, stmt.args, strict=True):
            if param.is_mode:
                if arg not in MODE_NAMES | scope.mode_params | {"mode"}:
                    self.error(stmt.span, f"argument {param.name} of {stmt.name} is a mode, "
                               f"not '{arg}'")
            else:
                self.count(arg, stmt.span, scope)

    def assignment(self, stmt: ast.AssignStmt, scope: _Scope) -> None:
        local = self.core.local(stmt.name)
        variable = next((v for v in self.core.variables if v.name == stmt.name), None)
        if local is None and variable is None:
            self.error(stmt.span, f"assignment to '{stmt.name}', which is neither a local nor a "
                       f"page variable of the core: declare 'local {stmt.name} : {{...}} = ...'")
            return
        if local is not None and local.is_enum and isinstance(stmt.value, ast.Name):
            if stmt.value.name not in local.values and not self.known(stmt.value.name, scope):
                self.error(stmt.value.span, f"'{stmt.value.name}' is not a value of "
                           f"{stmt.name}: use one of {', '.join(local.values)}")
            return
        self.expression(stmt.value, scope)

    def expression(self, expr: ast.SExpr, scope: _Scope) -> None:
        stack: list[ast.SExpr] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                if not self.known(node.name, scope) and not self.value_name(node.name):
                    self.error(node.span, f"unknown name '{node.name}' in the core: declare it "
                               "as a local, a page variable or a param")
            elif isinstance(node, ast.CallerFlag):
                flags = {flag for caller in self.core.callers for flag in caller.flags}
                if node.flag not in flags:
                    self.error(node.span, f"no caller of this core has the flag "
                               f"'{node.flag}'; flags are declared as 'caller NAME in MODES : "
                               f"{node.flag}'")
            elif isinstance(node, ast.Unary):
                stack.append(node.arg)
            elif isinstance(node, ast.Binary):
                stack.extend((node.left, node.right))
            elif isinstance(node, ast.AnyPage):
                stack.append(node.expr)

    def known(self, name: str, scope: _Scope) -> bool:
        core = self.core
        return (
            core.local(name) is not None
            or any(v.name == name for v in core.variables)
            or core.param(name) is not None
            or name in scope.counters
            or name in scope.mode_params
            or name in scope.count_params
            or name in COUNT_PARAMS
            or name in BUILTIN_FLAGS
            or name == "migrator"
        )

    def value_name(self, name: str) -> bool:
        """A value a comparison may name: an enumeration value, a return code or a mode."""
        core = self.core
        return (
            name in MODE_NAMES
            or name in CODE_NAMES
            or any(name in local.values for local in core.locals)
            or any(name in param.choices for param in core.params)
        )


def validate_core(core: ast.Core) -> tuple[Diagnostic, ...]:
    """Every error of a parsed core, in source order."""
    checker = _Checker(core)
    checker.declarations()
    checker.bodies()
    return tuple(sorted(checker.found, key=_position))


def check_core(core: ast.Core) -> tuple[Diagnostic, ...]:
    """Validate; raise :class:`SpecError` if there is any error, else return the warnings."""
    diagnostics = validate_core(core)
    if any(d.severity is Severity.ERROR for d in diagnostics):
        raise SpecError(diagnostics)
    return diagnostics


def validate_pairing(spec: ast.Spec, core: ast.Core) -> tuple[Diagnostic, ...]:
    """What a spec asks of its core that the core does not have: a choice it does not declare
    (``param NAME = CHOICE``), a caller it does not name (``caller NAME holds ...``)."""
    found: list[Diagnostic] = []
    for decl in spec.params:
        if decl.name in PARAM_NAMES:
            continue
        param = core.param(decl.name)
        if param is None:
            if isinstance(decl.value, str):
                choices = ", ".join(p.name for p in core.params) or "none"
                found.append(Diagnostic(Severity.ERROR, decl.span, f"core {core.name} has no "
                                        f"param '{decl.name}' (its params: {choices})"))
            continue
        if decl.value not in param.choices:
            found.append(Diagnostic(Severity.ERROR, decl.span, f"param {decl.name} of core "
                                    f"{core.name} is one of {', '.join(param.choices)}, not "
                                    f"'{decl.value}'", ((param.span, "declared here"),)))
    names = {caller.name for caller in core.callers}
    for holds in spec.caller_holds:
        if holds.caller is not None and holds.caller not in names:
            found.append(Diagnostic(Severity.ERROR, holds.span, f"core {core.name} has no caller "
                                    f"'{holds.caller}' (its callers: "
                                    f"{', '.join(sorted(names)) or 'none'})"))
    return tuple(found)


def _position(diagnostic: Diagnostic) -> tuple[int, int]:
    span = diagnostic.span
    return (span.line, span.column) if span is not None else (0, 0)
