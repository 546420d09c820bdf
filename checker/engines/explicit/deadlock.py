"""Deadlocks in a state: which blocked threads are stuck for ever, and how to explain it.

Whether a state is a deadlock is decided by :mod:`checker.engines.blocking` (a non-empty set of
blocked threads that nothing still running can wake).  This module explains it: the wait-for
graph of the stuck threads, built from the :class:`model.ts.Wait` annotations of their
locations, names a cycle lock by lock when there is one; otherwise the explanation lists the
stuck threads and what each waits for.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from checker.engines.blocking import BlockingTables, stuck_for_ever
from checker.engines.explicit.codegen import CompiledSystem, Packed
from checker.trace import Ending
from model.kinds import Property
from model.span import Span
from model.ts import TransitionSystem


@dataclass(frozen=True, slots=True)
class Edge:
    waiter: int
    holder: int
    resource: str
    transition: int


def wait_edges(
    system: TransitionSystem, compiled: CompiledSystem, state: Packed, blocked: list[int]
) -> list[Edge]:
    """The wait-for edges of the blocked threads in ``state``."""
    edges: list[Edge] = []
    for thread in blocked:
        location = state[system.threads[thread].pc]
        for index in compiled.by_location.get((thread, location), ()):
            for _, resource, holder_of in compiled.holders[index]:
                holder = holder_of(state) - 1
                if holder >= 0:
                    edges.append(Edge(thread, holder, resource, index))
    return edges


def has_cycle(edges: list[Edge], blocked: list[int]) -> bool:
    """Fast test: is there a cycle of wait edges among blocked threads (iterative DFS)?"""
    inside = set(blocked)
    successors: dict[int, list[int]] = {}
    for edge in edges:
        if edge.holder in inside:
            successors.setdefault(edge.waiter, []).append(edge.holder)
    if not successors:
        return False
    colour: dict[int, int] = {}
    for root in successors:
        if colour.get(root):
            continue
        stack = [(root, iter(successors.get(root, ())))]
        colour[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                continue
            state = colour.get(child, 0)
            if state == 1:
                return True
            if state == 0:
                colour[child] = 1
                stack.append((child, iter(successors.get(child, ()))))
    return False


def cycle_of(edges: list[Edge], blocked: list[int]) -> list[Edge]:
    """The edges of one wait-for cycle among blocked threads, starting at the lowest thread."""
    graph = nx.MultiDiGraph()
    inside = set(blocked)
    for edge in edges:
        if edge.holder in inside:
            graph.add_edge(edge.waiter, edge.holder, key=edge.resource, edge=edge)
    found = nx.find_cycle(graph)
    cycle = [graph.edges[u, v, key]["edge"] for u, v, key in found]
    start = min(range(len(cycle)), key=lambda i: cycle[i].waiter)
    return cycle[start:] + cycle[:start]


def deadlock_ending(
    system: TransitionSystem,
    compiled: CompiledSystem,
    tables: BlockingTables,
    state: Packed,
    moved: bool,
    blocked: list[int],
) -> Ending | None:
    """The deadlock in ``state`` explained, or None when no blocked thread is stuck for ever.

    ``moved`` tells whether any thread can still move; ``blocked`` lists the blocked threads.
    """
    stuck = stuck_for_ever(system, tables, state, blocked)
    if not stuck:
        return None
    edges = wait_edges(system, compiled, state, stuck)
    if has_cycle(edges, stuck):
        cycle = cycle_of(edges, stuck)
        spans = [system.transitions[e.transition].step.span for e in cycle]
        names = [system.threads[e.waiter].name for e in cycle]
        if len(names) == 1:
            message = f"deadlock: {names[0]} waits for a lock it holds itself"
        else:
            message = "deadlock: " + " -> ".join(names + [names[0]]) + " wait for each other"
        return Ending(
            Property.DEADLOCK,
            message,
            spans[0],
            tuple((e.waiter, e.resource, e.holder, s) for e, s in zip(cycle, spans, strict=True)),
            tuple(stuck),
        )
    listed = ", ".join(system.threads[t].name for t in stuck)
    span = first_span(system, compiled, state, stuck)
    if not moved:
        return Ending(
            Property.DEADLOCK,
            f"deadlock: no thread can move; {listed} never finish",
            span,
            (),
            tuple(stuck),
        )
    waits = "; ".join(
        f"{system.threads[t].name} waits for {_waited_for(system, compiled, state, t)}"
        for t in stuck
    )
    return Ending(
        Property.DEADLOCK,
        f"deadlock: {listed} can never move again, though other threads still run ({waits}, "
        "and nothing still running can end that)",
        span,
        (),
        tuple(stuck),
        partial=True,
    )


def _waited_for(system: TransitionSystem, compiled: CompiledSystem, state: Packed, thread: int
                ) -> str:
    """What a blocked thread waits for, as its location's steps name it."""
    location = state[system.threads[thread].pc]
    indices = compiled.by_location.get((thread, location), ())
    resources = [w.resource for i in indices for w in system.transitions[i].waits]
    if resources:
        return " or ".join(dict.fromkeys(resources))
    texts = [system.transitions[i].step.text for i in indices]
    return " or ".join(dict.fromkeys(texts)) if texts else "nothing it can ever do"


def first_span(system: TransitionSystem, compiled: CompiledSystem, state: Packed,
               stuck: list[int]) -> Span | None:
    """The spec line of the first stuck thread's next step (None for core steps)."""
    for thread in stuck:
        location = state[system.threads[thread].pc]
        for index in compiled.by_location.get((thread, location), ()):
            span = system.transitions[index].step.span
            if span is not None:
                return span
    return None
