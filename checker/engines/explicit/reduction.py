"""Partial-order reduction: which threads' steps must be explored from a state.

Independent steps of different threads (an actor writing page 3 while the migrator locks page 0)
commute; exploring every order of them multiplies the states without changing a verdict.  From
each state the engine explores only the steps of a *stubborn* set of threads: the smallest
closure of one thread under

- a thread whose current steps write a variable that another thread may read or write from its
  current location onwards, or read a variable another thread may write, pulls that thread in
  (their steps are dependent, or one may enable or disable the other);
- property checks count as reads, so a step is never reordered past a write that changes
  whether a check fails; a location's checks count as reads of the threads that may reach it.

"May access from its current location onwards" is computed per thread by abstract
interpretation of the thread's code from its current location, with the values of its
*private* variables (those no other thread touches: the migrator's pass counter and batch
slots) known: a step whose guard is false on the private values is never taken, so a page
the batch left out no longer counts as touched by the migrator's later phases.

The set is used only when it contains an enabled step, none of its steps returns from the
callback (those are visible: the set of return codes decides ``refuses``) and one of its
successors is new; otherwise the state is fully expanded.  The state graphs migcheck builds are
acyclic (every loop is bounded by a counter in the state), so these conditions keep every
deadlock and every violation reachable (Valmari's stubborn sets; Clarke, Grumberg, Peled,
*Model Checking*, ch. 10).  Counterexamples found under reduction are searched again without
it, up to the depth found, so the traces shown are still the shortest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.ts import Expr, ThreadRole, TransitionSystem, partially_evaluate, variables_of

Valuation = tuple[int | None, ...]


def _mask(indices: set[int] | frozenset[int]) -> int:
    value = 0
    for index in indices:
        value |= 1 << index
    return value


@dataclass(frozen=True, slots=True)
class _Access:
    reads: int
    writes: int


@dataclass(slots=True)
class Reducer:
    """Access masks per thread and location, and memos of futures and stubborn sets."""

    system: TransitionSystem
    private: list[tuple[int, ...]] = field(default_factory=list)
    outgoing: list[dict[int, list[int]]] = field(default_factory=list)
    access: dict[int, _Access] = field(default_factory=dict)
    location_reads: list[dict[int, int]] = field(default_factory=list)
    now: list[dict[int, _Access]] = field(default_factory=list)
    futures: dict[tuple[int, int, Valuation], _Access] = field(default_factory=dict)
    later_memo: list[dict[tuple[int, tuple[int, ...]], _Access]] = field(default_factory=list)
    lows: tuple[int, ...] = ()
    migrator_mask: int = 0
    reads_of: dict[tuple[int, int], tuple[int, ...]] = field(default_factory=dict)
    evaluated: dict[tuple[int, int, Valuation], int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        system = self.system
        count = len(system.threads)
        users: dict[int, set[int]] = {}
        self.outgoing = [{} for _ in range(count)]
        self.location_reads = [{} for _ in range(count)]
        self.now = [{} for _ in range(count)]
        for index, transition in enumerate(system.transitions):
            own_pc = system.threads[transition.thread].pc
            reads = set(variables_of(transition.guard))
            for _, expr in transition.updates:
                reads |= variables_of(expr)
            for check in transition.checks:
                reads |= variables_of(check.bad)
            writes = {target for target, _ in transition.updates}
            reads.discard(own_pc)
            writes.discard(own_pc)
            for variable in reads | writes:
                users.setdefault(variable, set()).add(transition.thread)
            self.access[index] = _Access(_mask(reads), _mask(writes))
            self.outgoing[transition.thread].setdefault(transition.source, []).append(index)
            here = self.now[transition.thread]
            before = here.get(transition.source, _Access(0, 0))
            here[transition.source] = _Access(
                before.reads | _mask(reads), before.writes | _mask(writes)
            )
        for location_check in system.location_checks:
            reads = set(variables_of(location_check.check.bad))
            reads.discard(system.threads[location_check.thread].pc)
            for variable in reads:
                users.setdefault(variable, set()).add(location_check.thread)
            here_reads = self.location_reads[location_check.thread]
            here_reads[location_check.location] = here_reads.get(
                location_check.location, 0
            ) | _mask(reads)
            here = self.now[location_check.thread]
            before = here.get(location_check.location, _Access(0, 0))
            here[location_check.location] = _Access(before.reads | _mask(reads), before.writes)
        self.private = [
            tuple(sorted(v for v, who in users.items() if who == {t})) for t in range(count)
        ]
        self.later_memo = [{} for _ in range(count)]
        self.lows = tuple(v.low for v in system.variables)
        self.migrator_mask = sum(
            1 << t for t, info in enumerate(system.threads) if info.role is ThreadRole.MIGRATOR
        )

    # ------------------------------------------------------------ futures

    def future(self, thread: int, location: int, values: Valuation) -> _Access:
        """Every variable ``thread`` may read or write from ``location`` on, given the values of
        its private variables (abstract interpretation, one value or unknown per variable)."""
        key = (thread, location, values)
        found = self.futures.get(key)
        if found is not None:
            return found
        private = self.private[thread]
        position = {v: i for i, v in enumerate(private)}
        states: dict[int, Valuation] = {location: values}
        work = [location]
        reads = writes = 0
        while work:
            here = work.pop()
            valuation = states[here]
            reads |= self.location_reads[thread].get(here, 0)
            for index in self.outgoing[thread].get(here, ()):
                transition = self.system.transitions[index]
                if self._evaluate(index, transition.guard, valuation, private, -1) == 0:
                    continue
                access = self.access[index]
                reads |= access.reads
                writes |= access.writes
                after = list(valuation)
                for number, (target, expr) in enumerate(transition.updates):
                    if target in position:
                        after[position[target]] = self._evaluate(
                            index, expr, valuation, private, number
                        )
                merged = self._join(states.get(transition.target), tuple(after))
                if merged != states.get(transition.target):
                    states[transition.target] = merged
                    work.append(transition.target)
        result = _Access(reads, writes)
        self.futures[key] = result
        return result

    def _evaluate(
        self,
        index: int,
        expr: Expr,
        valuation: Valuation,
        private: tuple[int, ...],
        part: int,
    ) -> int | None:
        """Partial evaluation of a guard (``part`` -1) or update of transition ``index`` on
        the thread's private values, memoised on the private variables it reads."""
        slots = self.reads_of.get((index, part))
        if slots is None:
            read = variables_of(expr)
            slots = tuple(i for i, v in enumerate(private) if v in read)
            self.reads_of[(index, part)] = slots
        key = (index, part, tuple(valuation[i] for i in slots))
        if key in self.evaluated:
            return self.evaluated[key]
        known: dict[int, int] = {}
        for i in slots:
            known_value = valuation[i]
            if known_value is not None:
                known[private[i]] = known_value
        value = partially_evaluate(expr, known)
        self.evaluated[key] = value
        return value

    @staticmethod
    def _join(old: Valuation | None, new: Valuation) -> Valuation:
        if old is None:
            return new
        return tuple(a if a == b else None for a, b in zip(old, new, strict=True))

    # ------------------------------------------------------------ stubborn sets

    def candidates(self, state: bytes | tuple[int, ...]) -> list[int]:
        """Stubborn thread sets for ``state`` as bit masks of thread indices, smallest first,
        actors before migrators.

        The dependency graph links thread a to thread b when a's current steps conflict with
        b's future accesses; a thread's stubborn set is everything it reaches.  Futures are
        memoised per (thread, location, private values); the sets are not, so memory stays
        proportional to the threads' code, not to the states.
        """
        system = self.system
        threads = system.threads
        active: list[int] = []
        now: list[_Access] = []
        later: list[_Access] = []
        empty = _Access(0, 0)
        for index, thread in enumerate(threads):
            location = state[thread.pc]
            if location == thread.done:
                continue
            raw = tuple(state[v] for v in self.private[index])
            memo = self.later_memo[index]
            found = memo.get((location, raw))
            if found is None:
                values = tuple(
                    x + self.lows[v] for x, v in zip(raw, self.private[index], strict=True)
                )
                found = self.future(index, location, values)
                memo[(location, raw)] = found
            active.append(index)
            now.append(self.now[index].get(location, empty))
            later.append(found)
        count = len(active)
        reach = []
        for a in range(count):
            writes, reads = now[a].writes, now[a].reads
            mask = 1 << a
            for b in range(count):
                if b != a:
                    future = later[b]
                    if (writes & (future.reads | future.writes)) or (reads & future.writes):
                        mask |= 1 << b
            reach.append(mask)
        changed = True
        while changed:
            changed = False
            for a in range(count):
                before = reach[a]
                grown = before
                bits = before & ~(1 << a)
                while bits:
                    low = bits & -bits
                    grown |= reach[low.bit_length() - 1]
                    bits ^= low
                if grown != before:
                    reach[a] = grown
                    changed = True
        everyone = (1 << count) - 1
        sets: set[int] = set()
        for mask in reach:
            if mask != everyone:
                threads_mask = 0
                bits = mask
                while bits:
                    low = bits & -bits
                    threads_mask |= 1 << active[low.bit_length() - 1]
                    bits ^= low
                sets.add(threads_mask)
        migrators = self.migrator_mask
        return sorted(sets, key=lambda m: (m.bit_count(), (m & migrators).bit_count(), m))
