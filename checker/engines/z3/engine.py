"""The z3 engine: the transition system as formulas, refuted by BMC and proved by Spacer.

The state is a vector of z3 integers, one per :class:`model.ts.Variable`; step ``k`` picks one
transition by number (``step@k``), which must be enabled in state ``k`` (its thread at its
source location, its guard true) and defines state ``k+1``: the transition's updates, its
thread's new program counter, every other variable unchanged.  Every question the engine
answers is the reachability of a *goal*:

* a property: a location check's ``bad`` at its location, a transition check's ``bad`` when the
  transition fires, or a deadlock (some thread unfinished and no transition enabled; or a
  non-empty set of blocked threads each waiting for a member of the set, which in a finite
  wait-for graph is exactly a cycle among blocked threads,
  :mod:`checker.engines.explicit.deadlock`);
* a return code: some callback return with that code fires (the explicit engine's REFUSES is
  "OK never returns, some error does").

Goals are first proved unreachable, where possible, by an inductive invariant that z3 checks:
its candidates come from the complete reachable set of the unreduced explicit search when the
model has at most :data:`REACHABLE_LIMIT` states (value tuples of pairs of variables and of the
variables each goal reads; unreachable counterexamples to induction are blocked by new scopes),
else from seeded random runs in the pair domain, followed by Spacer (z3's
constrained-Horn-clause engine).  Goals that are reachable, or that no proof settled, go to
incremental bounded model checking, which unrolls the
relation one step at a time and asks each open goal at each depth, so the first depth that
answers gives the shortest counterexample; that trace is replayed through the reference
semantics (:func:`checker.trace.replay`).  While BMC runs, k-induction (with the variable
bounds and the pairwise distinctness of the states on the path) tries to close the goals
Spacer left open.  A goal neither refuted nor proved when the budget runs out makes the
verdict UNKNOWN, with the reason; a solver's ``unknown`` or error does the same.

This is the only module of migcheck that imports z3.
"""

from __future__ import annotations

import itertools
import operator
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum

import z3

from checker.engines.blocking import blocking_tables
from checker.engines.budget import Budget, BudgetExceeded
from checker.engines.explicit import search as explicit
from checker.engines.explicit.codegen import CompiledSystem, Packed, compile_system
from checker.engines.explicit.deadlock import deadlock_ending
from checker.result import ModeResult, PropertyResult, Statistics, Trace, Verdict
from checker.trace import Ending, ReplayError, replay, step_state
from model.kinds import ALL_PROPERTIES, Property, ReturnCode
from model.ts import Expr, Op, State, TransitionSystem, evaluate, variables_of

ENGINE = "z3"
DEFAULT_TIMEOUT = 60.0
SEED = 0
SAMPLES = 100_000
REACHABLE_LIMIT = 200_000


# ---------------------------------------------------------------- session


class Outcome(Enum):
    """A solver's answer; UNKNOWN is an outcome in its own right, never read as UNSAT."""

    SAT = "sat"
    UNSAT = "unsat"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    reason: str = ""


class OutOfTime(Exception):
    """The time budget ran out between solver calls."""


class Session:
    """One z3 context and its solvers: the single place the seed and the timeouts are set.

    Every solver call gets the time left until ``deadline`` as its timeout, so no call can run
    past the budget; ``unknown`` and z3 errors come back as :attr:`Outcome.UNKNOWN` with the
    reason.  :meth:`scope` is push/pop as a context manager.
    """

    def __init__(self, deadline: float, seed: int = SEED) -> None:
        self.context = z3.Context()
        self.deadline = deadline
        self.seed = seed
        self.calls = 0
        self.solver = self.new_solver()

    def new_solver(self) -> z3.Solver:
        solver = z3.Solver(ctx=self.context)
        solver.set("random_seed", self.seed)
        return solver

    def milliseconds_left(self) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise OutOfTime()
        return max(1, int(min(left, 3_600_000.0) * 1000))

    @contextmanager
    def scope(self, solver: z3.Solver | None = None) -> Iterator[z3.Solver]:
        chosen = self.solver if solver is None else solver
        chosen.push()
        try:
            yield chosen
        finally:
            chosen.pop()

    def check(self, solver: z3.Solver | None = None, limit_ms: int | None = None) -> Answer:
        chosen = self.solver if solver is None else solver
        budget = self.milliseconds_left()
        chosen.set("timeout", budget if limit_ms is None else min(budget, limit_ms))
        return self._answer(chosen.check, chosen.reason_unknown)

    def fixedpoint(self) -> z3.Fixedpoint:
        engine = z3.Fixedpoint(ctx=self.context)
        engine.set("engine", "spacer")
        engine.set("spacer.random_seed", self.seed)
        return engine

    def query(self, engine: z3.Fixedpoint, goal: z3.BoolRef, limit_ms: int) -> Answer:
        engine.set("timeout", min(self.milliseconds_left(), limit_ms))
        return self._answer(lambda: engine.query(goal), engine.reason_unknown)

    def _answer(self, run: Callable[[], object], reason: Callable[[], str]) -> Answer:
        """One solver call: sat, unsat, or unknown with z3's reason (an exception included)."""
        self.calls += 1
        try:
            result = run()
        except z3.Z3Exception as error:
            return Answer(Outcome.UNKNOWN, f"z3 error: {error}")
        if result == z3.sat:
            return Answer(Outcome.SAT)
        if result == z3.unsat:
            return Answer(Outcome.UNSAT)
        return Answer(Outcome.UNKNOWN, str(reason()))


# ---------------------------------------------------------------- encoding


def _natural(op: Op) -> bool:
    """Whether an operator yields a z3 boolean (else an integer)."""
    return op in (Op.EQ, Op.NE, Op.LT, Op.LE, Op.AND, Op.OR, Op.NOT)


class _Encoding:
    """Templates over one symbolic state (``now``), the next one (``next``) and the number of
    the transition taken (``step``); :meth:`at` instantiates a template at depth ``k``."""

    def __init__(self, system: TransitionSystem, context: z3.Context, bits: int | None = None
                 ) -> None:
        self.system = system
        self.context = context
        self.bits = bits
        self.now = self.state("now")
        self.next = self.state("next")
        self.step = z3.Int("step", context)
        self.member = [z3.Bool(f"cycle[{t.name}]", context) for t in system.threads]
        self._cache: dict[int, z3.ExprRef] = {}
        self.enabled = [
            z3.And(
                self.now[system.threads[t.thread].pc] == t.source,
                self.boolean(t.guard),
                self.context,
            )
            for t in system.transitions
        ]
        self.init = z3.And(
            [
                z3.Or([value == start for start in variable.initial], self.context)
                for value, variable in zip(self.now, system.variables, strict=True)
            ],
            self.context,
        )
        self.bounds = self.bounds_of(self.now)
        self.relation = self._relation()

    # ------------------------------------------------------------ terms

    def state(self, tag: str) -> list[z3.ArithRef]:
        return [self.constant(f"{v.name}@{tag}") for v in self.system.variables]

    def constant(self, name: str) -> z3.ArithRef:
        if self.bits is None:
            return z3.Int(name, self.context)
        return z3.BitVec(name, self.bits, self.context)

    def value(self, number: int) -> z3.ArithRef:
        if self.bits is None:
            return z3.IntVal(number, self.context)
        return z3.BitVecVal(number, self.bits, self.context)

    def sort(self) -> z3.SortRef:
        if self.bits is None:
            return z3.IntSort(self.context)
        return z3.BitVecSort(self.bits, self.context)

    def bounds_of(self, state: Sequence[z3.ArithRef]) -> z3.BoolRef:
        return z3.And(
            [
                z3.And(variable.low <= value, value <= variable.high)
                for value, variable in zip(state, self.system.variables, strict=True)
            ],
            self.context,
        )

    def _term(self, expr: Expr) -> z3.ExprRef:
        """``expr`` over ``now`` in its natural sort (iterative: no recursion limit)."""
        cache = self._cache
        stack: list[tuple[Expr, bool]] = [(expr, False)]
        while stack:
            node, ready = stack.pop()
            if id(node) in cache:
                continue
            if not ready and node.args:
                stack.append((node, True))
                stack.extend((arg, False) for arg in node.args if id(arg) not in cache)
                continue
            cache[id(node)] = self._build(node)
        return cache[id(expr)]

    def _build(self, node: Expr) -> z3.ExprRef:
        op = node.op
        if op is Op.CONST:
            return self.value(node.value)
        if op is Op.VAR:
            return self.now[node.value]
        args = node.args
        if op is Op.AND:
            return z3.And([self._bool_of(a) for a in args], self.context)
        if op is Op.OR:
            return z3.Or([self._bool_of(a) for a in args], self.context)
        if op is Op.NOT:
            return z3.Not(self._bool_of(args[0]), self.context)
        if op is Op.ITE:
            return z3.If(self._bool_of(args[0]), self._int_of(args[1]), self._int_of(args[2]))
        left, right = self._int_of(args[0]), self._int_of(args[1])
        if op is Op.EQ:
            return left == right
        if op is Op.NE:
            return left != right
        if op is Op.LT:
            return left < right
        if op is Op.LE:
            return left <= right
        if op is Op.ADD:
            return left + right
        if op is Op.SUB:
            return left - right
        raise ValueError(f"unknown operator {op}")

    def _bool_of(self, node: Expr) -> z3.BoolRef:
        term = self._cache[id(node)]
        if _natural(node.op):
            return term
        return term != 0

    def _int_of(self, node: Expr) -> z3.ArithRef:
        term = self._cache[id(node)]
        if _natural(node.op):
            return z3.If(term, self.value(1), self.value(0))
        return term

    def boolean(self, expr: Expr) -> z3.BoolRef:
        """``expr`` over ``now`` read as a condition (non-zero is true, as in model.ts)."""
        self._term(expr)
        return self._bool_of(expr)

    def integer(self, expr: Expr) -> z3.ArithRef:
        self._term(expr)
        return self._int_of(expr)

    # ------------------------------------------------------------ the transition relation

    def successor_values(self, index: int) -> list[z3.ArithRef]:
        """The state after transition ``index`` fires in ``now``."""
        transition = self.system.transitions[index]
        values = list(self.now)
        for target, expr in transition.updates:
            values[target] = self.integer(expr)
        values[self.system.threads[transition.thread].pc] = self.value(transition.target)
        return values

    def _relation(self) -> z3.BoolRef:
        count = len(self.system.transitions)
        parts: list[z3.BoolRef] = [self.step >= 0, self.step < count]
        writes: list[list[tuple[int, z3.ArithRef]]] = [[] for _ in self.system.variables]
        for index, transition in enumerate(self.system.transitions):
            parts.append(z3.Implies(self.step == index, self.enabled[index]))
            pc = self.system.threads[transition.thread].pc
            for target, expr in transition.updates:
                if target != pc:
                    writes[target].append((index, self.integer(expr)))
            writes[pc].append((index, self.value(transition.target)))
        for variable, assigned in enumerate(writes):
            value: z3.ArithRef = self.now[variable]
            for index, expr in reversed(assigned):
                value = z3.If(self.step == index, expr, value)
            parts.append(self.next[variable] == value)
        return z3.And(parts, self.context)

    # ------------------------------------------------------------ instantiation

    def at(self, template: z3.ExprRef, frame: Sequence[z3.ArithRef], depth_tag: str,
           following: Sequence[z3.ArithRef] | None = None) -> z3.ExprRef:
        pairs: list[tuple[z3.ExprRef, z3.ExprRef]] = list(zip(self.now, frame, strict=True))
        if following is not None:
            pairs += list(zip(self.next, following, strict=True))
        pairs.append((self.step, z3.Int(f"step@{depth_tag}", self.context)))
        pairs += [
            (m, z3.Bool(f"cycle[{t.name}]@{depth_tag}", self.context))
            for m, t in zip(self.member, self.system.threads, strict=True)
        ]
        return z3.substitute(template, *pairs)

    # ------------------------------------------------------------ deadlock

    def deadlock(self) -> z3.BoolRef:
        """A non-empty set of blocked threads that nothing still running can wake: the
        criterion of :mod:`checker.engines.blocking`, with the set as existential booleans.

        Member t must be blocked, and for every variable v its guards read at its location,
        every unfinished thread u outside the set that may write v from its location on
        (unless v is a lock owner held by a thread other than u) would wake it.
        """
        system = self.system
        context = self.context
        tables = blocking_tables(system)
        owned = set(tables.owned)
        count = len(system.threads)
        unfinished = [self.now[t.pc] != t.done for t in system.threads]
        moves: list[list[z3.BoolRef]] = [[] for _ in system.threads]
        for index, transition in enumerate(system.transitions):
            moves[transition.thread].append(self.enabled[index])
        stuck = z3.And(z3.Or(unfinished, context), z3.Not(z3.Or(self.enabled, context)), context)
        reads: list[dict[int, list[int]]] = [{} for _ in range(count)]
        for (thread, location), mask in tables.reads.items():
            for variable in _bits(mask):
                reads[thread].setdefault(variable, []).append(location)
        writes: list[dict[int, list[int]]] = [{} for _ in range(count)]
        for (thread, location), mask in tables.writes.items():
            for variable in _bits(mask):
                writes[thread].setdefault(variable, []).append(location)

        def at(thread: int, locations: list[int]) -> z3.BoolRef:
            pc = self.now[system.threads[thread].pc]
            return z3.Or([pc == location for location in locations], context)

        members = []
        for t in range(count):
            blocked = z3.And(unfinished[t], z3.Not(z3.Or(moves[t], context)), context)
            woken = []
            for variable, locations in reads[t].items():
                for u in range(count):
                    if u == t or variable not in writes[u]:
                        continue
                    may_write = [unfinished[u], at(u, writes[u][variable])]
                    if variable in owned:
                        owner = self.now[variable]
                        may_write.append(z3.Or(owner == 0, owner == u + 1, context))
                    woken.append(
                        z3.And(at(t, locations), z3.Not(self.member[u]), *may_write, context)
                    )
            members.append(
                z3.Implies(
                    self.member[t], z3.And(blocked, z3.Not(z3.Or(woken, context)), context)
                )
            )
        stuck_set = z3.And(z3.Or(self.member, context), *members)
        return z3.Or(stuck, stuck_set)


# ---------------------------------------------------------------- goals


@dataclass(slots=True)
class _Goal:
    """Something whose reachability decides a verdict: a property's violation or a return.

    ``state`` holds in a state where the goal is met (for proofs); a counterexample of length
    ``k`` ends with ``arrival`` in state ``k`` or with ``firing`` on the last step.
    """

    property: Property | None
    code: ReturnCode | None
    state: z3.BoolRef
    arrival: z3.BoolRef | None
    firing: z3.BoolRef | None
    reachable: bool | None = None
    how: str = ""
    unknown: list[str] = field(default_factory=list)
    path: tuple[State, list[int]] | None = None

    def label(self) -> str:
        if self.property is not None:
            return self.property.value
        return f"return {self.code.name if self.code is not None else '?'}"


def _goals(encoding: _Encoding, properties: frozenset[Property]) -> list[_Goal]:
    system = encoding.system
    context = encoding.context
    goals: list[_Goal] = []
    for prop in ALL_PROPERTIES:
        if prop not in properties:
            continue
        arrivals = [
            z3.And(
                encoding.now[system.threads[lc.thread].pc] == lc.location,
                encoding.boolean(lc.check.bad),
            )
            for lc in system.location_checks
            if lc.check.property is prop and not lc.check.finding
        ]
        if prop is Property.DEADLOCK:
            arrivals.append(encoding.deadlock())
        fired_in_state = []
        fired_by_step = []
        for index, transition in enumerate(system.transitions):
            for check in transition.checks:
                if check.property is prop and not check.finding:
                    bad = encoding.boolean(check.bad)
                    fired_in_state.append(z3.And(encoding.enabled[index], bad))
                    fired_by_step.append(z3.And(encoding.step == index, bad))
        arrival = z3.Or(arrivals, context) if arrivals else None
        firing = z3.Or(fired_by_step, context) if fired_by_step else None
        goal = _Goal(prop, None, z3.Or(arrivals + fired_in_state, context), arrival, firing)
        if arrival is None and firing is None:
            goal.reachable, goal.how = False, "no check"
        goals.append(goal)
    codes = sorted({t.returns for t in system.transitions if t.returns is not None},
                   key=lambda c: (c is not ReturnCode.OK, c.value))
    for code in codes:
        numbers = [i for i, t in enumerate(system.transitions) if t.returns is code]
        goals.append(
            _Goal(
                None,
                code,
                z3.Or([encoding.enabled[i] for i in numbers], context),
                None,
                z3.Or([encoding.step == i for i in numbers], context),
            )
        )
    return goals


# ---------------------------------------------------------------- the engine


@dataclass(slots=True)
class _Run:
    system: TransitionSystem
    session: Session
    encoding: _Encoding
    goals: list[_Goal]
    max_depth: int | None
    depth: int = 0
    invariant: _Projections | None = None
    proof_log: dict[str, str] = field(default_factory=dict)

    def open_goals(self) -> list[_Goal]:
        return [g for g in self.goals if g.reachable is None and not g.unknown and self.wanted(g)]

    def wanted(self, goal: _Goal) -> bool:
        """Return codes other than OK matter only while OK is not known to return."""
        if goal.code is None or goal.code is ReturnCode.OK:
            return True
        return not any(g.code is ReturnCode.OK and g.reachable for g in self.goals)

    # ------------------------------------------------------------ invariants

    def reachable_invariant(self, limit: int) -> bool:
        """Prove goals by an invariant whose candidates are the complete reachable set.

        The unreduced explicit search enumerates every reachable state (when there are at most
        ``limit``); the candidate invariant keeps, for every pair of variables and for the
        variables each goal reads, the value tuples that occur.  z3 then closes it (Houdini:
        clauses that fail initiation or consecution are dropped) and asks each goal against it,
        so the proof rests on z3 alone: a state the search missed can only weaken the invariant
        or leave a goal open, never prove one.  A return code counts as reachable when a path
        of the search to it replays through the reference semantics.  False when the state
        space is larger than ``limit``, the search could not finish, or z3 gave up.
        """
        started = time.monotonic()
        system = self.system
        compiled = compile_system(system)
        seconds = max(0.0, self.session.deadline - started)
        search = explicit._Search(system, Budget(max_states=limit, timeout=seconds),
                                 frozenset(ALL_PROPERTIES), None, compiled,
                                 blocking_tables(system))
        try:
            search.run()
        except BudgetExceeded as exhausted:
            self.proof_log["reachable invariant"] = f"not tried: {exhausted.reason}"
            return False
        if search.all_found():
            self.proof_log["reachable invariant"] = "not tried: the search stopped early"
            return False
        invariant = _Projections(self.encoding, _goal_scopes(system))
        states = [compiled.unpack(packed) for packed in search.states]
        invariant.include_all(states)
        reachable = set(states)

        def block(state: State) -> bool:
            if state in reachable:
                return False
            invariant.add_scope(_separating_scope(states, state), states)
            return True

        self.settle_returns(search)
        claimed = [g for g in self.goals if g.reachable is None and (
            g.property is None or g.property not in search.found)]
        kept = invariant.close(self.session, self.encoding,
                               claims=[z3.Not(g.state) for g in claimed], block=block)
        closed = kept is not None
        spent = time.monotonic() - started
        self.proof_log["reachable invariant"] = (
            f"{len(search.states)} states, {len(invariant.scopes)} scopes, "
            f"{'inductive' if closed else 'not closed'} after {invariant.rounds} rounds "
            f"({invariant.dropped} clauses dropped) in {spent:.2f} s"
        )
        if kept is not None:
            for goal, survived in zip(claimed, kept, strict=True):
                if survived:
                    goal.reachable, goal.how = False, "reachable invariant"
            self.prove_by(invariant, "reachable invariant")
        return closed

    def settle_returns(self, search: explicit._Search) -> None:
        """Mark a return code reachable when the search reached a state that returns it and
        the path there replays through :func:`checker.trace.step_state`."""
        system = self.system
        wanted = {g.code: g for g in self.goals if g.code is not None and g.reachable is None}
        returning = [(i, t) for i, t in enumerate(system.transitions) if t.returns in wanted]
        if not returning:
            return
        for number, packed in enumerate(search.states):
            state = search.compiled.unpack(packed)
            for index, transition in returning:
                goal = None if transition.returns is None else wanted.get(transition.returns)
                if (goal is None or goal.reachable
                        or state[system.threads[transition.thread].pc] != transition.source
                        or not evaluate(transition.guard, state)):
                    continue
                root, path, _ = search.path_to(number)
                if _replays(system, search.compiled.unpack(search.states[root]), path + [index]):
                    goal.reachable, goal.how = True, "returned on a replayed path"
            if all(g.reachable for g in wanted.values()):
                return

    def pair_invariant(self, samples: int) -> None:
        """Prove the goals that contradict an inductive invariant of the pair domain."""
        started = time.monotonic()
        system = self.system
        width = len(system.variables)
        invariant = _Projections(self.encoding, itertools.combinations(range(width), 2))
        compiled = compile_system(system)
        chooser = random.Random(SEED)
        starts = [compiled.pack(s) for s in itertools.islice(system.initial_states(), 64)]
        fired: set[int] = set()
        for state in _sample(compiled, chooser, starts, samples, fired):
            invariant.include(state)
        for goal in self.goals:
            if goal.code is not None and any(
                system.transitions[i].returns is goal.code for i in fired
            ):
                goal.reachable, goal.how = True, "returned on a sampled run"

        def grow(state: State) -> None:
            for found in _sample(compiled, chooser, [compiled.pack(state)], samples // 20):
                invariant.include(found)

        closed = invariant.close(self.session, self.encoding, grow) is not None
        spent = time.monotonic() - started
        self.proof_log["pair invariant"] = (
            f"{'inductive' if closed else 'not closed'} after {invariant.rounds} rounds "
            f"in {spent:.2f} s"
        )
        if closed:
            self.invariant = invariant
            self.prove_by(invariant, "pair invariant")

    def prove_by(self, invariant: _Projections, name: str) -> None:
        """Settle as unreachable every open goal that contradicts an inductive ``invariant``."""
        solver = self.session.new_solver()
        solver.add(invariant.formula(self.encoding.now))
        for goal in self.goals:
            if goal.reachable is not None:
                continue
            with self.session.scope(solver):
                solver.add(goal.state)
                answer = self.session.check(solver)
            if answer.outcome is Outcome.UNSAT:
                goal.reachable, goal.how = False, name

    # ------------------------------------------------------------ Spacer

    def spacer(self) -> None:
        """Ask Spacer about each open goal: unsat proves it unreachable at every depth."""
        encoding = self.encoding
        session = self.session
        context = encoding.context
        sorts = [z3.IntSort(context)] * len(self.system.variables)
        reach = z3.Function("reach", *sorts, z3.BoolSort(context))
        engine = session.fixedpoint()
        engine.register_relation(reach)
        engine.declare_var(*encoding.now, *encoding.member)
        engine.rule(reach(*encoding.now), encoding.init)
        known = ([] if self.invariant is None
                 else [self.invariant.formula(encoding.now)])
        for index in range(len(self.system.transitions)):
            engine.rule(
                reach(*encoding.successor_values(index)),
                [reach(*encoding.now), encoding.enabled[index], *known],
            )
        for goal in self.goals:
            if goal.reachable is not None or not self.wanted(goal):
                continue
            pending = [g for g in self.goals if g.reachable is None and self.wanted(g)]
            share = max(1, session.milliseconds_left() // (4 * max(1, len(pending))))
            started = time.monotonic()
            answer = session.query(engine, z3.And(reach(*encoding.now), goal.state), share)
            spent = time.monotonic() - started
            self.proof_log[goal.label()] = f"spacer {answer.outcome.value} in {spent:.2f} s"
            if answer.outcome is Outcome.UNSAT:
                goal.reachable, goal.how = False, "spacer"
            elif answer.outcome is Outcome.SAT and goal.code is not None:
                goal.reachable, goal.how = True, "spacer"
            elif answer.outcome is Outcome.SAT:
                goal.how = "spacer says reachable"
            else:
                goal.how = f"spacer: {answer.reason or 'unknown'}"

    # ------------------------------------------------------------ BMC and k-induction

    def frame(self, depth: int) -> list[z3.ArithRef]:
        return [self.encoding.constant(f"{v.name}@{depth}")
                for v in self.system.variables]

    def met_at(self, goal: _Goal, depth: int) -> z3.BoolRef:
        """The goal met by a path of exactly ``depth`` steps."""
        parts = []
        if goal.arrival is not None:
            parts.append(self.encoding.at(goal.arrival, self.frame(depth), str(depth)))
        if goal.firing is not None and depth > 0:
            parts.append(
                self.encoding.at(goal.firing, self.frame(depth - 1), str(depth - 1))
            )
        return z3.Or(parts, self.encoding.context)

    def bmc(self) -> None:
        session = self.session
        encoding = self.encoding
        solver = session.solver
        solver.add(encoding.at(encoding.init, self.frame(0), "0"))
        induction = _Induction(self)
        depth = 0
        while True:
            self.depth = depth
            for goal in self.open_goals():
                with session.scope():
                    solver.add(self.met_at(goal, depth))
                    answer = session.check()
                    if answer.outcome is Outcome.SAT:
                        goal.reachable = True
                        goal.how = f"bmc at depth {depth}"
                        goal.path = self.path(solver.model(), depth)
                    elif answer.outcome is Outcome.UNKNOWN:
                        goal.unknown.append(
                            f"the solver gave up at depth {depth} ({answer.reason})"
                        )
            for goal in self.open_goals():
                if induction.proves(goal, depth):
                    goal.reachable, goal.how = False, f"{depth}-induction"
            if not self.open_goals():
                return
            if self.max_depth is not None and depth >= self.max_depth:
                for goal in self.open_goals():
                    goal.unknown.append(
                        f"depth budget of {self.max_depth} steps ran out"
                    )
                return
            solver.add(
                encoding.at(encoding.relation, self.frame(depth), str(depth),
                            self.frame(depth + 1))
            )
            depth += 1

    def path(self, model: z3.ModelRef, depth: int) -> tuple[State, list[int]]:
        initial = tuple(
            model.eval(value, model_completion=True).as_long() for value in self.frame(0)
        )
        steps = [
            model.eval(z3.Int(f"step@{k}", self.encoding.context),
                       model_completion=True).as_long()
            for k in range(depth)
        ]
        return initial, steps


class _Projections:
    """A candidate invariant: for chosen tuples of variables (*scopes*), the value tuples they
    hold together in the states seen so far.

    Read as clauses, it is Houdini's candidate set: one clause "these variables never hold these
    values" for every combination of the variables' seen values that has not been seen
    together.  Including a state drops exactly the clauses it falsifies.  The invariant is the
    conjunction of "the scope's values are one of the seen tuples", with every variable's own
    values as a scope of one (so the formula also bounds every variable).
    """

    def __init__(self, encoding: _Encoding, scopes: Iterable[tuple[int, ...]]) -> None:
        self.encoding = encoding
        width = len(encoding.system.variables)
        chosen: set[tuple[int, ...]] = {(v,) for v in range(width)}
        chosen.update(tuple(sorted(set(scope))) for scope in scopes if len(set(scope)) > 1)
        self.scopes: list[tuple[int, ...]] = sorted(chosen, key=lambda s: (len(s), s))
        self.seen: list[set[tuple[int, ...]]] = [set() for _ in self.scopes]
        self.singles: list[set[int]] = [set() for _ in range(width)]
        self.rounds = 0
        self.dropped = 0
        self.parts: list[z3.BoolRef | None] = [None] * len(self.scopes)

    def include(self, state: State) -> int:
        """Add ``state``'s projections; the number of clauses it falsified."""
        grew = 0
        for scope, seen in zip(self.scopes, self.seen, strict=True):
            values = tuple(state[v] for v in scope)
            if values not in seen:
                seen.add(values)
                grew += 1
                self.parts = [None] * len(self.scopes)
                if len(scope) == 1:
                    self.singles[scope[0]].add(values[0])
        return grew

    def include_all(self, states: Sequence[State]) -> None:
        """Add the projections of many states (one pass per scope)."""
        self.parts = [None] * len(self.scopes)
        for scope, seen in zip(self.scopes, self.seen, strict=True):
            if len(scope) == 1:
                seen.update((state[scope[0]],) for state in states)
                self.singles[scope[0]].update(value for (value,) in seen)
            else:
                seen.update(map(operator.itemgetter(*scope), states))

    def add_scope(self, scope: tuple[int, ...], states: Sequence[State]) -> None:
        """A new scope, holding the projections of ``states``."""
        self.scopes.append(scope)
        self.seen.append(set(map(operator.itemgetter(*scope), states)) if len(scope) > 1
                         else {(state[scope[0]],) for state in states})
        self.parts.append(None)

    def formula(self, state: Sequence[z3.ArithRef]) -> z3.BoolRef:
        """The invariant over ``state``: built once over ``now`` (per change), then renamed."""
        encoding = self.encoding
        context = encoding.context
        for number, (scope, seen) in enumerate(zip(self.scopes, self.seen, strict=True)):
            if self.parts[number] is not None:
                continue
            if len(scope) > 1 and len(seen) == _product(len(self.singles[v]) for v in scope):
                self.parts[number] = z3.BoolVal(True, context)
            else:
                self.parts[number] = _trie(scope, sorted(seen), encoding.now, context)
        template = z3.And([p for p in self.parts if p is not None], context)
        if state is encoding.now:
            return template
        return z3.substitute(template, *zip(encoding.now, state, strict=True))

    def close(self, session: Session, encoding: _Encoding,
              grow: Callable[[State], None] | None = None,
              claims: Sequence[z3.BoolRef] = (),
              block: Callable[[State], bool] | None = None) -> list[bool] | None:
        """Drop clauses until Init => Inv and Inv /\\ T => Inv'; None if the solver gave up.

        ``claims`` are further candidate clauses (formulas over ``encoding.now``, such as "this
        goal is not met").  Each counterexample is a state (initial, or the successor of a
        state inside the invariant) outside the invariant: its projections are included, the
        claims it falsifies are dropped, and ``grow``, if given, may include more states
        reached from it.  But first ``block``, if given, may strengthen the invariant so that it
        excludes the counterexample's predecessor (returning True); then nothing is dropped.
        Returns which claims survived: they hold in every reachable state.
        """
        kept = [True] * len(claims)

        def holds(state: Sequence[z3.ArithRef], tag: str) -> z3.BoolRef:
            parts = [encoding.at(claim, state, tag)
                     for claim, keep in zip(claims, kept, strict=True) if keep]
            return z3.And(self.formula(state), *parts)

        questions = ((encoding.init, encoding.now), (encoding.relation, encoding.next))
        for premise, after in questions:
            solver = session.new_solver()
            solver.add(premise)
            while True:
                self.rounds += 1
                with session.scope(solver):
                    if after is encoding.next:
                        solver.add(holds(encoding.now, "inv-now"))
                    solver.add(z3.Not(holds(after, "inv-after")))
                    answer = session.check(solver)
                    if answer.outcome is Outcome.UNSAT:
                        break
                    if answer.outcome is Outcome.UNKNOWN:
                        return None
                    model = solver.model()
                    if after is encoding.next and block is not None and block(tuple(
                            model.eval(v, model_completion=True).as_long()
                            for v in encoding.now)):
                        continue
                    state = tuple(model.eval(v, model_completion=True).as_long() for v in after)
                    for number, claim in enumerate(claims):
                        if kept[number] and z3.is_false(model.eval(
                                encoding.at(claim, after, "inv-after"), model_completion=True)):
                            kept[number] = False
                            self.dropped += 1
                self.dropped += self.include(state)
                if grow is not None:
                    grow(state)
        return kept


def _separating_scope(states: Sequence[State], outside: State) -> tuple[int, ...]:
    """A few variables on which ``outside`` agrees with none of ``states`` (``outside`` is not
    one of them): greedily the variable that the fewest still-matching states share with it.

    Projected on the result, the states exclude ``outside``, so the new scope blocks it.
    Complexity: O(S * V) per variable chosen, for S states of V variables.
    """
    matching = list(states)
    chosen: list[int] = []
    free = list(range(len(outside)))
    while matching:
        best = min(free, key=lambda v: sum(1 for s in matching if s[v] == outside[v]))
        free.remove(best)
        chosen.append(best)
        matching = [s for s in matching if s[best] == outside[best]]
    return tuple(sorted(chosen))


def _product(sizes: Iterator[int]) -> int:
    total = 1
    for size in sizes:
        total *= size
    return total


def _trie(scope: tuple[int, ...], rows: list[tuple[int, ...]], state: Sequence[z3.ArithRef],
          context: z3.Context) -> z3.BoolRef:
    """``state`` projected on ``scope`` is one of ``rows``, as a decision tree over the scope's
    variables in order: rows that share a prefix share its test (built leaves up, no recursion).
    """
    nodes: dict[tuple[int, ...], z3.BoolRef] = {}
    for level in range(len(scope), 0, -1):
        groups: dict[tuple[int, ...], list[z3.BoolRef]] = {}
        for prefix in sorted({row[:level] for row in rows}):
            here = state[scope[level - 1]] == prefix[-1]
            below = nodes.get(prefix)
            groups.setdefault(prefix[:-1], []).append(
                here if below is None else z3.And(here, below, context))
        nodes = {prefix: z3.Or(terms, context) if len(terms) > 1 else terms[0]
                 for prefix, terms in groups.items()}
    return nodes.get((), z3.BoolVal(False, context))


def _goal_scopes(system: TransitionSystem) -> list[tuple[int, ...]]:
    """Every pair of variables, and for each goal the variables deciding it.

    A transition check is decided by its thread's pc and what its guard and ``bad`` read; a
    location check by the pc and ``bad``; a return by the pc and the guard.  Projected on such
    a scope, the reachable states contain a goal state exactly when some reachable state is
    one.  Whether a thread is blocked, and on whom it waits, is decided by its pc and what its
    guards and ``Wait`` holders read: one scope per thread (a scope of every pc and guard would
    be nearly the whole state, and as slow to check as the states themselves).
    """
    width = len(system.variables)
    scopes: list[tuple[int, ...]] = list(itertools.combinations(range(width), 2))
    blocked: list[set[int]] = [{t.pc} for t in system.threads]
    for transition in system.transitions:
        pc = system.threads[transition.thread].pc
        guard = variables_of(transition.guard)
        blocked[transition.thread] |= guard
        for wait in transition.waits:
            blocked[transition.thread] |= variables_of(wait.holder)
        for check in transition.checks:
            scopes.append(tuple(sorted({pc} | guard | variables_of(check.bad))))
        if transition.returns is not None:
            scopes.append(tuple(sorted({pc} | guard)))
    for location_check in system.location_checks:
        pc = system.threads[location_check.thread].pc
        scopes.append(tuple(sorted({pc} | variables_of(location_check.check.bad))))
    scopes += [tuple(sorted(scope)) for scope in blocked]
    return scopes


def _replays(system: TransitionSystem, initial: State, path: list[int]) -> bool:
    """Whether ``path`` runs from an initial state under the reference semantics."""
    if any(v not in variable.initial for v, variable in zip(initial, system.variables,
                                                             strict=True)):
        return False
    state = initial
    try:
        for index in path:
            state = step_state(system, state, index)
    except ReplayError:
        return False
    return True


def _sample(compiled: CompiledSystem, chooser: random.Random, initial: list[Packed],
            samples: int, fired: set[int] | None = None) -> Iterator[State]:
    """Distinct states met on seeded random runs from ``initial`` (candidates, no proof).

    States reached from a state the invariant must contain are successors the least fixpoint
    in the pair domain contains anyway, so sampling from them never weakens the invariant.
    Runs from initial states are real executions: ``fired`` collects the transitions they take.
    """
    seen: set[Packed] = set()
    steps = 0
    while steps < samples:
        packed = chooser.choice(initial)
        while steps < samples:
            steps += 1
            if packed not in seen:
                seen.add(packed)
                yield compiled.unpack(packed)
            out, _ = compiled.successors(packed)
            if not out:
                break
            number, packed = chooser.choice(out)
            if fired is not None:
                fired.add(number)


class _Induction:
    """k-induction: no path of ``k`` goal-free distinct states steps into the goal.

    The path is strengthened with the variable bounds when they are inductive (they are for a
    well-formed model) and with the pairwise distinctness of its states, which makes the method
    complete once ``k`` passes the longest loop-free path.
    """

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.invariant = run.invariant
        self.session = run.session
        self.encoding = run.encoding
        self.solver = run.session.new_solver()
        self.frames: list[list[z3.ArithRef]] = []
        self.strengthen = self.bounds_inductive()

    def bounds_inductive(self) -> bool:
        encoding = self.encoding
        with self.session.scope(self.solver) as solver:
            solver.add(encoding.bounds, encoding.relation,
                       z3.Not(encoding.bounds_of(encoding.next)))
            return self.session.check(solver).outcome is Outcome.UNSAT

    def frame(self, depth: int) -> list[z3.ArithRef]:
        while len(self.frames) <= depth:
            number = len(self.frames)
            frame = [self.encoding.constant(f"{v.name}@i{number}")
                     for v in self.run.system.variables]
            if self.strengthen:
                self.solver.add(self.encoding.bounds_of(frame))
            if self.invariant is not None:
                self.solver.add(self.invariant.formula(frame))
            if number > 0:
                previous = self.frames[number - 1]
                self.solver.add(self.encoding.at(self.encoding.relation, previous,
                                                 f"i{number - 1}", frame))
                for older in self.frames:
                    self.solver.add(z3.Or([a != b for a, b in zip(older, frame, strict=True)],
                                          self.encoding.context))
            self.frames.append(frame)
        return self.frames[depth]

    def proves(self, goal: _Goal, depth: int) -> bool:
        """Base case: BMC found no goal state on paths shorter than ``depth``."""
        if depth == 0:
            return False
        frames = [self.frame(k) for k in range(depth + 1)]
        encoding = self.encoding
        with self.session.scope(self.solver) as solver:
            for k in range(depth):
                solver.add(z3.Not(encoding.at(goal.state, frames[k], f"i{k}")))
            solver.add(encoding.at(goal.state, frames[depth], f"i{depth}"))
            left = self.session.milliseconds_left()
            answer = self.session.check(solver, max(1, min(left // 20, 2000)))
        return answer.outcome is Outcome.UNSAT


# ---------------------------------------------------------------- traces


def _ending(system: TransitionSystem, prop: Property, path: list[int], states: list[State]
            ) -> Ending:
    """Why the concrete path violates ``prop``: its last step, its last state, or a deadlock."""
    if path:
        last = system.transitions[path[-1]]
        for check in last.checks:
            if check.property is prop and not check.finding and evaluate(check.bad, states[-2]):
                return Ending(prop, check.message, last.step.span)
    final = states[-1]
    for location_check in system.location_checks:
        check = location_check.check
        pc = system.threads[location_check.thread].pc
        if (check.property is prop and not check.finding and final[pc] == location_check.location
                and evaluate(check.bad, final)):
            return Ending(prop, check.message, location_check.step.span)
    if prop is Property.DEADLOCK:
        return _deadlock_ending(system, final)
    raise ReplayError(f"the z3 trace of {prop.value} does not end in a violation")


def _deadlock_ending(system: TransitionSystem, final: State) -> Ending:
    compiled = compile_system(system)
    packed = compiled.pack(final)
    out, stuck = compiled.successors(packed)
    ending = deadlock_ending(system, compiled, blocking_tables(system), packed, bool(out), stuck)
    if ending is None:
        raise ReplayError("the deadlock trace ends in a state where no thread is stuck for ever")
    return ending


def _trace(system: TransitionSystem, goal: _Goal) -> Trace:
    if goal.path is None or goal.property is None:
        raise ReplayError(f"no z3 path for {goal.label()}")
    initial, path = goal.path
    states = [initial]
    for index in path:
        states.append(step_state(system, states[-1], index))
    ending = _ending(system, goal.property, path, states)
    return replay(system, initial, path, ending, states[1:])


# ---------------------------------------------------------------- entry point


def solver_version() -> str:
    """The z3 version in use, for reports and benchmarks (this module is the one importing z3)."""
    return str(z3.get_version_string())


def check(
    system: TransitionSystem,
    budget: Budget | None = None,
    properties: frozenset[Property] = frozenset(ALL_PROPERTIES),
) -> ModeResult:
    """Judge every property of ``system`` with z3 (same contract as :func:`explicit.check`).

    ``budget.timeout`` bounds the whole check (None: :data:`DEFAULT_TIMEOUT` seconds);
    ``budget.max_states`` bounds the BMC unrolling depth (a path of ``d`` steps visits ``d+1``
    states).  Memory is not bounded by this engine.
    """
    budget = budget or Budget()
    started = time.monotonic()
    timeout = budget.timeout if budget.timeout is not None else DEFAULT_TIMEOUT
    session = Session(started + timeout)
    encoding = _Encoding(system, session.context)
    goals = _goals(encoding, properties)
    run = _Run(system, session, encoding, goals, budget.max_states)
    try:
        if not run.reachable_invariant(REACHABLE_LIMIT):
            run.pair_invariant(SAMPLES)
            if run.open_goals():
                run.spacer()
        run.bmc()
    except OutOfTime:
        for goal in run.open_goals():
            goal.unknown.append(f"time budget of {timeout:g} s ran out")
    results: list[PropertyResult] = []
    reasons: list[str] = []
    for goal in goals:
        if goal.property is None:
            continue
        if goal.reachable and goal.path is not None:
            results.append(PropertyResult(goal.property, Verdict.VIOLATED, _trace(system, goal)))
        elif goal.reachable is False:
            results.append(PropertyResult(goal.property, Verdict.HOLDS))
        else:
            results.append(PropertyResult(goal.property, Verdict.UNKNOWN))
            reasons.append(_why(goal, run.depth))
    refused, code_reasons = _refused(run)
    violated = any(r.verdict is Verdict.VIOLATED for r in results)
    if not violated:
        reasons += code_reasons
    if violated:
        verdict = Verdict.VIOLATED
    elif reasons:
        verdict = Verdict.UNKNOWN
    elif refused:
        verdict = Verdict.REFUSES
    else:
        verdict = Verdict.HOLDS
    return ModeResult(
        spec=system.name,
        mode=system.mode,
        engine=ENGINE,
        verdict=verdict,
        properties=tuple(results),
        refused_with=refused,
        statistics=Statistics(0, session.calls, run.depth,
                              round(time.monotonic() - started, 3)),
        reason="; ".join(reasons) if verdict is Verdict.UNKNOWN else "",
    )


def _why(goal: _Goal, depth: int) -> str:
    detail = goal.unknown[-1] if goal.unknown else "not settled"
    return f"{goal.label()} neither refuted nor proved: {detail} (BMC reached depth {depth})"


def _refused(run: _Run) -> tuple[tuple[ReturnCode, ...], list[str]]:
    """The error codes returned when OK never is (else none), and what stayed undecided."""
    codes = [g for g in run.goals if g.code is not None]
    ok = [g for g in codes if g.code is ReturnCode.OK]
    if ok and ok[0].reachable:
        return (), []
    undecided = [g for g in codes if g.reachable is None]
    if undecided:
        return (), [_why(g, run.depth) for g in undecided]
    returned = sorted((g.code for g in codes if g.reachable and g.code is not None),
                      key=lambda c: c.value)
    return tuple(returned), []


def _bits(mask: int) -> list[int]:
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found
