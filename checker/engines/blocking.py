"""Which blocked threads can never move again: the deadlock criterion every engine shares.

A thread is *blocked* in a state when it has not finished and none of its transitions is
enabled.  Being blocked is not yet a deadlock: the thread moves again as soon as another thread
changes a variable its guards read (a lock owner releasing, bio completion ending writeback, an
assignment satisfying an ``await``).  A set S of blocked threads is *stuck for ever* when no
thread outside S that can still run may ever change a variable read by the guards of a member
of S.  Then no member of S ever moves again, whatever the other threads do:

- a thread u may change variable v when v is among the variables u may write from its current
  location on (reachability over u's control flow, :attr:`BlockingTables.writes`);
- except that an *owned* variable (a lock owner, :attr:`model.ts.Variable.owned`) held by a
  thread w can be changed by w alone: only the owner releases a lock.  So a thread waiting for a
  lock waits for its owner only; a thread waiting for writeback waits for every thread that may
  still end it (an OR-wait), so PG_writeback set by one thread and ended by another is no
  deadlock.

Stuck sets are closed under union, so there is a largest one, computed as a greatest fixed
point (:func:`stuck_for_ever`); a deadlock is a state where it is non-empty.  That includes the
global deadlock (no thread can move and some thread has not finished: every unfinished thread
is blocked and nobody else runs) and partial ones (a wait-for cycle among some threads while
others still run; a thread waiting for a lock whose owner finished without releasing it).

Why this is the right notion for the reduction: a stuck set stays stuck in every successor
state (its members never move, the variables their guards read never change, and the set of
variables a thread may write only shrinks as it runs), and every execution of a migcheck model
is finite, so a stuck set persists to the final state of every execution through it.  A
partial-order reduction that keeps every final state therefore keeps every deadlock.

The z3 engine encodes the same criterion (a non-empty set S closed as above); the tables here
are its input too, so the two engines cannot differ on what a deadlock is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from model.ts import TransitionSystem, partially_evaluate, variables_of


@dataclass(frozen=True, slots=True)
class BlockingTables:
    """Per thread and location: the variables the guards there read (``reads``) and the
    variables the thread may write from there on (``writes``), as bit masks over variable
    indices; ``owned`` lists the owner variables."""

    reads: dict[tuple[int, int], int]
    writes: dict[tuple[int, int], int]
    owned: tuple[int, ...]


def blocking_tables(system: TransitionSystem) -> BlockingTables:
    """Compute the tables of ``system``; raises ValueError if an owner variable is changed by a
    thread that does not own it (the encoding of a lock is broken)."""
    owned = tuple(i for i, v in enumerate(system.variables) if v.owned)
    _check_ownership(system, owned)
    reads: dict[tuple[int, int], int] = {}
    own_writes: dict[tuple[int, int], int] = {}
    graphs = [nx.DiGraph() for _ in system.threads]
    for transition in system.transitions:
        thread = system.threads[transition.thread]
        key = (transition.thread, transition.source)
        guard = set(variables_of(transition.guard))
        guard.discard(thread.pc)
        reads[key] = reads.get(key, 0) | _mask(guard)
        written = {target for target, _ in transition.updates if target != thread.pc}
        own_writes[key] = own_writes.get(key, 0) | _mask(written)
        graphs[transition.thread].add_edge(transition.source, transition.target)
    writes: dict[tuple[int, int], int] = {}
    for index, graph in enumerate(graphs):
        if graph.number_of_nodes() == 0:
            continue
        condensed = nx.condensation(graph)
        members = condensed.graph["mapping"]
        component_writes: dict[int, int] = {}
        for component in reversed(list(nx.topological_sort(condensed))):
            mask = 0
            for location in condensed.nodes[component]["members"]:
                mask |= own_writes.get((index, location), 0)
            for successor in condensed.successors(component):
                mask |= component_writes[successor]
            component_writes[component] = mask
        for location, component in members.items():
            writes[(index, location)] = component_writes[component]
    return BlockingTables(reads, writes, owned)


def stuck_for_ever(
    system: TransitionSystem,
    tables: BlockingTables,
    state: Sequence[int],
    blocked: Sequence[int],
) -> list[int]:
    """The largest set of ``blocked`` threads that can never move again (empty: no deadlock).

    ``state`` holds every variable's value minus its lower bound (owner variables have lower
    bound 0, so their entries are the owners).  Complexity: O(B * T) per round for B blocked
    and T threads, at most B rounds.
    """
    threads = system.threads
    running: list[tuple[int, int]] = []
    held_mask = 0
    held_by: dict[int, int] = {}
    for variable in tables.owned:
        owner = state[variable]
        if owner:
            held_mask |= 1 << variable
            held_by[owner - 1] = held_by.get(owner - 1, 0) | (1 << variable)
    for index, thread in enumerate(threads):
        location = state[thread.pc]
        if location == thread.done:
            continue
        mask = tables.writes.get((index, location), 0)
        # an owner variable held by another thread is changed by that thread alone
        mask &= ~(held_mask & ~held_by.get(index, 0))
        running.append((index, mask))
    stuck = {t: tables.reads.get((t, state[threads[t].pc]), 0) for t in blocked}
    changed = True
    while changed and stuck:
        changed = False
        for waiter, reads in list(stuck.items()):
            for other, writes in running:
                if other != waiter and other not in stuck and writes & reads:
                    del stuck[waiter]
                    changed = True
                    break
    return sorted(stuck)


def _mask(indices: set[int] | frozenset[int]) -> int:
    value = 0
    for index in indices:
        value |= 1 << index
    return value


def _check_ownership(system: TransitionSystem, owned: tuple[int, ...]) -> None:
    """Every step that changes an owner variable must leave it alone when another thread
    holds it: its guard is false then, or its update yields the variable's old value."""
    owned_set = set(owned)
    count = len(system.threads)
    for transition in system.transitions:
        me = transition.thread + 1
        for target, expr in transition.updates:
            if target not in owned_set:
                continue
            for other in range(1, count + 1):
                if other == me:
                    continue
                known = {target: other}
                if partially_evaluate(transition.guard, known) == 0:
                    continue
                if partially_evaluate(expr, known) == other:
                    continue
                raise ValueError(
                    f"{transition.step.text}: changes {system.variables[target].name} while "
                    f"thread {other - 1} may own it"
                )
