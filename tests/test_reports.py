"""SARIF (validated against the official 2.1.0 schema) and JUnit reports of ``migcheck ci``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from model.kinds import ALL_PROPERTIES
from tests.cli_helpers import migcheck

SARIF_SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "sarif-schema-2.1.0.json"
CI = "tests/data/ci"


def sarif_schema() -> Any:
    if not SARIF_SCHEMA.is_file():
        pytest.fail(
            f"the official SARIF 2.1.0 schema is missing: looked for {SARIF_SCHEMA} "
            "(../shared/sarif-schema-2.1.0.json from the repository root); the SARIF report "
            "cannot be validated without it"
        )
    return json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))


def run_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *paths: str) -> tuple[Any, ET.Element]:
    sarif = tmp_path / "report.sarif"
    junit = tmp_path / "report.xml"
    migcheck(["ci", *paths, "--sarif", str(sarif), "--junit", str(junit)], monkeypatch)
    return json.loads(sarif.read_text(encoding="utf-8")), ET.parse(junit).getroot()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ET.Element]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return run_ci(monkeypatch, tmp_path_factory.mktemp("ci"), CI, "tests/data/coverage",
                      "tests/data/bad/undeclared_lock.mig")


def test_sarif_is_valid(reports: tuple[Any, ET.Element]) -> None:
    jsonschema.validate(reports[0], sarif_schema())


def test_sarif_of_a_clean_run_is_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sarif, _ = run_ci(monkeypatch, tmp_path, f"{CI}/aio.mig", f"{CI}/batch_abba.mig")
    jsonschema.validate(sarif, sarif_schema())
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["unreached"]


def test_sarif_budget_results_are_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sarif, _ = run_ci(monkeypatch, tmp_path, f"{CI}/aio.mig", "--max-states", "50")
    jsonschema.validate(sarif, sarif_schema())
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"budget"}
    assert all("state budget of 50 states ran out" in r["message"]["text"] for r in results)


def test_sarif_driver_and_rules(reports: tuple[Any, ET.Element]) -> None:
    driver = reports[0]["runs"][0]["tool"]["driver"]
    assert driver["name"] == "migcheck" and driver["version"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids[: len(ALL_PROPERTIES)] == [p.value for p in ALL_PROPERTIES]
    assert {"expectation", "budget", "spec-error", "unreached"} <= set(ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]


def _results(reports: tuple[Any, ET.Element]) -> list[Any]:
    return list(reports[0]["runs"][0]["results"])


def test_sarif_result_per_unexpected_violation(reports: tuple[Any, ET.Element]) -> None:
    found = [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in _results(reports) if r["level"] == "error"
    ]
    blocking = f"{CI}/aio_blocking_ring_lock.mig"
    assert found == [
        ("deadlock", blocking, 12), ("mode-discipline", blocking, 12),
        ("lock-balance", blocking, 12), ("deadlock", blocking, 12),
        ("lock-balance", blocking, 12), ("deadlock", blocking, 12),
        ("lock-balance", blocking, 12),
        # the lost write completes in the core's DMA copy: located at the expect line
        ("lost-update", f"{CI}/aio_no_copy_unguarded.mig", 37),
        ("spec-error", "tests/data/bad/undeclared_lock.mig", 8),
        ("spec-error", "tests/data/bad/undeclared_lock.mig", 10),
    ]


def test_sarif_thread_flows_carry_the_whole_trace(reports: tuple[Any, ET.Element]) -> None:
    lost = next(r for r in _results(reports) if r["ruleId"] == "lost-update")
    (flow,) = lost["codeFlows"]
    threads = [t["id"] for t in flow["threadFlows"]]
    assert threads == ["migrator", "completion"]
    locations = [loc for t in flow["threadFlows"] for loc in t["locations"]]
    orders = sorted(loc["executionOrder"] for loc in locations)
    assert orders == list(range(1, len(locations) + 1))
    first = next(loc for loc in locations if loc["executionOrder"] == 1)
    assert "(core linux-4.14.mig:" in first["location"]["message"]["text"]
    write = next(
        loc for loc in locations if "write ring_page" in loc["location"]["message"]["text"]
    )
    assert write["location"]["physicalLocation"]["region"]["startLine"] == 25
    assert write["state"] == {"new page holds an uncopied write": {"text": "no -> yes"}}


def test_sarif_deadlock_flow_ends_in_the_cycle(reports: tuple[Any, ET.Element]) -> None:
    deadlock = next(r for r in _results(reports) if r["ruleId"] == "deadlock")
    flows = deadlock["codeFlows"][0]["threadFlows"]
    last = [t["locations"][-1]["location"]["message"]["text"] for t in flows]
    assert any("waits for ring_lock, held by ring_setup" in text for text in last)


def test_sarif_expectation_rule_when_no_violation_explains(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    spec = tmp_path / "refuses.mig"
    spec.write_text(_refusing_spec(), encoding="utf-8")
    sarif, _ = run_ci(monkeypatch, tmp_path, str(spec))
    jsonschema.validate(sarif, sarif_schema())
    (result,) = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    assert result["ruleId"] == "expectation"
    assert "expected holds, found refuses EINVAL" in result["message"]["text"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///")


def _refusing_spec() -> str:
    return ("spec refuses\ncallback {\n  if mode == SYNC { return EINVAL }\n  copy\n  return OK\n"
            "}\nexpect SYNC : holds\n")


def test_junit_one_testcase_per_spec_and_mode(reports: tuple[Any, ET.Element]) -> None:
    root = reports[1]
    assert root.tag == "testsuites"
    assert root.get("tests") == "21" and root.get("failures") == "4"
    assert root.get("errors") == "1" and root.get("skipped") == "3"
    cases = root.findall("./testsuite/testcase")
    assert (cases[0].get("classname"), cases[0].get("name")) == (f"{CI}/aio.mig", "ASYNC")
    failure = next(c for c in cases
                   if c.get("classname", "").endswith("aio_no_copy_unguarded.mig")
                   and c.get("name") == "SYNC_NO_COPY").find("failure")
    assert failure is not None
    assert failure.get("message") == "expected refuses EINVAL, found violated (lost-update)"
    assert "DMA copy of page" in (failure.text or "")
    bad = next(c for c in cases if c.get("name") == "spec")
    error = bad.find("error")
    assert error is not None and "undeclared_lock.mig:8:8" in (error.text or "")
