"""Compile a transition system into Python functions for the explicit engine's hot loop.

States are stored as ``bytes``: each variable's value minus its lower bound, one byte each.
A system with a variable of more than 256 values (the program counter of a thread with more
locations, e.g. a long callback inlined for eight pages) stores its states as tuples of the same
numbers instead: indexing a state gives a variable's stored value either way, so the engine
reads both alike, and the one-byte case keeps exactly its generated code.  A tuple is as fast
to build and hash but costs about eight bytes per variable where ``bytes`` costs one
(docs/engines.md has the measurements), so it is only used where a byte cannot hold a value.

The successor function is generated source: one branch per thread on its program counter, one
guarded tuple display per transition, so a step costs a few comparisons and one allocation.
Guards, updates and checks come from the same :class:`model.ts.Expr` trees the z3 engine
encodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from model.ts import Expr, Op, Transition, TransitionSystem

Packed = bytes | tuple[int, ...]
SuccessorFn = Callable[[Packed], tuple[list[tuple[int, Packed]], list[int]]]
CheckFn = Callable[[Packed], bool]


@dataclass(frozen=True, slots=True)
class CompiledSystem:
    """The generated functions plus the packing of states."""

    successors: SuccessorFn
    transition_checks: tuple[tuple[tuple[int, CheckFn], ...], ...]
    location_checks: Callable[[Packed], list[int]]
    holders: tuple[tuple[tuple[int, str, Callable[[Packed], int]], ...], ...]
    lows: tuple[int, ...]
    by_location: dict[tuple[int, int], tuple[int, ...]]
    source: str
    wide: bool = False

    def pack(self, state: tuple[int, ...]) -> Packed:
        stored = tuple(v - low for v, low in zip(state, self.lows, strict=True))
        return stored if self.wide else bytes(stored)

    def unpack(self, packed: Packed) -> tuple[int, ...]:
        return tuple(v + low for v, low in zip(packed, self.lows, strict=True))


class _Emitter:
    def __init__(self, lows: tuple[int, ...]) -> None:
        self.lows = lows

    def expr(self, e: Expr, truth: bool = False) -> str:
        """Python for ``e``.  With ``truth`` only its truth is used (a guard, a check, a
        condition); otherwise its value is, and ``and``/``or`` must give 0 or 1, as the
        expression language's booleans are (Python's return an operand: ``2 and 3`` is 3)."""
        op = e.op
        if op is Op.CONST:
            return str(e.value)
        if op is Op.VAR:
            low = self.lows[e.value]
            return f"s[{e.value}]" if low == 0 else f"(s[{e.value}] + {low})"
        if op in (Op.AND, Op.OR):
            word = " and " if op is Op.AND else " or "
            joined = "(" + word.join(self.expr(a, True) for a in e.args) + ")"
            return joined if truth else f"(1 if {joined} else 0)"
        if op is Op.NOT:
            return f"(not {self.expr(e.args[0], True)})"
        if op is Op.ITE:
            cond, then, other = e.args
            return (f"({self.expr(then, truth)} if {self.expr(cond, True)} "
                    f"else {self.expr(other, truth)})")
        left, right = (self.expr(a) for a in e.args)
        symbol = {Op.EQ: "==", Op.NE: "!=", Op.LT: "<", Op.LE: "<=", Op.ADD: "+", Op.SUB: "-"}[op]
        return f"({left} {symbol} {right})"

    def stored(self, index: int, e: Expr) -> str:
        """The byte stored for variable ``index`` when it is assigned ``e``."""
        low = self.lows[index]
        value = self.expr(e)
        return value if low == 0 else f"({value} - {low})"


def compile_system(system: TransitionSystem) -> CompiledSystem:
    """Generate and load the successor, check and wait-for functions of ``system``."""
    wide = any(variable.high - variable.low > 255 for variable in system.variables)
    lows = tuple(v.low for v in system.variables)
    emit = _Emitter(lows)
    width = len(system.variables)
    lines = ["def successors(s):", "    out = []", "    stuck = []"]
    by_location: dict[tuple[int, int], list[int]] = {}
    for index, transition in enumerate(system.transitions):
        by_location.setdefault((transition.thread, transition.source), []).append(index)
    for thread_index, thread in enumerate(system.threads):
        lines.append(f"    pc = s[{thread.pc}]")
        locations = sorted(loc for (t, loc) in by_location if t == thread_index)
        keyword = "if"
        for location in locations:
            lines.append(f"    {keyword} pc == {location}:")
            keyword = "elif"
            lines.append("        moved = False")
            for index in by_location[(thread_index, location)]:
                lines.extend(_transition_lines(emit, system, index, width, wide))
            lines.append("        if not moved:")
            lines.append(f"            stuck.append({thread_index})")
        if locations:
            lines.append(f"    elif pc != {thread.done}:")
        else:
            lines.append(f"    if pc != {thread.done}:")
        lines.append(f"        stuck.append({thread_index})")
    lines.append("    return out, stuck")
    lines.append("")
    check_names: list[str] = []
    transition_checks: list[list[tuple[int, str]]] = [[] for _ in system.transitions]
    for index, transition in enumerate(system.transitions):
        for number, check in enumerate(transition.checks):
            name = f"check_{index}_{number}"
            lines.append(f"def {name}(s):")
            lines.append(f"    return bool({emit.expr(check.bad, True)})")
            transition_checks[index].append((number, name))
            check_names.append(name)
    lines.append("def location_checks(s):")
    lines.append("    found = []")
    for number, location_check in enumerate(system.location_checks):
        thread = system.threads[location_check.thread]
        lines.append(
            f"    if s[{thread.pc}] == {location_check.location} and "
            f"{emit.expr(location_check.check.bad, True)}:"
        )
        lines.append(f"        found.append({number})")
    lines.append("    return found")
    holder_names: list[list[tuple[int, str, str]]] = [[] for _ in system.transitions]
    for index, transition in enumerate(system.transitions):
        for number, wait in enumerate(transition.waits):
            name = f"holder_{index}_{number}"
            lines.append(f"def {name}(s):")
            lines.append(f"    return {emit.expr(wait.holder)}")
            holder_names[index].append((number, wait.resource, name))
    source = "\n".join(lines) + "\n"
    namespace: dict[str, object] = {}
    exec(compile(source, f"<migcheck model {system.name} {system.mode.value}>", "exec"), namespace)
    successors = namespace["successors"]
    location_fn = namespace["location_checks"]
    return CompiledSystem(
        successors=successors,  # type: ignore[arg-type]
        transition_checks=tuple(
            tuple((number, namespace[name]) for number, name in checks)  # type: ignore[misc]
            for checks in transition_checks
        ),
        location_checks=location_fn,  # type: ignore[arg-type]
        holders=tuple(
            tuple((number, resource, namespace[name]) for number, resource, name in waits)  # type: ignore[misc]
            for waits in holder_names
        ),
        lows=lows,
        by_location={key: tuple(value) for key, value in by_location.items()},
        source=source,
        wide=wide,
    )


def _transition_lines(
    emit: _Emitter, system: TransitionSystem, index: int, width: int, wide: bool
) -> list[str]:
    transition: Transition = system.transitions[index]
    pc = system.threads[transition.thread].pc
    assigned = {variable: emit.stored(variable, value) for variable, value in transition.updates}
    assigned[pc] = str(transition.target)
    cells = [assigned.get(i, f"s[{i}]") for i in range(width)]
    guard = emit.expr(transition.guard, True)
    state = f"({', '.join(cells)},)"
    body = f"out.append(({index}, {state if wide else f'bytes({state})'}))"
    return [
        f"        if {guard}:",
        "            moved = True",
        f"            {body}",
    ]
