"""The shared results.csv loader: typed columns and one wording for every failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dnibench.errors import UserError
from dnibench.gate.runs import load_results as gate_loader
from dnibench.rundir.layout import RESULT_COLUMNS
from dnibench.rundir.reader import load_run, read_results
from dnibench.studies.pipeline.targets import load_results as pipeline_loader

FIXTURE = Path(__file__).parent.parent / "fixtures" / "pipeline-run"


def test_types_and_the_calibration_row(tmp_path: Path) -> None:
    frame = read_results(FIXTURE)
    assert list(frame.columns) == list(RESULT_COLUMNS)
    for column in ("stages", "microbatches", "stage", "repeat"):
        assert frame[column].dtype.kind == "i", column
    assert frame["value"].dtype.kind == "f"
    calibration = frame[frame.benchmark == "calibration"]
    assert len(calibration) == 1 and calibration["mode"].iloc[0] == ""


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("stage", "line 2: stage 'x' is not an integer"),
        ("fraction", "line 2: repeat '0.5' is not an integer"),
    ],
)
def test_bad_integers_name_the_line(tmp_path: Path, damage: str, message: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    lines = (run / "results.csv").read_text().splitlines()
    parts = lines[1].split(",")
    column = RESULT_COLUMNS.index("stage" if damage == "stage" else "repeat")
    parts[column] = "x" if damage == "stage" else "0.5"
    lines[1] = ",".join(parts)
    (run / "results.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=message):
        read_results(run)


@pytest.mark.parametrize("loader", [read_results, gate_loader, pipeline_loader, load_run])
def test_every_consumer_words_a_missing_file_the_same(tmp_path: Path, loader) -> None:
    with pytest.raises(UserError, match=r"holds no results\.csv: it is not a run directory"):
        loader(tmp_path)
    with pytest.raises(UserError, match="does not exist; check the path"):
        loader(tmp_path / "nowhere")
