"""The whole corpus: every expectation met, and docs/corpus.md regenerated from the verdicts."""

from __future__ import annotations

import os
import time
from pathlib import Path

from checker import ci
from checker.reports.corpus import corpus_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_every_corpus_expectation_is_met_and_the_table_is_current() -> None:
    cwd = Path.cwd()
    os.chdir(ROOT)
    try:
        started = time.monotonic()
        report = ci.run(ci.discover(["specs"]), ci.Options())
        elapsed = time.monotonic() - started
        notes = (ROOT / "docs" / "corpus-notes.md").read_text(encoding="utf-8")
        table = corpus_markdown(report, notes)
    finally:
        os.chdir(cwd)
    unmet = [
        f"{spec.path} {judgement.result.mode.value}: {judgement.outcome.value}"
        for spec, judgement in report.judgements()
        if judgement.outcome is not ci.Outcome.MET
    ]
    assert not report.bad_specs()
    assert not unmet, unmet
    assert len(report.specs) >= 11 + 10
    assert elapsed < 120, f"the corpus took {elapsed:.0f} s"
    target = ROOT / "docs" / "corpus.md"
    if os.environ.get("MIGCHECK_UPDATE_GOLDEN"):
        target.write_text(table, encoding="utf-8")
    assert target.read_text(encoding="utf-8") == table, (
        "docs/corpus.md is stale: MIGCHECK_UPDATE_GOLDEN=1 python -m pytest tests/test_corpus.py"
    )
