"""Transition systems: the one representation every engine reads.

A system is a vector of bounded integer variables (program counters, lock owners, page data
bits, spec variables), a set of threads, and guarded transitions.  A transition belongs to one
thread, moves that thread's program counter from ``source`` to ``target``, fires when its
``guard`` holds, and assigns all of its ``updates`` at once (right-hand sides read the state
before the step).  Guards and updates are small expression trees, so the explicit engine can
compile them to Python, the z3 engine to formulas and the Promela exporter to Promela, all from
the same definition: the engines agree by construction on what a step does.

Properties ride on transitions as :class:`Check` values (``bad`` evaluated in the state before
the step) and, for deadlock, as :class:`Wait` annotations that name who a blocked thread waits
for.  Engines know this module, never the spec language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from itertools import product

from model.kinds import Mode, Property, ReturnCode
from model.span import Span

State = tuple[int, ...]


class Op(Enum):
    """Operators of the expression language; every engine handles exactly these."""

    CONST = "const"
    VAR = "var"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    ADD = "+"
    SUB = "-"
    AND = "and"
    OR = "or"
    NOT = "not"
    ITE = "ite"


@dataclass(frozen=True, slots=True)
class Expr:
    """An integer or boolean expression over state variables (booleans are 0/1)."""

    op: Op
    args: tuple[Expr, ...] = ()
    value: int = 0

    def __str__(self) -> str:
        if self.op is Op.CONST:
            return str(self.value)
        if self.op is Op.VAR:
            return f"v{self.value}"
        if self.op is Op.NOT:
            return f"!({self.args[0]})"
        if self.op is Op.ITE:
            cond, then, other = self.args
            return f"({cond} ? {then} : {other})"
        return "(" + f" {self.op.value} ".join(str(a) for a in self.args) + ")"


TRUE = Expr(Op.CONST, value=1)
FALSE = Expr(Op.CONST, value=0)


def const(value: int) -> Expr:
    return Expr(Op.CONST, value=value)


def var(index: int) -> Expr:
    return Expr(Op.VAR, value=index)


def eq(left: Expr, right: Expr) -> Expr:
    return Expr(Op.EQ, (left, right))


def ne(left: Expr, right: Expr) -> Expr:
    return Expr(Op.NE, (left, right))


def lt(left: Expr, right: Expr) -> Expr:
    return Expr(Op.LT, (left, right))


def le(left: Expr, right: Expr) -> Expr:
    return Expr(Op.LE, (left, right))


def add(left: Expr, right: Expr) -> Expr:
    return Expr(Op.ADD, (left, right))


def sub(left: Expr, right: Expr) -> Expr:
    return Expr(Op.SUB, (left, right))


def ite(cond: Expr, then: Expr, other: Expr) -> Expr:
    return Expr(Op.ITE, (cond, then, other))


def not_(arg: Expr) -> Expr:
    if arg == TRUE:
        return FALSE
    if arg == FALSE:
        return TRUE
    if arg.op is Op.NOT:
        return arg.args[0]
    return Expr(Op.NOT, (arg,))


def and_(*args: Expr) -> Expr:
    """Conjunction with constant folding (an empty conjunction is TRUE)."""
    parts: list[Expr] = []
    for arg in args:
        if arg == FALSE:
            return FALSE
        if arg == TRUE:
            continue
        parts.extend(arg.args if arg.op is Op.AND else (arg,))
    if not parts:
        return TRUE
    return parts[0] if len(parts) == 1 else Expr(Op.AND, tuple(parts))


def or_(*args: Expr) -> Expr:
    """Disjunction with constant folding (an empty disjunction is FALSE)."""
    parts: list[Expr] = []
    for arg in args:
        if arg == TRUE:
            return TRUE
        if arg == FALSE:
            continue
        parts.extend(arg.args if arg.op is Op.OR else (arg,))
    if not parts:
        return FALSE
    return parts[0] if len(parts) == 1 else Expr(Op.OR, tuple(parts))


def variables_of(expr: Expr) -> frozenset[int]:
    """Indices of the state variables an expression reads."""
    found: set[int] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.op is Op.VAR:
            found.add(node.value)
        stack.extend(node.args)
    return frozenset(found)


def evaluate(expr: Expr, state: State) -> int:
    """Reference evaluator (engines compile expressions; this one is for replay and tests)."""
    op = expr.op
    if op is Op.CONST:
        return expr.value
    if op is Op.VAR:
        return state[expr.value]
    if op is Op.AND:
        return int(all(evaluate(a, state) for a in expr.args))
    if op is Op.OR:
        return int(any(evaluate(a, state) for a in expr.args))
    if op is Op.NOT:
        return int(not evaluate(expr.args[0], state))
    if op is Op.ITE:
        cond, then, other = expr.args
        return evaluate(then, state) if evaluate(cond, state) else evaluate(other, state)
    left, right = (evaluate(a, state) for a in expr.args)
    return apply_binary(op, left, right)


def apply_binary(op: Op, left: int, right: int) -> int:
    """The value of a comparison or arithmetic operator on two integers."""
    if op is Op.EQ:
        return int(left == right)
    if op is Op.NE:
        return int(left != right)
    if op is Op.LT:
        return int(left < right)
    if op is Op.LE:
        return int(left <= right)
    if op is Op.ADD:
        return left + right
    if op is Op.SUB:
        return left - right
    raise ValueError(f"unknown operator {op}")


def partially_evaluate(expr: Expr, known: dict[int, int]) -> int | None:
    """Three-valued evaluation: the value if the known variables decide it, else None."""
    op = expr.op
    if op is Op.CONST:
        return expr.value
    if op is Op.VAR:
        return known.get(expr.value)
    if op is Op.AND:
        values = [partially_evaluate(a, known) for a in expr.args]
        if any(v == 0 for v in values):
            return 0
        return 1 if all(v is not None for v in values) else None
    if op is Op.OR:
        values = [partially_evaluate(a, known) for a in expr.args]
        if any(v is not None and v != 0 for v in values):
            return 1
        return 0 if all(v is not None for v in values) else None
    if op is Op.NOT:
        inner = partially_evaluate(expr.args[0], known)
        return None if inner is None else int(not inner)
    if op is Op.ITE:
        cond = partially_evaluate(expr.args[0], known)
        then = partially_evaluate(expr.args[1], known)
        other = partially_evaluate(expr.args[2], known)
        if cond is None:
            return then if then is not None and then == other else None
        return then if cond else other
    left, right = (partially_evaluate(a, known) for a in expr.args)
    if left is None or right is None:
        return None
    return apply_binary(op, left, right)


class VarRole(Enum):
    """What a state variable stands for; renderers use it to phrase changes."""

    PC = "pc"
    LOCK = "lock"
    PAGE = "page"
    SPEC = "spec"
    CORE = "core"


@dataclass(frozen=True, slots=True)
class Variable:
    """A bounded integer state variable.  ``initial`` lists the values it may start with.

    An ``owned`` variable is a lock owner: 0 when free, else the owner's thread index plus one,
    and while a thread owns it no other thread's step changes it (only the owner releases a
    lock).  The deadlock criterion relies on this; :mod:`checker.engines.blocking` checks it.
    """

    name: str
    low: int
    high: int
    initial: tuple[int, ...]
    role: VarRole
    labels: tuple[str, ...] = ()
    owned: bool = False

    def show(self, value: int) -> str:
        """The value as a person reads it (a lock owner's thread name, a pc's step)."""
        offset = value - self.low
        if 0 <= offset < len(self.labels):
            return self.labels[offset]
        return str(value)


class ThreadRole(Enum):
    MIGRATOR = "migrator"
    ACTOR = "actor"


@dataclass(frozen=True, slots=True)
class Thread:
    """A kernel thread of the model: its program counter variable and its finished location."""

    name: str
    pc: int
    done: int
    role: ThreadRole


class StepKind(Enum):
    """What a transition does, for renderers and for the mode-discipline wording."""

    LOCK = "lock"
    TRYLOCK = "trylock"
    UNLOCK = "unlock"
    MOVE_MAPPING = "move_mapping"
    COPY = "copy"
    COPY_STATES = "copy_states"
    DMA_COPY = "dma_copy"
    WRITE = "write"
    REF = "ref"
    WRITEBACK = "writeback"
    WRITEPAGE = "writepage"
    CALL = "call"
    RETURN = "return"
    BRANCH = "branch"
    ASSIGN = "assign"
    AWAIT = "await"
    ASSERT = "assert"
    CORE = "core"


@dataclass(frozen=True, slots=True)
class Step:
    """How a transition reads in a trace: the action, and the spec line it comes from."""

    kind: StepKind
    text: str
    span: Span | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """A property violated when the transition fires in a state where ``bad`` holds.

    ``finding`` is non-empty for a check of a core step that the core declares as a known
    departure from the contract (``departs``): its violation is reported as a finding about
    the core, with this text as the reason, apart from the verdict of the spec under it.
    """

    property: Property
    bad: Expr
    message: str
    finding: str = ""


@dataclass(frozen=True, slots=True)
class LocationCheck:
    """A property violated in any state where ``thread`` is at ``location`` and ``bad`` holds.

    Used where arriving somewhere is already the fault: a sleeping call reached in ASYNC mode,
    a thread that finished with a lock still held.
    """

    thread: int
    location: int
    check: Check
    step: Step


@dataclass(frozen=True, slots=True)
class Wait:
    """When the thread is blocked here, it waits for ``resource``, which the thread ``holder``
    names holds.

    ``holder`` evaluates to a thread index plus one when that thread alone can end the wait (a
    lock's owner, a reader-writer lock's holder of the other side), or 0 when no single thread
    does (nobody holds it, or any thread may end it, as with PG_writeback).  Waits only name
    the wait-for cycle in a deadlock's explanation; whether a deadlock exists is decided by
    :mod:`checker.engines.blocking` from guards and writes alone.
    """

    resource: str
    holder: Expr


@dataclass(frozen=True, slots=True)
class Transition:
    """One guarded step of one thread (the guard excludes the program-counter test).

    ``covers`` lists spec lines of steps merged into this one (they ran when it fired)."""

    thread: int
    source: int
    target: int
    guard: Expr
    updates: tuple[tuple[int, Expr], ...]
    step: Step
    checks: tuple[Check, ...] = ()
    waits: tuple[Wait, ...] = ()
    returns: ReturnCode | None = None
    covers: tuple[Span, ...] = ()


@dataclass(frozen=True, slots=True)
class TransitionSystem:
    """A compiled model: one spec, one mode, one choice of parameters."""

    name: str
    mode: Mode
    variables: tuple[Variable, ...]
    threads: tuple[Thread, ...]
    transitions: tuple[Transition, ...]
    location_checks: tuple[LocationCheck, ...] = ()
    # spec lines of steps every run takes before its first state (merged into the start)
    started: tuple[Span, ...] = ()

    def initial_states(self) -> Iterator[State]:
        """Every combination of the variables' initial values."""
        for values in product(*(v.initial for v in self.variables)):
            yield tuple(values)

    def transitions_from(self, thread: int, location: int) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions if t.thread == thread and t.source == location)

    def is_done(self, state: State, thread: int) -> bool:
        info = self.threads[thread]
        return state[info.pc] == info.done
