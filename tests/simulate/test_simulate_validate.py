"""Simulated next to measured on the frozen pipeline run, and the report section."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.simulate.validate import TARGET, validate_run
from dnibench.studies.registry import extra_sections

FIXTURE = Path(__file__).parents[1] / "fixtures" / "pipeline-run"


@pytest.fixture(scope="module")
def rows():
    return {row.benchmark: row for row in validate_run(FIXTURE)}


def test_benchmarks_with_traces_are_predicted_within_target(rows) -> None:
    # The frozen run keeps the first launch's trace of these two.
    for name in ("gpipe-m8", "dni-m8"):
        row = rows[name]
        assert row.calibration == "own spans"
        assert math.isfinite(row.predicted) and row.measured > 0
        assert abs(row.error) <= TARGET, f"{name}: {row.error:+.1%}"
        assert row.verdict == "met"


def test_what_cannot_be_simulated_is_skipped_with_a_reason(rows) -> None:
    assert rows["single-1t-m8"].verdict == "not applicable"
    assert "not a pipeline" in rows["single-1t-m8"].skipped
    assert "no trace" in rows["1f1b-m8"].skipped
    assert math.isnan(rows["1f1b-m8"].error)


def test_spans_off_borrows_costs_from_its_twin(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    # A steps-only trace, as a benchmark with spans off leaves.
    doc = json.loads((run / "traces" / "gpipe-m8-r0.json").read_text())
    doc["traceEvents"] = [e for e in doc["traceEvents"] if e.get("cat") in (None, "step")]
    (run / "traces" / "gpipe-m8-nospans-r0.json").write_text(json.dumps(doc))
    row = next(r for r in validate_run(run) if r.benchmark == "gpipe-m8-nospans")
    assert row.verdict != "not applicable"
    assert "costs from gpipe-m8" in row.calibration


def test_a_suite_run_report_gets_the_simulated_vs_measured_table(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    text = "\n".join(section.markdown for section in extra_sections(run))
    assert "## Simulated vs measured" in text
    assert "| gpipe-m8 | gpipe | 2 | 8 |" in text


def test_a_run_without_config_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"config\.json"):
        validate_run(tmp_path)
