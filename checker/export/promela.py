"""Export a transition system as a Promela model, so SPIN can check the same model.

Every thread becomes a process looping over its transitions, each one ``d_step`` (one atomic
step, as in migcheck); a transition's checks become ``assert`` statements evaluated before its
updates, and location checks become a monitor process that asserts whenever one holds.  A
thread that can no longer move before it finished is an invalid end state for SPIN, so SPIN
reports global deadlocks; it does not see a partial deadlock (threads stuck in a cycle while
another thread still runs), which migcheck reports and SPIN cannot.

Usage: ``migcheck export --promela SPEC --mode M`` then ``spin -a model.pml``,
``gcc -O2 -DSAFETY -o pan pan.c`` and ``./pan``.
"""

from __future__ import annotations

from model.ts import Expr, Op, TransitionSystem, variables_of

_SYMBOLS = {Op.EQ: "==", Op.NE: "!=", Op.LT: "<", Op.LE: "<=", Op.ADD: "+", Op.SUB: "-"}


def _name(index: int) -> str:
    return f"v{index}"


def expression(expr: Expr) -> str:
    """An expression in Promela syntax (booleans are 0/1 as in migcheck)."""
    op = expr.op
    if op is Op.CONST:
        return str(expr.value)
    if op is Op.VAR:
        return _name(expr.value)
    if op is Op.AND:
        return "(" + " && ".join(expression(a) for a in expr.args) + ")"
    if op is Op.OR:
        return "(" + " || ".join(expression(a) for a in expr.args) + ")"
    if op is Op.NOT:
        return f"(!{expression(expr.args[0])})"
    if op is Op.ITE:
        cond, then, other = expr.args
        return f"({expression(cond)} -> {expression(then)} : {expression(other)})"
    left, right = (expression(a) for a in expr.args)
    return f"({left} {_SYMBOLS[op]} {right})"


def _comment(text: str) -> str:
    return text.replace("*/", "* /")


def export(system: TransitionSystem) -> str:
    """The Promela text of ``system``; a variable with several initial values gets a
    nondeterministic choice in an ``init`` step before the threads start."""
    lines = [
        f"/* migcheck model of {_comment(system.name)} in {system.mode.value} */",
        "",
    ]
    choices: list[int] = []
    for index, variable in enumerate(system.variables):
        kind = "byte" if variable.low >= 0 and variable.high <= 255 else "short"
        lines.append(
            f"{kind} {_name(index)} = {variable.initial[0]};"
            f"   /* {_comment(variable.name)} */"
        )
        if len(variable.initial) > 1:
            choices.append(index)
    lines.append("bool started = " + ("false" if choices else "true") + ";")
    lines.append("")
    if choices:
        lines.append("init {")
        lines.append("  atomic {")
        for index in choices:
            options = " ".join(
                f":: {_name(index)} = {value}" for value in system.variables[index].initial
            )
            lines.append(f"    if {options} fi;")
        lines.append("    started = true")
        lines.append("  }")
        lines.append("}")
        lines.append("")
    for thread_index, thread in enumerate(system.threads):
        pc = _name(thread.pc)
        lines.append(f"active proctype thread{thread_index}() {{   /* {_comment(thread.name)} */")
        lines.append("  started;")
        lines.append("  do")
        for transition in system.transitions:
            if transition.thread != thread_index:
                continue
            guard = f"{pc} == {transition.source}"
            if transition.guard.op is not Op.CONST or transition.guard.value != 1:
                guard += f" && {expression(transition.guard)}"
            body = [f"assert(!{expression(check.bad)})" for check in transition.checks]
            body += _assignments(transition.updates) + [f"{pc} = {transition.target}"]
            lines.append(f"  :: d_step {{ {guard} -> {'; '.join(body)} }}"
                         f"   /* {_comment(transition.step.text)} */")
        lines.append(f"  :: {pc} == {thread.done} -> break")
        lines.append("  od")
        lines.append("}")
        lines.append("")
    if system.location_checks:
        conditions = [
            f"({_name(system.threads[c.thread].pc)} == {c.location} && {expression(c.check.bad)})"
            for c in system.location_checks
        ]
        lines.append("active proctype monitor() {")
        lines.append("  started;")
        lines.append(f"end: atomic {{ ({' || '.join(conditions)}) -> assert(false) }}")
        lines.append("}")
    header = _temporaries(system)
    return "\n".join(lines[:2] + header + lines[2:]) + "\n"


def _assignments(updates: tuple[tuple[int, Expr], ...]) -> list[str]:
    """Sequential Promela assignments with the parallel meaning of migcheck's updates: a value
    that reads a variable assigned earlier in the same step goes through a temporary, which is
    reset afterwards so it never distinguishes two states."""
    assigned: set[int] = set()
    needs_temporary: list[bool] = []
    for target, value in updates:
        needs_temporary.append(bool(variables_of(value) & assigned))
        assigned.add(target)
    if not any(needs_temporary):
        return [f"{_name(target)} = {expression(value)}" for target, value in updates]
    first = [f"tmp{n} = {expression(value)}" for n, (_, value) in enumerate(updates)]
    then = [f"{_name(target)} = tmp{n}" for n, (target, _) in enumerate(updates)]
    reset = [f"tmp{n} = 0" for n in range(len(updates))]
    return first + then + reset


def _temporaries(system: TransitionSystem) -> list[str]:
    widest = max((len(t.updates) for t in system.transitions), default=0)
    if widest <= 1:
        return []
    return [f"short tmp{n};" for n in range(widest)] + [""]
