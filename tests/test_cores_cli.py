"""The cores a spec can run under, chosen by name or by file, on every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.kernel.cores import load_core, shipped_names
from tests.cli_helpers import migcheck


def test_cores_path_prints_a_shipped_core_file(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck("cores --path linux-6.6", monkeypatch)
    assert outcome.exit_code == 0
    path = Path(outcome.stdout.strip())
    assert path.name == "linux-6.6.mig" and path.is_file()
    assert load_core(str(path)).name == "linux-6.6"


def test_cores_path_of_an_unknown_core_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck("cores --path linux-1.0", monkeypatch)
    assert outcome.exit_code == 2
    assert "no shipped core 'linux-1.0'" in outcome.stderr


def test_every_shipped_core_is_listed_with_its_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    text = migcheck("cores", monkeypatch).stdout
    for name in shipped_names():
        core = load_core(name)
        assert f"{name}  (Linux {core.kernel}; modes " in text


@pytest.mark.parametrize("command", ["check --mode SYNC", "trace --mode SYNC", "ci"])
def test_core_option_overrides_the_spec_s_line(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    under_66 = migcheck(f"{command} specs/balloon.mig --core linux-6.6", monkeypatch)
    under_414 = migcheck(f"{command} specs/balloon.mig", monkeypatch)
    # the balloon's host-ack wait breaks ASYNC; 6.6 tries every SYNC migration in ASYNC first
    assert under_414.exit_code == 0
    assert under_66.exit_code == 1


def test_a_core_file_checks_like_a_shipped_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "my-core.mig"
    copy.write_text(Path(migcheck("cores --path linux-4.14", monkeypatch).stdout.strip())
                    .read_text(encoding="utf-8").replace("core linux-4.14", "core my-core"))
    outcome = migcheck(f"check specs/aio.mig --core {copy} --format json", monkeypatch)
    assert outcome.exit_code == 0
    results = json.loads(outcome.stdout)["specs"][0]["results"]
    assert {r["instance"]["core"] for r in results} == {"my-core"}


def test_a_mode_not_in_the_kernel_is_not_applicable_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck("ci specs/aio.mig --core linux-6.11", monkeypatch)
    assert outcome.exit_code == 0
    assert outcome.stdout.rstrip().endswith(
        "3 met, 0 unmet, 0 unknown, 0 without expectation, 1 not in this kernel"
    )


def test_export_of_a_mode_not_in_the_kernel_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = migcheck(
        "export --promela specs/aio.mig --mode SYNC_NO_COPY --core linux-6.11", monkeypatch
    )
    assert outcome.exit_code == 2
    assert "linux-6.11 has no migration mode SYNC_NO_COPY" in outcome.stderr
