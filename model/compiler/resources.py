"""The state a compiled model shares between threads: locks, pages, pointers, spec variables.

Pages: every logical page has an old page (the one being migrated) and, for each migrator that
migrates it, a new page.  A page *target* is 0 for the old page and ``m + 1`` for migrator m's
new page; the mapping (the page-cache slot, switched by migrate_page_move_mapping() in
mm/migrate.c), each spec pointer and each reference hold a target.

Page data is tracked per new page with two bits instead of contents:
``stale`` — the old page holds a write the new page lacks (starts set: the new page is empty);
``fresh`` — a write landed on the new page that the old page lacks (a later copy destroys it).
``committed`` records which migrator's new page replaced the old page for good.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.compiler.build import SystemBuilder
from model.compiler.locks import ExclusiveLock, LockInstance, ReaderWriterLock
from model.kinds import LockKind, Mode
from model.language import ast
from model.language.params import Contents, Params
from model.ts import Expr, ThreadRole, VarRole, const, eq, or_, var


def page_name(page: int, total: int) -> str:
    return "" if total == 1 else f" {page}"


@dataclass(slots=True)
class Resources:
    """Variables and lock instances of one compiled system, looked up by the compiler."""

    spec: ast.Spec
    params: Params
    mode: Mode
    system: SystemBuilder
    total_pages: int
    pages_of: dict[int, tuple[int, ...]]
    old_lock: dict[int, ExclusiveLock] = field(default_factory=dict)
    new_lock: dict[tuple[int, int], ExclusiveLock] = field(default_factory=dict)
    buffers: dict[int, ExclusiveLock] = field(default_factory=dict)
    mapping: dict[int, int] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)
    writeback: dict[int, int] = field(default_factory=dict)
    uptodate: dict[int, int] = field(default_factory=dict)
    stale: dict[tuple[int, int], int] = field(default_factory=dict)
    fresh: dict[tuple[int, int], int] = field(default_factory=dict)
    pointers: dict[tuple[str, int], int] = field(default_factory=dict)
    actor_pages: dict[int, int] = field(default_factory=dict)
    refs: dict[int, int] = field(default_factory=dict)
    counted: dict[int, int] = field(default_factory=dict)
    shared_locks: dict[str, LockInstance] = field(default_factory=dict)
    page_locks: dict[tuple[str, int], LockInstance] = field(default_factory=dict)
    shared_vars: dict[str, int] = field(default_factory=dict)
    page_vars: dict[tuple[str, int], int] = field(default_factory=dict)
    core_vars: dict[tuple[str, int], int] = field(default_factory=dict)
    locals: dict[tuple[int, str, int | None], int] = field(default_factory=dict)
    order_of: dict[int, tuple[int, ...]] = field(default_factory=dict)

    @property
    def migrators(self) -> tuple[int, ...]:
        return tuple(sorted(self.pages_of))

    def migrators_of(self, page: int) -> tuple[int, ...]:
        return tuple(m for m, pages in self.pages_of.items() if page in pages)

    def suffix(self, page: int) -> str:
        return page_name(page, self.total_pages)

    def declared_lock(self, name: str, page: int) -> LockInstance:
        if name in self.shared_locks:
            return self.shared_locks[name]
        return self.page_locks[(name, page)]

    def spec_var(self, name: str, page: int) -> int:
        if name in self.shared_vars:
            return self.shared_vars[name]
        return self.page_vars[(name, page)]

    def state_migrated(self, migrator: int, page: int) -> Expr:
        """The page's state points at ``migrator``'s new page: the mapping or a spec pointer."""
        target = const(migrator + 1)
        switched = [eq(var(self.mapping[page]), target)]
        switched += [eq(var(index), target) for (_, p), index in self.pointers.items() if p == page]
        return or_(*switched)

    def locks_of_page(self, page: int) -> list[LockInstance]:
        """Every declared lock a thread working on ``page`` can take, plus its buffer lock."""
        locks: list[LockInstance] = list(self.shared_locks.values())
        locks += [lock for (_, p), lock in self.page_locks.items() if p == page]
        locks.append(self.buffers[page])
        return locks

    def spinning_locks_of_page(self, page: int) -> list[LockInstance]:
        return [lock for lock in self.locks_of_page(page) if lock.kind.spins]


def shared_layout(params: Params, shared: bool) -> tuple[int, dict[int, tuple[int, ...]]]:
    """The pages and each migrator's list: the same pages for all (``shared``), or disjoint
    lists of ``params.pages`` pages each."""
    migrators = params.migrators
    if shared:
        return params.pages, {m: tuple(range(params.pages)) for m in range(migrators)}
    total = params.pages * migrators
    return total, {
        m: tuple(range(m * params.pages, (m + 1) * params.pages)) for m in range(migrators)
    }


def page_layout(params: Params, mode: Mode) -> tuple[int, dict[int, tuple[int, ...]]]:
    """How many logical pages there are and which ones each migrator migrates.

    In the per-page modes each migrator isolated its own pages first (isolate_lru_page), so
    their lists are disjoint.  The SYNC_NO_COPY batch flow collects pages from page tables
    without isolating them first (migrate_vma_collect), so concurrent batches share pages.
    """
    migrators = params.migrators
    if mode is Mode.SYNC_NO_COPY:
        return params.pages, {m: tuple(range(params.pages)) for m in range(migrators)}
    total = params.pages * migrators
    return total, {
        m: tuple(range(m * params.pages, (m + 1) * params.pages)) for m in range(migrators)
    }


def allocate(
    spec: ast.Spec,
    params: Params,
    mode: Mode,
    system: SystemBuilder,
    actor_pages: dict[int, int],
    layout: tuple[int, dict[int, tuple[int, ...]]] | None = None,
) -> Resources:
    """Create every shared variable, after the threads exist (owners are labelled by thread).

    ``layout`` gives the number of pages and each migrator's pages (by default the 4.14 layout
    of :func:`page_layout`)."""
    migrators = params.migrators
    total, pages_of = layout if layout is not None else page_layout(params, mode)
    res = Resources(spec, params, mode, system, total, pages_of, actor_pages=actor_pages)
    thread_count = len(system.threads)
    target_labels = ("old page",) + tuple(
        "new page" if migrators == 1 else f"new page of migrator {m}" for m in range(migrators)
    )
    stale_initial = 0 if params.contents is Contents.NONE else 1
    for decl in spec.locks:
        if decl.scope is ast.Scope.SHARED:
            res.shared_locks[decl.name] = _lock(system, decl.name, decl.kind, thread_count)
    for page in range(total):
        sfx = res.suffix(page)
        res.old_lock[page] = ExclusiveLock(
            f"page lock{sfx}", LockKind.SLEEPING_BITLOCK, system.owner_variable(f"PG_locked{sfx}")
        )
        for m in res.migrators_of(page):
            new_name = "new page lock" + sfx + ("" if migrators == 1 else f" (migrator {m})")
            res.new_lock[(m, page)] = ExclusiveLock(
                new_name,
                LockKind.SLEEPING_BITLOCK,
                system.owner_variable(new_name.replace("new page lock", "PG_locked new page")),
            )
        res.buffers[page] = ExclusiveLock(
            f"buffer locks{sfx}", LockKind.SLEEPING_BITLOCK, system.owner_variable(f"BH_Lock{sfx}")
        )
        res.mapping[page] = system.variable(
            f"mapping{sfx}", 0, migrators, (0,), VarRole.PAGE, target_labels
        )
        res.committed[page] = system.variable(
            f"migrated{sfx}", 0, migrators, (0,), VarRole.PAGE, ("no",) + target_labels[1:]
        )
        res.writeback[page] = system.variable(
            f"PG_writeback{sfx}", 0, 1, (0,), VarRole.PAGE, ("clear", "set")
        )
        res.uptodate[page] = system.variable(
            f"PG_uptodate{sfx}", 0, 1, (1,), VarRole.PAGE, ("no", "yes")
        )
        for m in res.migrators_of(page):
            who = "" if migrators == 1 else f" (migrator {m})"
            res.stale[(m, page)] = system.variable(
                f"new page{sfx}{who} lacks a write",
                0,
                1,
                (stale_initial,),
                VarRole.PAGE,
                ("no", "yes"),
            )
            res.fresh[(m, page)] = system.variable(
                f"new page{sfx}{who} holds an uncopied write",
                0,
                1,
                (0,),
                VarRole.PAGE,
                ("no", "yes"),
            )
        for ptr in spec.pointers:
            res.pointers[(ptr.name, page)] = system.variable(
                f"{ptr.name}{sfx}", 0, migrators, (0,), VarRole.PAGE, target_labels
            )
        for decl in spec.locks:
            if decl.scope is ast.Scope.PER_PAGE:
                res.page_locks[(decl.name, page)] = _lock(
                    system, f"{decl.name}{sfx}", decl.kind, thread_count
                )
        for vdecl in spec.variables:
            if vdecl.scope is ast.Scope.PER_PAGE:
                res.page_vars[(vdecl.name, page)] = _spec_variable(system, vdecl, sfx)
    for vdecl in spec.variables:
        if vdecl.scope is ast.Scope.SHARED:
            res.shared_vars[vdecl.name] = _spec_variable(system, vdecl, "")
    for thread in system.threads:
        if thread.role is ThreadRole.ACTOR:
            res.refs[thread.index] = system.variable(
                f"reference held by {thread.name}",
                -1,
                migrators,
                (-1,),
                VarRole.PAGE,
                ("none",) + target_labels,
            )
            res.counted[thread.index] = system.variable(
                f"refcount held by {thread.name}", 0, 1, (0,), VarRole.PAGE, ("no", "yes")
            )
    return res


def _lock(system: SystemBuilder, name: str, kind: LockKind, threads: int) -> LockInstance:
    if kind.shared:
        sides = tuple(
            system.variable(
                f"{name}[{system.threads[t].name}]",
                0,
                3,
                (0,),
                VarRole.LOCK,
                ("-", "read", "write", "queued for write"),
            )
            for t in range(threads)
        )
        return ReaderWriterLock(name, kind, sides)
    return ExclusiveLock(name, kind, system.owner_variable(name))


def _spec_variable(system: SystemBuilder, decl: ast.VarDecl, sfx: str) -> int:
    values = tuple(range(decl.low, decl.high + 1)) if decl.initial is None else (decl.initial,)
    labels = ("false", "true") if decl.is_bool else ()
    return system.variable(f"{decl.name}{sfx}", decl.low, decl.high, values, VarRole.SPEC, labels)
