"""The AST of a .mig spec: frozen, hashable nodes, each with a source span outside equality.

docs/spec-language.md is the reference for what each node means in the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from model.kinds import LockKind, Mode, Property, ReturnCode
from model.span import Span

NO_SPAN = Span("<builtin>", 0, 0, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, hash=False, repr=False)


class Access(Enum):
    """How a lock is taken: exclusively, or on the read or write side of a reader-writer lock."""

    EXCLUSIVE = "exclusive"
    READ = "read"
    WRITE = "write"


class Scope(Enum):
    """A lock, variable or pointer exists once for all pages, or once per page."""

    SHARED = "shared"
    PER_PAGE = "per page"


# ---------------------------------------------------------------- expressions over spec state


@dataclass(frozen=True, slots=True)
class Name:
    """A spec variable, a param, or a built-in page flag (``writeback``)."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class IntLit:
    value: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ModeTest:
    """``mode == A`` / ``mode != A`` / ``mode in {A, B}``: decided when the spec is compiled."""

    modes: frozenset[Mode]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    arg: SExpr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: SExpr
    right: SExpr
    span: Span = _span()


SExpr = Name | IntLit | ModeTest | Unary | Binary


def describe(expr: SExpr) -> str:
    """An expression as a person reads it in messages and traces."""
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, IntLit):
        return str(expr.value)
    if isinstance(expr, ModeTest):
        return "mode in {" + ", ".join(sorted(m.value for m in expr.modes)) + "}"
    if isinstance(expr, Unary):
        return f"!{describe(expr.arg)}"
    return f"{describe(expr.left)} {expr.op} {describe(expr.right)}"


def describe_condition(cond: Cond) -> str:
    """A branch condition as a person reads it."""
    if isinstance(cond, NotCond):
        return "!" + describe_condition(cond.arg)
    if isinstance(cond, TryLockCond):
        side = "" if cond.target.access is Access.EXCLUSIVE else f" {cond.target.access.value}"
        return f"trylock {cond.target.name}{side}"
    if isinstance(cond, MoveMappingCond):
        return "move_mapping"
    return describe(cond.expr)


# ---------------------------------------------------------------- conditions with effects


@dataclass(frozen=True, slots=True)
class LockRef:
    """A lock named in a statement: a declared lock, ``page``, ``newpage`` or ``buffers``;
    ``page[N]`` and ``buffers[N]`` name another page's (``page`` is the page of the thread)."""

    name: str
    access: Access
    span: Span = _span()
    page: int | None = None


@dataclass(frozen=True, slots=True)
class TryLockCond:
    """``trylock X``: takes X and is true if X is free, else is false and changes nothing."""

    target: LockRef
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MoveMappingCond:
    """``move_mapping``: migrate_page_move_mapping(); false while someone else holds a reference."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class NotCond:
    arg: Cond
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ExprCond:
    expr: SExpr
    span: Span = _span()


Cond = TryLockCond | MoveMappingCond | NotCond | ExprCond


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Block:
    statements: tuple[Stmt, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class LockStmt:
    target: LockRef
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class UnlockStmt:
    target: LockRef
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class IfStmt:
    cond: Cond
    then: Block
    other: Block | None
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class EitherStmt:
    """Nondeterministic choice: any one branch may run (a data-dependent condition)."""

    branches: tuple[Block, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RepeatStmt:
    """Bounded repetition; ``count`` is a literal or the name of a param (``writes``)."""

    count: int | str
    body: Block
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ReturnStmt:
    code: ReturnCode
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ReturnCallStmt:
    """``return call migrate_page``: run a library callback and return what it returns."""

    library: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MoveMappingStmt:
    """``move_mapping`` as a statement: on failure the callback returns EAGAIN."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CopyStmt:
    """``copy`` (migrate_page_copy: data and states) or ``copy_states`` (migrate_page_states)."""

    states_only: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class WriteStmt:
    """``write page`` (through the mapping), ``write ref`` (through a reference taken earlier)
    or ``write P`` (through a spec pointer P)."""

    via: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RefStmt:
    """``get ref`` / ``put ref``: take or drop a reference on the page the mapping points at.

    ``peek ref`` (``counted`` False) remembers the page without raising its refcount — a page
    pointer read under a lock or RCU — so it does not make move_mapping fail.
    """

    take: bool
    span: Span = _span()
    counted: bool = True


@dataclass(frozen=True, slots=True)
class RepointStmt:
    """``repoint P``: switch spec pointer P from the old page to the new page."""

    pointer: str
    span: Span = _span()


class WritebackAction(Enum):
    WAIT = "wait"
    START = "start"
    END = "end"


@dataclass(frozen=True, slots=True)
class WritebackStmt:
    action: WritebackAction
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class WritepageStmt:
    """``writepage``: ->writepage() of a dirty old page; it unlocks the page and cleans it."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AssignStmt:
    name: str
    value: SExpr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AwaitStmt:
    cond: SExpr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AssertStmt:
    cond: SExpr
    message: str
    span: Span = _span()


Stmt = (
    LockStmt
    | UnlockStmt
    | IfStmt
    | EitherStmt
    | RepeatStmt
    | ReturnStmt
    | ReturnCallStmt
    | MoveMappingStmt
    | CopyStmt
    | WriteStmt
    | RefStmt
    | RepointStmt
    | WritebackStmt
    | WritepageStmt
    | AssignStmt
    | AwaitStmt
    | AssertStmt
)


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class LockDecl:
    name: str
    kind: LockKind
    scope: Scope
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class VarDecl:
    """``var NAME : bool|int[lo..hi] [per page] = VALUE|any``; ``initial`` None means any."""

    name: str
    low: int
    high: int
    is_bool: bool
    initial: int | None
    scope: Scope
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class PointerDecl:
    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ParamDecl:
    name: str
    value: int | str
    span: Span = _span()


class Outcome(Enum):
    HOLDS = "holds"
    REFUSES = "refuses"
    VIOLATES = "violates"


@dataclass(frozen=True, slots=True)
class Expect:
    modes: tuple[Mode, ...]
    outcome: Outcome
    codes: tuple[ReturnCode, ...] = ()
    properties: tuple[Property, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CallerHolds:
    """``caller holds L [in MODES]``: migration runs in a task that already holds L, e.g. direct
    compaction entered from an allocation made under L (ASYNC and SYNC_LIGHT)."""

    locks: tuple[LockRef, ...]
    modes: frozenset[Mode]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Actor:
    """Another kernel path touching the same locks or pages: one instance per page, or one
    instance on page ``page`` (``actor NAME on page N``)."""

    name: str
    body: Block
    span: Span = _span()
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    source: str
    locks: tuple[LockDecl, ...]
    variables: tuple[VarDecl, ...]
    pointers: tuple[PointerDecl, ...]
    params: tuple[ParamDecl, ...]
    callback: Block
    actors: tuple[Actor, ...]
    expects: tuple[Expect, ...]
    file: str = ""
    span: Span = _span()
    caller_holds: tuple[CallerHolds, ...] = ()

    def held_by_caller(self, mode: Mode) -> tuple[LockRef, ...]:
        """The locks the migrating task already holds in ``mode``."""
        return tuple(ref for decl in self.caller_holds if mode in decl.modes for ref in decl.locks)

    def lock(self, name: str) -> LockDecl | None:
        return next((d for d in self.locks if d.name == name), None)

    def variable(self, name: str) -> VarDecl | None:
        return next((d for d in self.variables if d.name == name), None)

    def param(self, name: str) -> ParamDecl | None:
        return next((d for d in self.params if d.name == name), None)

    def expectation(self, mode: Mode) -> Expect | None:
        return next((e for e in self.expects if mode in e.modes), None)
