"""``migcheck trace``: every format, and its exit status."""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import migcheck

NOGUARD = "tests/data/ci/aio_no_copy_unguarded.mig"
ABBA = "tests/data/ci/batch_abba.mig"


def test_trace_prints_the_first_violation_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"trace {NOGUARD} --mode SYNC_NO_COPY", monkeypatch)
    assert outcome.exit_code == 1
    assert outcome.stdout.startswith("aio_migratepage in SYNC_NO_COPY: lost-update violated\n")


def test_trace_of_a_property_that_holds_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"trace {NOGUARD} --mode SYNC_NO_COPY --property deadlock", monkeypatch)
    assert outcome.exit_code == 0
    assert outcome.stdout == (f"{NOGUARD}: SYNC_NO_COPY: deadlock holds: nothing to trace\n")
    refused = migcheck("trace tests/data/ci/aio.mig --mode SYNC_NO_COPY --format json",
                       monkeypatch)
    assert refused.exit_code == 0 and refused.stdout == ""
    assert "refuses the mode: EINVAL" in refused.stderr


def test_trace_usage_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert migcheck(f"trace {NOGUARD}", monkeypatch).exit_code == 2
    assert migcheck(f"trace {NOGUARD} --mode FAST", monkeypatch).exit_code == 2
    assert migcheck(f"trace {NOGUARD} --mode SYNC --format pdf", monkeypatch).exit_code == 2
    bad = migcheck("trace tests/data/bad/unknown_mode.mig --mode SYNC", monkeypatch)
    assert bad.exit_code == 2 and "unknown_mode.mig:9:15: error" in bad.stderr


def test_trace_when_the_budget_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck("trace tests/data/ci/aio.mig --mode SYNC --max-states 10", monkeypatch)
    assert outcome.exit_code == 3
    assert "state budget of 10 states ran out" in outcome.stderr


def test_trace_json(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(f"trace {ABBA} --mode SYNC_NO_COPY --format json", monkeypatch)
    document = json.loads(outcome.stdout)
    assert document["schema_version"] == 1 and document["mode"] == "SYNC_NO_COPY"
    trace = document["trace"]
    assert trace["property"] == "deadlock"
    assert [s["number"] for s in trace["steps"]] == list(range(1, len(trace["steps"]) + 1))
    assert {e["waiter"] for e in trace["cycle"]} == {"migrator 0", "migrator 1"}


def test_trace_itf_rebuilds_every_state(monkeypatch: pytest.MonkeyPatch) -> None:
    text = migcheck(f"trace {NOGUARD} --mode SYNC_NO_COPY --format text", monkeypatch).stdout
    itf = json.loads(migcheck(f"trace {NOGUARD} --mode SYNC_NO_COPY --format itf",
                              monkeypatch).stdout)
    assert itf["#meta"]["format"] == "ITF"
    states = itf["states"]
    steps = sum(1 for line in text.splitlines() if line[:6].strip().isdigit())
    assert len(states) == steps + 1
    assert [s["#meta"]["index"] for s in states] == list(range(len(states)))
    for state in states:
        assert set(state) - {"#meta"} == set(itf["vars"])
    assert states[0]["mapping"] == "old page" and states[-1]["mapping"] == "new page"
    assert states[13]["new page holds an uncopied write"] == "no"
    assert states[14]["new page holds an uncopied write"] == "yes"
    assert states[14]["#meta"]["thread"] == "completion"


def test_trace_mermaid_is_a_sequence_diagram(monkeypatch: pytest.MonkeyPatch) -> None:
    text = migcheck(f"trace {ABBA} --mode SYNC_NO_COPY --format mermaid", monkeypatch).stdout
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert "    participant T0 as migrator 0" in lines
    assert "    T0-xT1: waits for page lock 1" in lines
    assert not any(";" in line for line in lines[1:])


def test_trace_dot_has_one_lane_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    text = migcheck(f"trace {NOGUARD} --mode SYNC_NO_COPY --format dot", monkeypatch).stdout
    assert text.startswith("digraph counterexample {") and text.endswith("}\n")
    assert text.count("subgraph cluster_") == 2
    assert 's12 -> s13 [style=dashed' not in text
    assert 's9 -> s13 [style=dashed, color=blue, constraint=false, label="completion_lock"]' \
        in text
    assert text.count("{") == text.count("}")


def test_a_queued_rwsem_writer_is_not_called_a_holder(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = "tests/data/traces/rwsem_queued_writer.mig"
    text = migcheck(f"trace {spec} --mode SYNC", monkeypatch).stdout
    assert "held by writer" not in text
    assert "waits for sem (write side), behind writer, which is queued for it" in text
    document = json.loads(migcheck(f"trace {spec} --mode SYNC --format json", monkeypatch).stdout)
    edges = {(e["waiter"], e["holder"]): e["queued"] for e in document["trace"]["cycle"]}
    assert edges == {("first", "second"): False, ("second", "writer"): True,
                     ("writer", "first"): False}


def test_booleans_read_as_the_spec_wrote_them(monkeypatch: pytest.MonkeyPatch) -> None:
    text = migcheck("trace tests/data/traces/bool_teardown.mig --mode SYNC", monkeypatch).stdout
    assert "ctx_live = false" in text and "torn_down = true" in text
    assert "await torn_down == true" in text
    assert "ctx_live: true -> false" in text
    assert not any(wrong in text for wrong in ("ctx_live = 0", "torn_down = 1", "== 1"))
