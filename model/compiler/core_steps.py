"""Compilation of a migration core's statements (model/kernel/cores/*.mig) into the
migrator's transitions.

The core is written in the spec language; this compiler adds what only a core says: loops over
the migrator's pages (unrolled: the list is known when compiling) and over passes (a counter in
the state, bounded), ``break``/``continue``, ``atomic`` blocks (one step, by composition), the
call of the spec's callback for a page, the DMA copy, the completion of a page's migration, and
the core's locals (the migrator's own state).  Names resolve, innermost first, to locals, the
core's page state, the core's params (decided when compiling), then the spec's variables and
params.
"""

from __future__ import annotations

from dataclasses import replace

from model.compiler.bodies import BodyCompiler, CallerChoice, Frame, Loop, Role
from model.compiler.fusion import compose
from model.compiler.resources import Resources
from model.kernel.library import library_body
from model.kinds import Mode, Property, ReturnCode
from model.language import ast
from model.ts import (
    FALSE,
    TRUE,
    Check,
    Expr,
    LocationCheck,
    Step,
    StepKind,
    Transition,
    VarRole,
    add,
    and_,
    const,
    eq,
    le,
    lt,
    not_,
    or_,
    var,
)

CODE_NAMES = tuple(code.name for code in ReturnCode)
MODE_NAMES = tuple(mode.value for mode in Mode)


class CoreCompiler(BodyCompiler):
    """Compiles core statements for one system; spec statements go to :class:`BodyCompiler`."""

    def __init__(self, res: Resources, core: ast.Core, choices: dict[str, str]) -> None:
        super().__init__(res)
        self.core = core
        self.choices = choices
        self.exits: dict[int, int] = {}
        self.choices_made: list[CallerChoice] = []

    # ------------------------------------------------------------ statements

    def core_statement(self, stmt: ast.Stmt, next_location: int, frame: Frame) -> int:
        if isinstance(stmt, ast.ForPagesStmt):
            return self.for_pages(stmt, next_location, frame)
        if isinstance(stmt, ast.LoopStmt):
            return self.loop(stmt, next_location, frame)
        if isinstance(stmt, ast.BreakStmt):
            return self.loop_of(stmt, frame).exit
        if isinstance(stmt, ast.ContinueStmt):
            return self.loop_of(stmt, frame).next_iteration
        if isinstance(stmt, ast.AtomicStmt):
            return self.atomic(stmt, next_location, frame)
        if isinstance(stmt, ast.CallbackCallStmt):
            return self.call_callback(stmt, next_location, frame)
        if isinstance(stmt, ast.DmaCopyStmt):
            return self.dma_copy(stmt, next_location, frame)
        if isinstance(stmt, ast.CommitStmt):
            return self.commit(stmt, next_location, frame)
        if isinstance(stmt, ast.DepartsStmt):
            return self.departs(stmt, next_location, frame)
        if isinstance(stmt, ast.LeaveStmt):
            return self.exits[self.migrator_of(frame)]
        if isinstance(stmt, ast.ProcCallStmt):
            return self.call_proc(stmt, next_location, frame)
        raise ValueError(f"{stmt.span}: a statement a core cannot hold")

    def call_proc(self, stmt: ast.ProcCallStmt, next_location: int, frame: Frame) -> int:
        """Inline a procedure with its parameters bound, over the current pages or one page."""
        proc = self.core.proc(stmt.name)
        if proc is None:
            raise ValueError(f"{stmt.span}: no procedure '{stmt.name}' in this core")
        bindings: list[tuple[str, str | int]] = []
        for param, arg in zip(proc.params, stmt.args, strict=True):
            if param.is_mode:
                bindings.append((param.name, self.mode_name(arg, frame, stmt.span)))
            else:
                bindings.append((param.name, self.count(arg, frame, stmt.span)))
        pages = (frame.page,) if stmt.on_page else self.pages_of(frame)
        inner = replace(frame, bindings=tuple(bindings), pages=pages, loop=None)
        return self.block(proc.body, next_location, inner)

    def mode_name(self, arg: str | int, frame: Frame, span: object) -> str:
        """A mode argument: a mode's name, ``mode`` (the migration's), or a bound parameter."""
        if isinstance(arg, str):
            bound = frame.bound(arg)
            if isinstance(bound, str):
                return bound
            if arg == "mode":
                return self.mode_of(frame, self.mode).value
            if Mode.parse(arg) is not None:
                return arg
        raise ValueError(f"{span}: '{arg}' is not a mode")

    def count(self, arg: str | int, frame: Frame, span: object) -> int:
        if isinstance(arg, int):
            return arg
        bound = frame.bound(arg)
        if isinstance(bound, int):
            return bound
        if hasattr(self.res.params, arg):
            return int(getattr(self.res.params, arg))
        raise ValueError(f"{span}: '{arg}' is not a count")

    def pages_of(self, frame: Frame) -> tuple[int, ...]:
        """The pages ``for page in pages`` runs over here: a procedure's, else the list."""
        if frame.pages is not None:
            return frame.pages
        return self.res.order_of[self.migrator_of(frame)]

    def migrator_of(self, frame: Frame) -> int:
        if frame.migrator is None:
            raise ValueError("a core step compiled outside a migrator")
        return frame.migrator

    def loop_of(self, stmt: ast.BreakStmt | ast.ContinueStmt, frame: Frame) -> Loop:
        if frame.loop is None:
            raise ValueError(f"{stmt.span}: break and continue belong inside a loop")
        return frame.loop

    def for_pages(self, stmt: ast.ForPagesStmt, next_location: int, frame: Frame) -> int:
        """The body once per page of the migrator's list; ``continue`` goes on with the next
        page, ``break`` leaves the list."""
        location = next_location
        outer = self.page_label
        for page in reversed(self.pages_of(frame)):
            inner = replace(frame, page=page, loop=Loop(location, next_location))
            if self.res.total_pages > 1:
                self.page_label = f" (page {page})"
            location = self.block(stmt.body, location, inner)
        self.page_label = outer
        return location

    def loop(self, stmt: ast.LoopStmt, next_location: int, frame: Frame) -> int:
        """A counted loop: the counter is a local of the migrator, the back edge is bounded by
        the count, so every execution ends."""
        m = self.migrator_of(frame)
        count = self.count(stmt.count, frame, stmt.span)
        counter = self.res.system.variable(
            f"{stmt.counter}{self.who(m)}", 0, max(count - 1, 0), (0,), VarRole.CORE
        )
        self.res.locals[(m, stmt.counter, None)] = counter
        thread = frame.thread
        end = thread.location(f"end of {stmt.counter} loop")
        body = self.block(stmt.body, end, replace(frame, loop=Loop(end, next_location)))
        again = lt(var(counter), const(count - 1))
        if stmt.condition is not None:
            again = and_(again, self.expression(stmt.condition, frame))
        text = f"{stmt.counter} + 1"
        if stmt.condition is not None:
            text += f": again, as {ast.describe(stmt.condition)}"
        thread.add(
            end,
            body,
            again,
            ((counter, add(var(counter), const(1))),),
            self.step(StepKind.CORE, text, stmt.span),
        )
        # the counter is dead after the loop: reset it, so finished loops leave no trace
        thread.add(
            end,
            next_location,
            not_(again),
            ((counter, const(0)),),
            self.step(StepKind.CORE, f"{stmt.counter} loop ends", stmt.span),
        )
        return body

    def who(self, migrator: int) -> str:
        return "" if self.res.params.migrators == 1 else f" of migrator {migrator}"

    # ------------------------------------------------------------ atomic blocks

    def atomic(self, stmt: ast.AtomicStmt, next_location: int, frame: Frame) -> int:
        """Compile the body, then replace every path through it by one composed step."""
        system = self.res.system
        thread = frame.thread
        first_transition = len(system.transitions)
        first_check = len(system.location_checks)
        done = thread.location("atomic: done")
        entry = self.block(stmt.body, done, frame)
        inner = system.transitions[first_transition:]
        location_checks = system.location_checks[first_check:]
        del system.transitions[first_transition:]
        del system.location_checks[first_check:]
        by_source: dict[int, list[Transition]] = {}
        for transition in inner:
            by_source.setdefault(transition.source, []).append(transition)
        checks_at: dict[int, list[Check]] = {}
        start = thread.location("atomic")
        for location_check in location_checks:
            if location_check.location == entry:
                system.location_checks.append(replace(location_check, location=start))
            else:
                checks_at.setdefault(location_check.location, []).append(location_check.check)
        pc = -1
        for path in _paths(by_source, entry, done):
            composed = compose(path, checks_at, pc)
            if composed is None:
                continue
            texts = "; ".join(t.step.text for t in path)
            thread.add(
                start,
                next_location,
                composed.guard,
                composed.updates,
                Step(path[0].step.kind, f"atomic: {texts}", stmt.span),
                checks=composed.checks,
                waits=composed.waits,
            )
        if entry == done:
            step = self.step(StepKind.CORE, "atomic", stmt.span)
            thread.add(start, next_location, TRUE, (), step)
        return start

    # ------------------------------------------------------------ the callback

    def call_callback(self, stmt: ast.CallbackCallStmt, next_location: int, frame: Frame) -> int:
        """Inline the spec's callback for the page; each return stores its code in the local."""
        result = self.local_variable(stmt.result, frame)
        call_mode = (
            Mode(self.mode_name(stmt.mode, frame, stmt.span)) if stmt.mode is not None else None
        )
        on_return = {code: next_location for code in ReturnCode}
        updates: dict[ReturnCode, tuple[tuple[int, Expr], ...]] = {
            code: ((result, const(CODE_NAMES.index(code.name))),) for code in ReturnCode
        }
        callback = replace(
            frame,
            role=Role.CALLBACK,
            mode=call_mode if call_mode is not None else frame.mode,
            on_return=on_return,
            return_updates=updates,
            loop=None,
        )
        if stmt.library is not None:
            return self.block(library_body(stmt.library), next_location, callback)
        return self.block(self.res.spec.callback, next_location, callback)

    # ------------------------------------------------------------ pages

    def dma_copy(self, stmt: ast.DmaCopyStmt, next_location: int, frame: Frame) -> int:
        """The device copies the old page's contents to this migrator's new page."""
        m = self.migrator_of(frame)
        page = frame.page
        key = (m, page)
        sfx = self.res.suffix(page)
        entry = self.new_location(frame, f"DMA copy page{sfx}")
        checks = (
            self.core_check(
                Property.COPY_ORDER,
                not_(self.res.state_migrated(m, page)),
                f"the DMA copy of page{sfx} runs before the page's state migrated",
            ),
            self.core_check(
                Property.LOST_UPDATE,
                eq(var(self.res.fresh[key]), const(1)),
                f"the DMA copy of page{sfx} overwrote a write that had already landed on the "
                "new page",
            ),
            self.core_check(
                Property.COPY_ORDER,
                not_(self.res.old_lock[page].held_by(frame.thread.me)),
                f"the DMA copy of page{sfx} runs after the page was unlocked",
            ),
        )
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            ((self.res.stale[key], const(0)), (self.res.fresh[key], const(0))),
            self.step(StepKind.DMA_COPY, f"DMA copy of page{sfx}", stmt.span),
            checks=checks,
        )
        return entry

    def commit(self, stmt: ast.CommitStmt, next_location: int, frame: Frame) -> int:
        """The page's migration completes: its new page replaces the old one for good."""
        m = self.migrator_of(frame)
        page = frame.page
        sfx = self.res.suffix(page)
        entry = self.new_location(frame, f"commit page{sfx}")
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            ((self.res.committed[page], const(m + 1)),),
            self.step(StepKind.CORE, f"migration of page{sfx} complete", stmt.span),
            checks=(
                self.core_check(
                    Property.LOST_UPDATE,
                    eq(var(self.res.stale[(m, page)]), const(1)),
                    "the migration completed but the new page lacks a write made to the old page",
                ),
            ),
        )
        return entry

    def departs(self, stmt: ast.DepartsStmt, next_location: int, frame: Frame) -> int:
        """Mark the checks of the body's steps of the named properties as the core's finding."""
        system = self.res.system
        first_transition = len(system.transitions)
        first_check = len(system.location_checks)
        entry = self.block(stmt.body, next_location, frame)
        marked = set(stmt.properties)

        def mark(check: Check) -> Check:
            if check.property in marked and not check.finding:
                return replace(check, finding=stmt.reason)
            return check

        for index in range(first_transition, len(system.transitions)):
            transition = system.transitions[index]
            system.transitions[index] = replace(
                transition, checks=tuple(mark(c) for c in transition.checks)
            )
        for index in range(first_check, len(system.location_checks)):
            location_check: LocationCheck = system.location_checks[index]
            system.location_checks[index] = replace(
                location_check, check=mark(location_check.check)
            )
        return entry

    def core_check(self, prop: Property, bad: Expr, message: str) -> Check:
        return Check(prop, bad, message)

    # ------------------------------------------------------------ locals and names

    def local_variable(self, name: str, frame: Frame) -> int:
        """The migrator's variable for local ``name`` (its copy for the frame's page, for a
        ``per page`` local), created the first time code that runs uses it: a local the
        compiled flow never touches costs no state."""
        m = self.migrator_of(frame)
        found = self.res.locals.get((m, name, frame.page))
        if found is None:
            found = self.res.locals.get((m, name, None))
        if found is not None:
            return found
        decl = self.core.local(name)
        if decl is None:
            raise ValueError(f"no local '{name}' in migrator {m}")
        page = frame.page if decl.per_page else None
        where = "" if page is None else self.res.suffix(page)
        who = "" if self.res.params.migrators == 1 else f" (migrator {m})"
        index = self.res.system.variable(
            f"{name}{where}{who}", decl.low, decl.high, (decl.initial,), VarRole.CORE, decl.values
        )
        self.res.locals[(m, name, page)] = index
        return index

    def is_local(self, name: str, frame: Frame) -> bool:
        if frame.migrator is None:
            return False
        m = frame.migrator
        return (
            (m, name, frame.page) in self.res.locals
            or (m, name, None) in self.res.locals
            or self.core.local(name) is not None
        )

    def core_variable(self, name: str, page: int) -> int | None:
        """The core's page state ``name`` of ``page``, created on first use."""
        found = self.res.core_vars.get((name, page))
        if found is not None:
            return found
        decl = next((d for d in self.core.variables if d.name == name), None)
        if decl is None:
            return None
        values = tuple(range(decl.low, decl.high + 1)) if decl.initial is None else (decl.initial,)
        labels = ("false", "true") if decl.is_bool else ()
        index = self.res.system.variable(
            f"{name}{self.res.suffix(page)}", decl.low, decl.high, values, VarRole.PAGE, labels
        )
        self.res.core_vars[(name, page)] = index
        return index

    def name_value(self, expr: ast.Name, frame: Frame) -> Expr:
        name = expr.name
        bound = frame.bound(name)
        if isinstance(bound, str):
            return const(MODE_NAMES.index(bound))
        if isinstance(bound, int):
            return const(bound)
        if self.is_local(name, frame):
            return var(self.local_variable(name, frame))
        core_var = self.core_variable(name, frame.page)
        if core_var is not None:
            return var(core_var)
        decl = self.core.param(name)
        if decl is not None:
            return const(decl.choices.index(self.choices.get(name, decl.default)))
        if name == "migrator" and frame.migrator is not None:
            return const(frame.migrator)
        return super().name_value(expr, frame)

    def is_variable(self, expr: ast.Name, frame: Frame) -> bool:
        name = expr.name
        return (
            frame.bound(name) is not None
            or self.is_local(name, frame)
            or any(d.name == name for d in self.core.variables)
            or self.core.param(name) is not None
            or super().is_variable(expr, frame)
        )

    def values_of(self, expr: ast.SExpr, frame: Frame) -> tuple[str, ...] | None:
        if not isinstance(expr, ast.Name):
            return None
        if isinstance(frame.bound(expr.name), str):
            return MODE_NAMES
        local = self.core.local(expr.name)
        if local is not None and local.is_enum:
            return local.values
        param = self.core.param(expr.name)
        if param is not None:
            return param.choices
        return None

    def assign(self, stmt: ast.AssignStmt, next_location: int, frame: Frame) -> int:
        if self.is_local(stmt.name, frame):
            index = self.local_variable(stmt.name, frame)
        else:
            core_var = self.core_variable(stmt.name, frame.page)
            if core_var is None:
                return super().assign(stmt, next_location, frame)
            index = core_var
        decl = self.core.local(stmt.name)
        value = self.operand(stmt.value, ast.Name(stmt.name), frame)
        entry = self.new_location(frame, f"{stmt.name} = ...")
        text = f"{stmt.name} = {ast.describe(stmt.value)}"
        checks: tuple[Check, ...] = ()
        if decl is not None and not decl.is_enum:
            in_range = and_(le(const(decl.low), value), le(value, const(decl.high)))
            checks = (
                Check(
                    Property.ASSERTION,
                    not_(in_range),
                    f"{stmt.name} leaves its range {decl.low}..{decl.high}",
                ),
            )
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            ((index, value),),
            self.step(StepKind.ASSIGN, text, stmt.span),
            checks=checks,
        )
        return entry

    def core_expression(self, expr: ast.SExpr, frame: Frame) -> Expr:
        if isinstance(expr, ast.AnyPage):
            pages = self.pages_of(frame)
            return or_(*(self.expression(expr.expr, replace(frame, page=p)) for p in pages))
        if isinstance(expr, ast.CallerFlag):
            if frame.caller is None:
                return TRUE if expr.flag in frame.flags else FALSE
            choice = frame.caller
            return or_(
                *(
                    eq(var(choice.variable), const(number + 1))
                    for number, flags in enumerate(choice.options)
                    if expr.flag in flags
                )
            )
        return super().core_expression(expr, frame)


def _paths(
    by_source: dict[int, list[Transition]], entry: int, done: int
) -> list[list[Transition]]:
    """Every path of transitions from ``entry`` to ``done`` (an atomic body has no loops)."""
    found: list[list[Transition]] = []
    stack: list[tuple[int, list[Transition]]] = [(entry, [])]
    while stack:
        location, path = stack.pop()
        if location == done:
            found.append(path)
            continue
        for transition in by_source.get(location, ()):
            stack.append((transition.target, path + [transition]))
    found.reverse()
    return found
