"""Simulation reports carry fingerprints (theirs and their sources') and the agreement plot."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from PIL import Image

from dnibench.cli import main
from dnibench.simulate.report.agreement_plot import PLOT_FILE, plot_predicted_vs_measured
from dnibench.simulate.report.provenance import SIMULATION_BACKEND, Provenance, SourceRun
from dnibench.simulate.validate import ValidationRow

FIXTURE = Path(__file__).parents[2] / "fixtures" / "pipeline-run"
FINGERPRINT_KEYS = ("cpu", "cores", "torch", "python", "backend", "git_commit", "gpu")


def _fixture_fingerprint() -> dict:
    return json.loads((FIXTURE / "fingerprint.json").read_text())


def _assert_png(path: Path) -> None:
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width > 100 and image.height > 100


def _assert_simulation_fingerprint(out: Path) -> None:
    finger = json.loads((out / "fingerprint.json").read_text())
    for key in FINGERPRINT_KEYS:
        assert key in finger, key
    assert finger["backend"] == SIMULATION_BACKEND
    assert finger["world_size"] is None
    assert finger["cores"] >= 1


def _assert_report_embeds_plot(out: Path) -> None:
    assert f"]({PLOT_FILE})" in (out / "report.md").read_text()
    assert f'src="{PLOT_FILE}"' in (out / "report.html").read_text()


def _slowed_copy(tmp_path: Path) -> Path:
    """The fixture's config and results (no traces, no fingerprint) with stage 1 slowed 1.5x."""
    run = tmp_path / "slow-target"
    run.mkdir()
    shutil.copy(FIXTURE / "results.csv", run / "results.csv")
    doc = json.loads((FIXTURE / "config.json").read_text())
    for entry in doc["benchmarks"]:
        entry["spec"].update(slow_stage=1, slow_factor=1.5)
    (run / "config.json").write_text(json.dumps(doc))
    return run


def test_simulate_writes_fingerprints_environment_and_agreement_plot(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    argv = ["simulate", "--from", str(FIXTURE), "--stages", "2", "--microbatches", "1"]
    assert main([*argv, "--modes", "gpipe", "--sg-relative", "0.5", "--out", str(out)]) == 0
    _assert_simulation_fingerprint(out)
    config = json.loads((out / "config.json").read_text())
    assert config["source_fingerprints"] == {FIXTURE.name: _fixture_fingerprint()}
    _assert_png(out / PLOT_FILE)
    _assert_report_embeds_plot(out)
    report = (out / "report.md").read_text()
    assert "## Environment" in report
    source_line = next(line for line in report.splitlines() if "| calibration run |" in line)
    assert FIXTURE.name in source_line
    assert _fixture_fingerprint()["git_commit"][:12] in source_line


def test_crosscheck_writes_fingerprints_and_says_which_source_had_none(tmp_path: Path) -> None:
    target = _slowed_copy(tmp_path)
    out = tmp_path / "crosscheck"
    argv = ["simulate", "--from", str(FIXTURE), "--predict", str(target), "--out", str(out)]
    assert main(argv) == 0
    _assert_simulation_fingerprint(out)
    sources = json.loads((out / "config.json").read_text())["source_fingerprints"]
    assert sources[FIXTURE.name] == _fixture_fingerprint()
    assert sources[target.name] == {"note": f"{target.name} has no fingerprint.json"}
    _assert_png(out / PLOT_FILE)
    _assert_report_embeds_plot(out)
    report = (out / "report.md").read_text()
    assert "| calibration run (baseline) | pipeline-run |" in report
    assert f"| target run (measured) | {target.name} | {target.name} has no fingerprint" in report


def _row(
    name: str, predicted: float, measured: float, target: float = 0.1, skipped: str = ""
) -> ValidationRow:
    return ValidationRow(
        benchmark=name,
        mode=name.split("-")[0],
        stages=2,
        microbatches=8,
        predicted=predicted,
        measured=measured,
        target=target,
        launches=1,
        calibration="",
        skipped=skipped,
    )


def test_agreement_plot_draws_misses_and_wide_ranges_and_skips_empty(tmp_path: Path) -> None:
    rows = [
        _row("gpipe-m8", 1000.0, 1050.0),
        _row("dni-m8", 2000.0, 1500.0, target=0.15),  # over-predicted: a miss
        _row("unlock-m8", 40.0, 60.0),  # under-predicted, and 50x slower: log axes
        _row("single-m8", math.nan, 900.0, skipped="single-process baseline"),
    ]
    assert rows[1].verdict == "missed" and rows[2].verdict == "missed"
    path = plot_predicted_vs_measured(rows, tmp_path / "plots" / "agreement.png", "title")
    assert path == tmp_path / "plots" / "agreement.png"
    _assert_png(path)
    skipped_only = [rows[3], _row("gpipe-m1", 100.0, math.nan)]
    assert plot_predicted_vs_measured(skipped_only, tmp_path / "none.png", "title") is None
    assert not (tmp_path / "none.png").exists()


def test_source_fingerprints_dedupe_runs_and_note_unreadable_ones(tmp_path: Path) -> None:
    twin = tmp_path / FIXTURE.name  # same name as the fixture, another directory
    twin.mkdir()
    (twin / "fingerprint.json").write_text("{not json")
    provenance = Provenance(
        {"cpu": "here"},
        [
            SourceRun.read("calibration run", FIXTURE),
            SourceRun.read("target run", FIXTURE),  # the same run in a second role
            SourceRun.read("other run", twin),
        ],
    )
    sources = provenance.source_fingerprints()
    assert list(sources) == [FIXTURE.name, str(twin)]
    assert sources[FIXTURE.name] == _fixture_fingerprint()
    assert "not readable JSON" in sources[str(twin)]["note"]
    table = provenance.table()
    assert [row[0] for row in table.rows] == [
        "this simulation",
        "calibration run",
        "target run",
        "other run",
    ]
    assert table.rows[3][2].startswith(str(twin / "fingerprint.json"))
    assert all(len(row) == len(table.columns) for row in table.rows)


@pytest.mark.parametrize("content", ["[1, 2]", '"text"'])
def test_a_fingerprint_that_is_not_an_object_is_noted(tmp_path: Path, content: str) -> None:
    (tmp_path / "fingerprint.json").write_text(content)
    source = SourceRun.read("calibration run", tmp_path)
    assert source.fingerprint is None
    assert "not hold a JSON object" in source.note
