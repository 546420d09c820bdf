"""Wait-for graphs: who a blocked thread waits for, and cycles among blocked threads.

A thread is *blocked* in a state when it has not finished and none of its transitions is
enabled.  It waits for every thread its location's :class:`model.ts.Wait` annotations name.  A
cycle of blocked threads is a deadlock even while other threads (a writer, the DMA engine) can
still move: none of the threads in the cycle can ever move again, because each needs a lock held
by the next.  A state where nothing can move and some thread has not finished is a deadlock too.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from checker.engines.explicit.codegen import CompiledSystem, Packed
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
