"""Counterexamples drawn as sequence diagrams: Mermaid ``sequenceDiagram`` and Graphviz DOT.

Each kernel thread of the trace is a lane (a Mermaid participant, a DOT column); its steps go
down the lane in global order.  An arrow between lanes shows that a step reads what another
thread's step left behind — a lock handed over, a page state another path changed — labelled
with the state it hands over.  A deadlock ends with the wait-for cycle: one arrow per waiter to
the thread holding what it waits for.
"""

from __future__ import annotations

from dataclasses import dataclass

from checker.result import ModeResult, Trace, TraceStep, WaitEdge


@dataclass(frozen=True, slots=True)
class Handover:
    """Step ``to_step`` of ``to_thread`` touches state that step ``from_step`` of
    ``from_thread`` changed last."""

    from_thread: str
    from_step: int
    to_thread: str
    to_step: int
    names: tuple[str, ...]


def lanes(trace: Trace) -> list[str]:
    """Threads in order of first appearance (steps first, then threads only in the cycle)."""
    order: list[str] = []
    for step in trace.steps:
        if step.thread not in order:
            order.append(step.thread)
    for edge in trace.cycle:
        for thread in (edge.waiter, edge.holder):
            if thread not in order:
                order.append(thread)
    return order


def handovers(trace: Trace) -> dict[int, list[Handover]]:
    """Per step number, the cross-thread arrows that end at it."""
    last_change: dict[str, tuple[str, int]] = {}
    out: dict[int, list[Handover]] = {}
    for number, step in enumerate(trace.steps, start=1):
        by_source: dict[tuple[str, int], list[str]] = {}
        for change in step.changes:
            previous = last_change.get(change.name)
            if previous is not None and previous[0] != step.thread:
                by_source.setdefault(previous, []).append(change.name)
            last_change[change.name] = (step.thread, number)
        out[number] = [
            Handover(thread, source, step.thread, number, tuple(names))
            for (thread, source), names in by_source.items()
        ]
    return out


def _title(result: ModeResult, trace: Trace) -> str:
    return f"{result.spec} in {result.mode.value}: {trace.property.value} violated"


def _where(step: TraceStep) -> str:
    return str(step.span) if step.span is not None else "core"


# ---------------------------------------------------------------- Mermaid


def _mermaid_text(text: str) -> str:
    """Mermaid ends a message at ';' and reads '#' as the start of an entity code."""
    return text.replace("#", "#35;").replace(";", ",")


def mermaid(result: ModeResult, trace: Trace) -> str:
    ids = {thread: f"T{number}" for number, thread in enumerate(lanes(trace))}
    lines = ["sequenceDiagram", f"    title {_mermaid_text(_title(result, trace))}"]
    for thread, ident in ids.items():
        lines.append(f"    participant {ident} as {_mermaid_text(thread)}")
    arrows = handovers(trace)
    for number, step in enumerate(trace.steps, start=1):
        for handover in arrows[number]:
            lines.append(f"    {ids[handover.from_thread]}-->>{ids[handover.to_thread]}: "
                         f"{_mermaid_text(', '.join(handover.names))}")
        text = f"{number}. {step.action} ({_where(step)})"
        changes = "<br/>".join(f"{c.name}: {c.before} -> {c.after}" for c in step.changes)
        if changes:
            text += "<br/>" + changes
        lines.append(f"    Note over {ids[step.thread]}: {_mermaid_text(text)}")
    for edge in trace.cycle:
        lines.append(f"    {ids[edge.waiter]}-x{ids[edge.holder]}: "
                     f"{_mermaid_text(f'waits for {edge.resource}')}")
    ending = trace.message
    if trace.violation_span is not None and not trace.cycle:
        ending += f" at {trace.violation_span}"
    participants = list(ids.values())
    if participants:
        first, last = participants[0], participants[-1]
        over = first if first == last else f"{first},{last}"
        lines.append(f"    Note over {over}: {_mermaid_text(ending)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- Graphviz DOT


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(result: ModeResult, trace: Trace) -> str:
    """A ranked graph: one column (cluster) per thread, one row per step."""
    threads = lanes(trace)
    total = len(trace.steps)
    lines = [
        "digraph counterexample {",
        f"    graph [label={_quote(_title(result, trace) + chr(10) + trace.message)}, "
        'labelloc=t, fontname="Helvetica", newrank=true, nodesep=0.4, ranksep=0.25];',
        '    node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica", '
        "fontsize=10];",
        "    edge [fontsize=9];",
        "    // the time axis: row k holds step k",
        "    node [style=invis, shape=point, width=0];",
        "    " + " -> ".join(f"r{k}" for k in range(total + 2)) + " [style=invis];",
        '    node [shape=box, style="rounded,filled", width=0.75];',
    ]
    last_in_lane: dict[str, str] = {}
    for lane, thread in enumerate(threads):
        lines.append(f"    subgraph cluster_{lane} {{")
        lines.append(f"        label={_quote(thread)}; style=rounded; color=gray60;")
        head = f"h{lane}"
        lines.append(f'        {head} [label={_quote(thread)}, fillcolor="#dde7f7"];')
        previous = head
        for number, step in enumerate(trace.steps, start=1):
            if step.thread != thread:
                continue
            node = f"s{number}"
            label = f"{number}. {step.action}\n{_where(step)}"
            label += "".join(f"\n{c.name}: {c.before} -> {c.after}" for c in step.changes)
            colour = ', color=red, penwidth=2' if number == total and not trace.cycle else ""
            fill = "#f2f2f2" if step.span is None else "white"
            lines.append(f'        {node} [label={_quote(label)}, fillcolor="{fill}"{colour}];')
            lines.append(f"        {previous} -> {node} [arrowhead=none, color=gray60, "
                         "weight=100];")
            previous = node
        last_in_lane[thread] = previous
        lines.append("    }")
    lines.append("    { rank=same; r0; " + " ".join(f"h{n};" for n in range(len(threads))) + " }")
    for number in range(1, total + 1):
        lines.append(f"    {{ rank=same; r{number}; s{number}; }}")
    for number, arrows in handovers(trace).items():
        for handover in arrows:
            lines.append(f"    s{handover.from_step} -> s{number} [style=dashed, color=blue, "
                         f"constraint=false, label={_quote(', '.join(handover.names))}];")
    if trace.cycle:
        waits = []
        for position, edge in enumerate(trace.cycle):
            node = f"w{position}"
            lane = threads.index(edge.waiter)
            waits.append(node)
            lines.append(f"    subgraph cluster_{lane} {{ {node} [label="
                         f"{_quote('waits for ' + edge.resource)}, color=red, "
                         'fillcolor="#fde2e2"]; }')
            lines.append(f"    {last_in_lane[edge.waiter]} -> {node} [arrowhead=none, "
                         "color=gray60, weight=100];")
        lines.append(f"    {{ rank=same; r{total + 1}; {' '.join(w + ';' for w in waits)} }}")
        wait_lane = {f"w{p}": threads.index(e.waiter) for p, e in enumerate(trace.cycle)}
        for position, edge in enumerate(trace.cycle):
            target = _taking_step(trace, edge.holder, edge.resource)
            if target is None:
                target = next(
                    (f"w{p}" for p, e in enumerate(trace.cycle) if e.waiter == edge.holder),
                    last_in_lane[edge.holder],
                )
            # Waits share the last row.  An edge between two of them is written from the left
            # lane to the right one (dir=back when it points left), so that two opposite edges
            # are parallel edges that Graphviz draws apart; ports would separate them too, but
            # Graphviz 2.43 misreads the attributes after ports on such an edge ("Arrow type
            # 'false' unknown").
            tail, head, back = f"w{position}", target, ""
            if target in wait_lane and wait_lane[target] < wait_lane[tail]:
                tail, head, back = target, tail, "dir=back, "
            lines.append(f"    {tail} -> {head} [{back}color=red, constraint=false, "
                         f"label={_quote(_holder_label(edge))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _holder_label(edge: WaitEdge) -> str:
    return f"{edge.holder} queued for it" if edge.queued else f"held by {edge.holder}"


def _taking_step(trace: Trace, thread: str, resource: str) -> str | None:
    """The last step of ``thread`` that changed the variable named ``resource`` (the step that
    took it), when the trace names the lock the same way as the wait-for cycle."""
    for number in range(len(trace.steps), 0, -1):
        step = trace.steps[number - 1]
        if step.thread == thread and any(c.name == resource for c in step.changes):
            return f"s{number}"
    return None
