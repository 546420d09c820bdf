"""The explicit-state engine: breadth-first search over packed canonical states.

Every reachable state is visited once, level by level, so the first level at which a property
fails gives its shortest counterexample; among the counterexamples of that length the engine
keeps the one with the fewest switches between threads (it reads like the kernel story).  Each
state keeps its parent, the transition that reached it and its switch count, so traces are
rebuilt at the end and replayed through the reference semantics (:mod:`checker.trace`).

Complexity: O(S * T) guard evaluations for S reachable states and T transitions enabled per
state; memory is one ``bytes`` object per state plus three array slots.
"""

from __future__ import annotations

import resource
import sys
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace

from checker.engines.blocking import BlockingTables, blocking_tables
from checker.engines.budget import Budget, BudgetExceeded
from checker.engines.explicit.codegen import CompiledSystem, Packed, compile_system
from checker.engines.explicit.deadlock import deadlock_ending
from checker.engines.explicit.reduction import Reducer
from checker.result import Finding, ModeResult, PropertyResult, Statistics, Trace, Verdict
from checker.trace import Ending, replay
from model.kinds import ALL_PROPERTIES, Property, ReturnCode
from model.span import Span
from model.ts import Check, TransitionSystem

ENGINE = "explicit"
# Budgets are looked at in "ticks": one per state added (initial states included) and one per
# state expanded, so a level that adds no new state still advances the clock.  The state budget
# is exact; the clock is read every _CLOCK_EVERY ticks (time.monotonic costs ~0.1 us, a tick
# ~20 us on the corpus), resident memory (/proc/self/statm, ~10 us) and the progress hook every
# _MEMORY_EVERY ticks.
_CLOCK_EVERY = 64
_MEMORY_EVERY = 2048

Progress = Callable[[Statistics], None]


@dataclass(frozen=True, slots=True)
class _Found:
    """A candidate counterexample: the state it ends in, and the transition that violated
    (None for a state property: a location check or a deadlock)."""

    state: int
    transition: int | None
    ending: Ending


class _Search:
    def __init__(
        self,
        system: TransitionSystem,
        budget: Budget,
        properties: frozenset[Property],
        progress: Progress | None,
        compiled: CompiledSystem,
        tables: BlockingTables,
        reducer: Reducer | None = None,
        max_depth: int | None = None,
        started: float | None = None,
    ) -> None:
        self.system = system
        self.tables = tables
        self.reducer = reducer
        self.max_depth = max_depth
        self.progress = progress
        self.budget = budget
        self.properties = properties
        self.compiled = compiled
        self.pc_indices = tuple(t.pc for t in system.threads)
        self.states: list[Packed] = []
        self.index: dict[Packed, int] = {}
        self.parent = array("l")
        self.via = array("l")
        self.switches = array("l")
        self.last_thread = array("l")
        self.thread_of = [t.thread for t in system.transitions]
        self.returns = {i: t.returns for i, t in enumerate(system.transitions) if t.returns}
        self.returned: set[ReturnCode] = set()
        self.found: dict[Property, _Found] = {}
        self.findings: dict[tuple[Property, str], _Found] = {}
        self.finding_level: dict[tuple[Property, str], _Found] = {}
        self.complete = False
        self.fired = 0
        self.fired_transitions = bytearray(len(system.transitions))
        self.depth = 0
        self.started = time.monotonic() if started is None else started
        self.ticks = 0
        self.max_states = budget.max_states if budget.max_states is not None else -1

    # ------------------------------------------------------------ bookkeeping

    def add(self, packed: Packed, parent: int, via: int, switches: int, thread: int) -> int:
        number = len(self.states)
        self.states.append(packed)
        self.index[packed] = number
        self.parent.append(parent)
        self.via.append(via)
        self.switches.append(switches)
        self.last_thread.append(thread)
        return number

    def cost(self, candidate: _Found) -> int:
        cost = self.switches[candidate.state]
        if candidate.transition is not None:
            last = self.last_thread[candidate.state]
            cost += int(last >= 0 and last != self.thread_of[candidate.transition])
        return cost

    def offer(self, level: dict[Property, _Found], prop: Property, candidate: _Found) -> None:
        if prop in self.found or prop not in self.properties:
            return
        current = level.get(prop)
        if current is None or self.cost(candidate) < self.cost(current):
            level[prop] = candidate

    def offer_check(
        self, level: dict[Property, _Found], check: Check, candidate: _Found
    ) -> None:
        """A violated check: the spec's violation, or a finding about the core when the core
        declares the step a known departure (``departs``), kept apart from the verdict."""
        if not check.finding:
            self.offer(level, check.property, candidate)
            return
        key = (check.property, check.finding)
        current = self.finding_level.get(key)
        if key not in self.findings and (
            current is None or self.cost(candidate) < self.cost(current)
        ):
            self.finding_level[key] = candidate

    def over_states(self) -> None:
        """Raise when more states are stored than the state budget allows (checked exactly,
        after every state added)."""
        if 0 <= self.max_states < len(self.states):
            raise BudgetExceeded(f"state budget of {self.max_states} states ran out")

    def over_budget(self) -> None:
        """Look at the clock, and every _MEMORY_EVERY ticks at memory and the progress hook;
        called every _CLOCK_EVERY ticks (after ``self.ticks`` has advanced by that much)."""
        budget = self.budget
        if budget.timeout is not None and time.monotonic() - self.started > budget.timeout:
            raise BudgetExceeded(f"time budget of {budget.timeout:g} s ran out")
        if self.ticks % _MEMORY_EVERY == 0:
            if self.progress is not None:
                self.progress(self.statistics())
            if budget.max_memory_mb is not None and resident_mib() > budget.max_memory_mb:
                raise BudgetExceeded(f"memory budget of {budget.max_memory_mb} MiB ran out")

    def tick(self) -> None:
        """One unit of work outside the hot loop (which counts its own ticks)."""
        self.ticks += 1
        if self.ticks % _CLOCK_EVERY == 0:
            self.over_budget()

    # ------------------------------------------------------------ properties

    def location_violations(
        self, number: int, packed: Packed, level: dict[Property, _Found]
    ) -> None:
        for check_number in self.compiled.location_checks(packed):
            location_check = self.system.location_checks[check_number]
            check = location_check.check
            self.offer_check(
                level,
                check,
                _Found(
                    number, None, Ending(check.property, check.message, location_check.step.span)
                ),
            )

    def deadlock(
        self,
        number: int,
        packed: Packed,
        moved: bool,
        stuck: list[int],
        level: dict[Property, _Found],
    ) -> None:
        if Property.DEADLOCK in self.found or Property.DEADLOCK not in self.properties:
            return
        ending = deadlock_ending(self.system, self.compiled, self.tables, packed, moved, stuck)
        if ending is not None:
            self.offer(level, Property.DEADLOCK, _Found(number, None, ending))

    # ------------------------------------------------------------ search

    def run(self) -> None:
        frontier: list[int] = []
        level: dict[Property, _Found] = {}
        # lazily: `var v : int[0..255] = any` over a dozen variables has 256**12 initial states
        for state in self.system.initial_states():
            self.tick()
            packed = self.compiled.pack(state)
            if packed not in self.index:
                number = self.add(packed, -1, -1, 0, -1)
                self.over_states()
                frontier.append(number)
                self.location_violations(number, packed, level)
        self.found.update(level)
        self._settle_findings()
        successors = self.compiled.successors
        checks = self.compiled.transition_checks
        transitions = self.system.transitions
        index = self.index
        fired = self.fired_transitions
        reducer = self.reducer
        limit = self.max_states if self.max_states >= 0 else sys.maxsize
        while frontier and not self.all_found():
            level = {}
            next_frontier: list[int] = []
            level_start = len(self.states)
            expand = self.max_depth is None or self.depth < self.max_depth
            for number in frontier:
                self.ticks += 1
                if self.ticks % _CLOCK_EVERY == 0:
                    self.over_budget()
                packed = self.states[number]
                out, stuck = successors(packed)
                if stuck:
                    self.deadlock(number, packed, bool(out), stuck, level)
                if reducer is not None and len(out) > 1:
                    for transition, _ in out:
                        fired[transition] = 1
                    out = self.ample(reducer, packed, out)
                my_switches = self.switches[number]
                my_last = self.last_thread[number]
                for transition, target in out:
                    self.fired += 1
                    fired[transition] = 1
                    code = self.returns.get(transition)
                    if code is not None:
                        self.returned.add(code)
                    for check_number, bad in checks[transition]:
                        if bad(packed):
                            check = transitions[transition].checks[check_number]
                            self.offer_check(
                                level,
                                check,
                                _Found(
                                    number,
                                    transition,
                                    Ending(
                                        check.property,
                                        check.message,
                                        transitions[transition].step.span,
                                    ),
                                ),
                            )
                    thread = self.thread_of[transition]
                    switches = my_switches + (my_last >= 0 and my_last != thread)
                    known = index.get(target)
                    if known is None:
                        if expand:
                            new = self.add(target, number, transition, switches, thread)
                            next_frontier.append(new)
                            self.location_violations(new, target, level)
                            if new >= limit:
                                self.over_states()
                            self.ticks += 1
                            if self.ticks % _CLOCK_EVERY == 0:
                                self.over_budget()
                    elif known >= level_start and self.switches[known] > switches:
                        self.parent[known] = number
                        self.via[known] = transition
                        self.switches[known] = switches
                        self.last_thread[known] = thread
            self.found.update(level)
            self._settle_findings()
            frontier = next_frontier
            if frontier:
                self.depth += 1
        self.complete = not frontier

    def _settle_findings(self) -> None:
        for key, candidate in self.finding_level.items():
            self.findings.setdefault(key, candidate)
        self.finding_level = {}

    def ample(
        self, reducer: Reducer, packed: Packed, out: list[tuple[int, Packed]]
    ) -> list[tuple[int, Packed]]:
        """The steps of the first stubborn thread set that may stand for all of ``out``."""
        thread_of = self.thread_of
        for threads in reducer.candidates(packed):
            ample = [step for step in out if (threads >> thread_of[step[0]]) & 1]
            if not ample or len(ample) == len(out):
                continue
            if any(step[0] in self.returns for step in ample):
                continue
            if all(step[1] in self.index for step in ample):
                continue
            return ample
        return out

    def all_found(self) -> bool:
        return all(p in self.found for p in self.properties)

    # ------------------------------------------------------------ results

    def path_to(self, number: int) -> tuple[int, list[int], list[Packed]]:
        path: list[int] = []
        visited: list[Packed] = []
        while self.parent[number] >= 0:
            path.append(self.via[number])
            visited.append(self.states[number])
            number = self.parent[number]
        path.reverse()
        visited.reverse()
        return number, path, visited

    def trace(self, found: _Found) -> Trace:
        root, path, visited = self.path_to(found.state)
        unpack = self.compiled.unpack
        expected = [unpack(p) for p in visited]
        if found.transition is not None:
            path.append(found.transition)
        return replay(self.system, unpack(self.states[root]), path, found.ending, expected)

    def covered(self) -> frozenset[Span]:
        spans: set[Span] = set(self.system.started)
        for index, hit in enumerate(self.fired_transitions):
            if hit:
                transition = self.system.transitions[index]
                if transition.step.span is not None:
                    spans.add(transition.step.span)
                spans.update(transition.covers)
        return frozenset(spans)

    def statistics(self) -> Statistics:
        return Statistics(
            len(self.states), self.fired, self.depth, round(time.monotonic() - self.started, 3)
        )


def check(
    system: TransitionSystem,
    budget: Budget | None = None,
    properties: frozenset[Property] = frozenset(ALL_PROPERTIES),
    progress: Progress | None = None,
    reduce: bool = True,
) -> ModeResult:
    """Explore the reachable states of ``system`` and judge each property.

    Returns VIOLATED with the shortest trace for each property that fails, UNKNOWN (with the
    budget named in ``reason``) when a budget ran out before the search ended, REFUSES when the
    callback only ever returned errors, else HOLDS.  With ``reduce`` the search uses
    partial-order reduction (:mod:`checker.engines.explicit.reduction`); each violation it
    finds is searched again without reduction up to the depth found, so traces stay shortest.
    ``progress``, if given, is called with the statistics every few thousand states (engines
    never print).
    """
    limits = budget or Budget()
    compiled = compile_system(system)
    tables = blocking_tables(system)
    reducer = Reducer(system) if reduce else None
    search = _Search(system, limits, properties, progress, compiled, tables, reducer)
    reason = ""
    try:
        search.run()
    except BudgetExceeded as exhausted:
        reason = exhausted.reason
    found = dict(search.found)
    traces = {prop: search.trace(candidate) for prop, candidate in found.items()}
    if reducer is not None and found:
        traces.update(_shortest(system, limits, compiled, search, found))
    results = []
    for prop in ALL_PROPERTIES:
        if prop not in properties:
            continue
        if prop in traces:
            results.append(PropertyResult(prop, Verdict.VIOLATED, traces[prop]))
        else:
            results.append(PropertyResult(prop, Verdict.UNKNOWN if reason else Verdict.HOLDS))
    refused = tuple(sorted(search.returned, key=lambda c: c.value))
    findings = tuple(
        Finding(prop, reason, search.trace(candidate))
        for (prop, reason), candidate in sorted(
            search.findings.items(), key=lambda item: (item[0][0].value, item[0][1])
        )
    )
    return ModeResult(
        spec=system.name,
        mode=system.mode,
        engine=ENGINE,
        findings=findings,
        verdict=overall_verdict(results, reason, refused),
        properties=tuple(results),
        refused_with=refused
        if refused and ReturnCode.OK not in search.returned and search.complete
        else (),
        statistics=search.statistics(),
        reason=reason,
        covered=search.covered(),
    )


def _shortest(
    system: TransitionSystem,
    budget: Budget,
    compiled: CompiledSystem,
    reduced: _Search,
    found: dict[Property, _Found],
) -> dict[Property, Trace]:
    """Search again without reduction, no deeper than the reduced search's longest trace.

    The search goes level by level, so every trace it found is shortest, even when a budget
    stops it before it reaches the deepest: those are kept, and the properties it did not reach
    keep the reduced search's traces, marked as not shown to be shortest."""
    depth = max(len(reduced.path_to(f.state)[1]) + 1 for f in found.values())
    # the same time budget as the reduced search: --timeout bounds the whole mode
    again = _Search(system, budget, frozenset(found), None, compiled, reduced.tables, None, depth,
                    started=reduced.started)
    try:
        again.run()
    except BudgetExceeded:
        kept = {prop: again.trace(candidate) for prop, candidate in again.found.items()}
        for prop, candidate in found.items():
            if prop not in kept:
                kept[prop] = replace(reduced.trace(candidate), shortest=False)
        return kept
    return {prop: again.trace(candidate) for prop, candidate in again.found.items()}


def resident_mib() -> int:
    """The process's resident memory now (Linux /proc), else its peak (getrusage)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
        return pages * resource.getpagesize() // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def overall_verdict(
    results: list[PropertyResult], reason: str, returned: tuple[ReturnCode, ...]
) -> Verdict:
    """VIOLATED beats UNKNOWN beats REFUSES beats HOLDS."""
    if any(r.verdict is Verdict.VIOLATED for r in results):
        return Verdict.VIOLATED
    if reason:
        return Verdict.UNKNOWN
    if returned and ReturnCode.OK not in returned:
        return Verdict.REFUSES
    return Verdict.HOLDS
