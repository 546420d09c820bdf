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
    """An integer, or ``true``/``false`` (1/0), which ``spelling`` keeps for messages and
    traces (outside equality: ``true`` means 1)."""

    value: int
    span: Span = _span()
    spelling: str = field(default="", compare=False, hash=False)


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


@dataclass(frozen=True, slots=True)
class AnyPage:
    """``any(EXPR)`` in a core: EXPR holds for some page of the migrator's list (per-page
    locals in EXPR name that page's copy)."""

    expr: SExpr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CallerFlag:
    """``caller.FLAG`` in a core: a fact about the task that called migrate_pages(), such as
    ``memalloc`` (PF_MEMALLOC, set in direct compaction); decided when the core is compiled."""

    flag: str
    span: Span = _span()


SExpr = Name | IntLit | ModeTest | Unary | Binary | AnyPage | CallerFlag


def describe(expr: SExpr) -> str:
    """An expression as a person reads it in messages and traces."""
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, IntLit):
        return expr.spelling or str(expr.value)
    if isinstance(expr, ModeTest):
        return "mode in {" + ", ".join(sorted(m.value for m in expr.modes)) + "}"
    if isinstance(expr, Unary):
        return f"!{describe(expr.arg)}"
    if isinstance(expr, AnyPage):
        return f"any({describe(expr.expr)})"
    if isinstance(expr, CallerFlag):
        return f"caller.{expr.flag}"
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
class ReadStmt:
    """``start read`` / ``end read`` in an actor: a read I/O into the page begins (PG_uptodate
    clears: the page lock the reader holds is now held across I/O) or completes (set)."""

    start: bool
    span: Span = _span()


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


# ---------------------------------------------------------------- statements of a core


@dataclass(frozen=True, slots=True)
class ForPagesStmt:
    """``for page in pages { ... }``: the body once per page of the migrator's list, in list
    order (unrolled when the core is compiled); ``page``, ``newpage``, ``writeback`` and the
    per-page locals inside name the page of the iteration."""

    body: Block
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class LoopStmt:
    """``repeat COUNT as VAR while COND { ... }``: the body runs, then again while VAR + 1 is
    below COUNT and COND holds (VAR counts from 0).  A real loop with a counter, bounded by
    COUNT, so every execution ends."""

    count: int | str
    counter: str
    condition: SExpr | None
    body: Block
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BreakStmt:
    """Leave the innermost ``for`` or ``repeat ... as`` loop."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ContinueStmt:
    """Go on with the next iteration of the innermost loop."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class AtomicStmt:
    """``atomic { ... }``: statements that cannot block or branch on shared state, taken as
    one step (the kernel offers no point between them that the model distinguishes)."""

    body: Block
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CallbackCallStmt:
    """``rc = migratepage`` / ``rc = migratepage(ASYNC)``: call the spec's callback for the
    page of the iteration, in the migration's mode or the one given (a mode, or a procedure's
    mode parameter); its return code is stored in local ``result``.  ``rc = call NAME`` calls
    the library callback NAME instead (migrate_vma_pages() calls migrate_page() itself)."""

    result: str
    mode: str | None
    span: Span = _span()
    library: str | None = None


@dataclass(frozen=True, slots=True)
class ProcCallStmt:
    """``NAME(ARG, ...)`` / ``NAME(ARG, ...) on page``: run a core procedure over the pages of
    the current list, or over the page of the iteration alone."""

    name: str
    args: tuple[str | int, ...]
    on_page: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DmaCopyStmt:
    """``dma copy``: the device copies the page's contents to the new page (SYNC_NO_COPY)."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CommitStmt:
    """``commit``: the page's migration is complete; the new page replaces the old one for
    good, and lost-update checks that it holds every write made to the old one."""

    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DepartsStmt:
    """``departs PROPERTY, ... "why" { ... }`` in a core: the steps inside are a known
    departure of this kernel from the contract of those properties; their violations are
    reported once, as a finding about the core, apart from the verdict of the spec."""

    properties: tuple[Property, ...]
    reason: str
    body: Block
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class LeaveStmt:
    """``return`` in a core: migrate_pages() returns to its caller (-ENOMEM ends the run)."""

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
    | ReadStmt
    | WritepageStmt
    | AssignStmt
    | AwaitStmt
    | AssertStmt
    | ForPagesStmt
    | LoopStmt
    | BreakStmt
    | ContinueStmt
    | AtomicStmt
    | CallbackCallStmt
    | DmaCopyStmt
    | CommitStmt
    | DepartsStmt
    | LeaveStmt
    | ProcCallStmt
)

CORE_ONLY = (
    ForPagesStmt,
    LoopStmt,
    BreakStmt,
    ContinueStmt,
    AtomicStmt,
    CallbackCallStmt,
    DmaCopyStmt,
    CommitStmt,
    DepartsStmt,
    LeaveStmt,
    ProcCallStmt,
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
    """``caller holds L [in MODES]``: migration may run in a task that already holds L, e.g.
    direct compaction entered from an allocation made under L (ASYNC and SYNC_LIGHT): every
    caller of those modes is explored both holding L and not.  ``caller NAME holds L``: only
    the core's caller NAME (``caller`` None: any caller of the modes)."""

    locks: tuple[LockRef, ...]
    modes: frozenset[Mode]
    span: Span = _span()
    caller: str | None = None


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
    core: str | None = None
    core_span: Span = _span()

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


# ---------------------------------------------------------------- cores


@dataclass(frozen=True, slots=True)
class CoreParamDecl:
    """``param NAME : {A, B} = A`` in a core: a choice a spec may set with ``param NAME = B``."""

    name: str
    choices: tuple[str, ...]
    default: str
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class CallerDecl:
    """``caller NAME in MODES [: FLAG, ...]``: a kernel path that calls migrate_pages() in
    those modes, with facts about its task (``memalloc``: PF_MEMALLOC, direct compaction)."""

    name: str
    modes: frozenset[Mode]
    flags: frozenset[str]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class LocalDecl:
    """``local NAME : {A, B} [per page] = A`` (or ``: code``, ``: int[L..H]``, ``: bool``): the
    migrator's own state, one copy per migrator (per page of its list with ``per page``)."""

    name: str
    values: tuple[str, ...]
    low: int
    high: int
    initial: int
    per_page: bool
    span: Span = _span()

    @property
    def is_enum(self) -> bool:
        return bool(self.values)


@dataclass(frozen=True, slots=True)
class ProcParam:
    """A procedure parameter: a migration mode (``m : mode``) or a count (``n : count``)."""

    name: str
    is_mode: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class ProcDecl:
    """``proc NAME(P : mode, N : count) { ... }``: core code called from several places with
    different modes, counts and pages (6.6's migrate_pages_batch()); inlined at each call."""

    name: str
    params: tuple[ProcParam, ...]
    body: Block
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class MigrateBlock:
    """``migrate in MODES over isolated|shared pages [, reversed if EXPR] { ... }``: the
    migrator's code in those modes.  Isolated: each migrator has its own pages (the per-page
    flow isolates them from the LRU first); shared: every migrator's batch holds the same pages.
    ``reversed_if``: a condition, decided when compiling, that reverses the migrator's list."""

    modes: frozenset[Mode]
    shared: bool
    reversed_if: SExpr | None
    body: Block
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Core:
    """A migration core: mm/migrate.c of one kernel release, as a spec a developer can edit."""

    name: str
    kernel: str
    source: str
    modes: tuple[Mode, ...]
    params: tuple[CoreParamDecl, ...]
    callers: tuple[CallerDecl, ...]
    locals: tuple[LocalDecl, ...]
    variables: tuple[VarDecl, ...]
    flows: tuple[MigrateBlock, ...]
    changes: tuple[str, ...] = ()
    file: str = ""
    span: Span = _span()
    procs: tuple[ProcDecl, ...] = ()

    def proc(self, name: str) -> ProcDecl | None:
        return next((d for d in self.procs if d.name == name), None)

    def flow(self, mode: Mode) -> MigrateBlock | None:
        return next((f for f in self.flows if mode in f.modes), None)

    def local(self, name: str) -> LocalDecl | None:
        return next((d for d in self.locals if d.name == name), None)

    def param(self, name: str) -> CoreParamDecl | None:
        return next((d for d in self.params if d.name == name), None)

    def callers_of(self, mode: Mode) -> tuple[CallerDecl, ...]:
        return tuple(c for c in self.callers if mode in c.modes)
