"""Compilation of callback and actor bodies into transitions.

Bodies are compiled backwards: each statement gets the location to continue at and returns its
entry location, so a branch on the mode (known at compile time) costs no step.  Every statement
that touches shared state is one atomic transition; its :class:`model.ts.Step` points at the
statement's span.

The callback is inlined where the core calls it (model/kernel/cores/*.mig, compiled by
model/compiler/core_steps.py); its ``return`` transitions continue where the core goes on.
"""

from __future__ import annotations

from model.compiler.frames import CallerChoice, Frame, Loop, Role, frame_migrator
from model.compiler.page_steps import PageSteps
from model.kinds import Property, ReturnCode
from model.language import ast
from model.span import Span
from model.ts import (
    FALSE,
    TRUE,
    Check,
    Expr,
    Op,
    StepKind,
    add,
    and_,
    const,
    eq,
    ite,
    le,
    lt,
    ne,
    not_,
    or_,
    sub,
    var,
)

__all__ = ["BodyCompiler", "CallerChoice", "Frame", "Loop", "Role", "frame_migrator"]


class BodyCompiler(PageSteps):
    """Compiles statements of one spec into transitions of the threads that run them."""

    # ------------------------------------------------------------ entry points

    def block(self, block: ast.Block, next_location: int, frame: Frame) -> int:
        location = next_location
        for statement in reversed(block.statements):
            location = self.statement(statement, location, frame)
        return location

    # ------------------------------------------------------------ control flow

    def statement(self, stmt: ast.Stmt, next_location: int, frame: Frame) -> int:
        if isinstance(stmt, ast.LockStmt):
            return self.lock(stmt, next_location, frame)
        if isinstance(stmt, ast.UnlockStmt):
            return self.unlock(stmt, next_location, frame)
        if isinstance(stmt, ast.IfStmt):
            decided = self.decided(stmt.cond, frame)
            if decided is not None:
                # a test of the mode, params or caller: only the branch taken is compiled
                chosen = stmt.then if decided else stmt.other
                return self.block(chosen, next_location, frame) if chosen else next_location
            then = self.block(stmt.then, next_location, frame)
            other = self.block(stmt.other, next_location, frame) if stmt.other else next_location
            return self.condition(stmt.cond, then, other, frame, stmt.span)
        if isinstance(stmt, ast.EitherStmt):
            entry = self.new_location(frame, "either")
            for number, branch in enumerate(stmt.branches, start=1):
                target = self.block(branch, next_location, frame)
                frame.thread.add(
                    entry,
                    target,
                    TRUE,
                    (),
                    self.step(StepKind.BRANCH, f"either: branch {number}", branch.span),
                )
            return entry
        if isinstance(stmt, ast.RepeatStmt):
            count = self.count(stmt.count, frame, stmt.span)
            location = next_location
            for _ in range(count):
                location = self.block(stmt.body, location, frame)
            return location
        if isinstance(stmt, ast.ReturnStmt):
            return self.return_(stmt.code, stmt.span, frame)
        if isinstance(stmt, ast.ReturnCallStmt):
            return self.library_call(stmt, next_location, frame)
        if isinstance(stmt, ast.MoveMappingStmt):
            failure = self.return_(ReturnCode.EAGAIN, stmt.span, frame)
            return self.move_mapping(next_location, failure, frame, stmt.span)
        if isinstance(stmt, ast.CopyStmt):
            return self.copy(stmt, next_location, frame)
        if isinstance(stmt, ast.WriteStmt):
            return self.write(stmt, next_location, frame)
        if isinstance(stmt, ast.RefStmt):
            return self.reference(stmt, next_location, frame)
        if isinstance(stmt, ast.RepointStmt):
            return self.repoint(stmt, next_location, frame)
        if isinstance(stmt, ast.WritebackStmt):
            return self.writeback(stmt, next_location, frame)
        if isinstance(stmt, ast.WritepageStmt):
            return self.writepage(stmt, next_location, frame)
        if isinstance(stmt, ast.ReadStmt):
            return self.read_io(stmt, next_location, frame)
        if isinstance(stmt, ast.AssignStmt):
            return self.assign(stmt, next_location, frame)
        if isinstance(stmt, ast.AwaitStmt):
            return self.await_(stmt, next_location, frame)
        if isinstance(stmt, ast.AssertStmt):
            return self.assertion(stmt, next_location, frame)
        return self.core_statement(stmt, next_location, frame)

    def core_statement(self, stmt: ast.Stmt, next_location: int, frame: Frame) -> int:
        """Statements only a core may hold; the core's compiler handles them."""
        raise ValueError(f"{stmt.span}: this statement belongs in a migration core")

    def decided(self, cond: ast.Cond, frame: Frame) -> bool | None:
        """The value of a condition known when compiling, else None."""
        negated = False
        while isinstance(cond, ast.NotCond):
            negated = not negated
            cond = cond.arg
        if not isinstance(cond, ast.ExprCond):
            return None
        expr = self.expression(cond.expr, frame)
        if expr.op is not Op.CONST:
            return None
        return bool(expr.value) != negated

    def count(self, arg: str | int, frame: Frame, span: object) -> int:
        """How often ``repeat`` runs: a number, or a param's value in this instance (the
        spec's, or the command line's override)."""
        if isinstance(arg, int):
            return arg
        if hasattr(self.res.params, arg):
            return int(getattr(self.res.params, arg))
        raise ValueError(f"{span}: '{arg}' is not a count")

    def condition(self, cond: ast.Cond, then: int, other: int, frame: Frame, span: Span) -> int:
        if isinstance(cond, ast.NotCond):
            return self.condition(cond.arg, other, then, frame, span)
        if isinstance(cond, ast.TryLockCond):
            return self.trylock(cond, then, other, frame)
        if isinstance(cond, ast.MoveMappingCond):
            return self.move_mapping(then, other, frame, cond.span)
        expr = self.expression(cond.expr, frame)
        if expr.op is Op.CONST:
            return then if expr.value else other
        entry = self.new_location(frame, "if")
        text = ast.describe(cond.expr)
        thread = frame.thread
        thread.add(entry, then, expr, (), self.step(StepKind.BRANCH, f"{text}: true", cond.span))
        thread.add(
            entry, other, not_(expr), (), self.step(StepKind.BRANCH, f"{text}: false", cond.span)
        )
        return entry

    # ------------------------------------------------------------ spec state

    def assign(self, stmt: ast.AssignStmt, next_location: int, frame: Frame) -> int:
        index = self.res.spec_var(stmt.name, frame.page)
        info = self.res.system.variables[index]
        value = self.expression(stmt.value, frame)
        in_range = and_(le(const(info.low), value), le(value, const(info.high)))
        entry = self.new_location(frame, f"{stmt.name} = ...")
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            ((index, ite(in_range, value, var(index))),),
            self.step(StepKind.ASSIGN, f"{stmt.name} = {ast.describe(stmt.value)}", stmt.span),
            checks=(
                Check(
                    Property.ASSERTION,
                    not_(in_range),
                    f"{stmt.name} leaves its range {info.low}..{info.high}",
                ),
            ),
        )
        return entry

    def await_(self, stmt: ast.AwaitStmt, next_location: int, frame: Frame) -> int:
        text = f"await {ast.describe(stmt.cond)}"
        entry = self.new_location(frame, text)
        self.sleep_checks(frame, entry, text, stmt.span)
        frame.thread.add(
            entry,
            next_location,
            self.expression(stmt.cond, frame),
            (),
            self.step(StepKind.AWAIT, text, stmt.span),
        )
        return entry

    def assertion(self, stmt: ast.AssertStmt, next_location: int, frame: Frame) -> int:
        text = f"assert {ast.describe(stmt.cond)}"
        entry = self.new_location(frame, text)
        frame.thread.add(
            entry,
            next_location,
            TRUE,
            (),
            self.step(StepKind.ASSERT, text, stmt.span),
            checks=(
                Check(Property.ASSERTION, not_(self.expression(stmt.cond, frame)), stmt.message),
            ),
        )
        return entry

    def expression(self, expr: ast.SExpr, frame: Frame) -> Expr:
        """A spec expression over spec variables, params, the mode and the writeback flag."""
        if isinstance(expr, ast.IntLit):
            return const(expr.value)
        if isinstance(expr, ast.ModeTest):
            return TRUE if self.mode_of(frame, self.mode) in expr.modes else FALSE
        if isinstance(expr, ast.Name):
            return self.name_value(expr, frame)
        if isinstance(expr, ast.Unary):
            return not_(self.expression(expr.arg, frame))
        if isinstance(expr, ast.Binary):
            left = self.operand(expr.left, expr.right, frame)
            # decided by its left side when compiling: the right side is never looked at (a
            # name it reads costs no state)
            if expr.op == "&&" and left == FALSE:
                return FALSE
            if expr.op == "||" and left == TRUE:
                return TRUE
            right = self.operand(expr.right, expr.left, frame)
            return _binary(expr.op, left, right)
        return self.core_expression(expr, frame)

    def operand(self, expr: ast.SExpr, other: ast.SExpr, frame: Frame) -> Expr:
        """One side of a binary operator; a value name (``pending``, ``EAGAIN``) compared with
        a core local or param of that enumeration stands for its position in it."""
        if isinstance(expr, ast.Name):
            values = self.values_of(other, frame)
            if values is not None and expr.name in values and not self.is_variable(expr, frame):
                return const(values.index(expr.name))
        return self.expression(expr, frame)

    def values_of(self, expr: ast.SExpr, frame: Frame) -> tuple[str, ...] | None:
        """The value names of an enumeration-typed expression (a core's locals and params)."""
        return None

    def is_variable(self, expr: ast.Name, frame: Frame) -> bool:
        name = expr.name
        return name in self.res.shared_vars or (name, frame.page) in self.res.page_vars

    def name_value(self, expr: ast.Name, frame: Frame) -> Expr:
        if expr.name == "writeback":
            return ne(var(self.res.writeback[frame.page]), const(0))
        if expr.name == "uptodate":
            return eq(var(self.res.uptodate[frame.page]), const(1))
        if self.is_variable(expr, frame):
            return var(self.res.spec_var(expr.name, frame.page))
        return const(int(getattr(self.res.params, expr.name)))

    def core_expression(self, expr: ast.SExpr, frame: Frame) -> Expr:
        """Expressions only a core may hold (``any(...)``, ``caller.FLAG``)."""
        raise ValueError(f"{expr.span}: this expression belongs in a migration core")


def _binary(op: str, left: Expr, right: Expr) -> Expr:
    if op == "%":
        if left.op is Op.CONST and right.op is Op.CONST and right.value != 0:
            return const(left.value % right.value)
        raise ValueError("'%' is only for values known when the model is compiled")
    if op == "&&":
        return and_(left, right)
    if op == "||":
        return or_(left, right)
    if op == "+":
        return add(left, right)
    if op == "-":
        return sub(left, right)
    if left.op is Op.CONST and right.op is Op.CONST:
        table = {
            "==": left.value == right.value,
            "!=": left.value != right.value,
            "<": left.value < right.value,
            "<=": left.value <= right.value,
            ">": left.value > right.value,
            ">=": left.value >= right.value,
        }
        return TRUE if table[op] else FALSE
    if op == "==":
        return eq(left, right)
    if op == "!=":
        return ne(left, right)
    if op == "<":
        return lt(left, right)
    if op == "<=":
        return le(left, right)
    if op == ">":
        return lt(right, left)
    return le(right, left)


