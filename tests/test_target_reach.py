"""The one reading of "first reaches a target": first evaluation, no interpolation."""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd

from dnibench.pipeline import PipelineConfig
from dnibench.studies.train import section as ff
from dnibench.studies.train.run import run_training, train_rows
from dnibench.target_reach import first_reach
from dnibench.train import TrainConfig

ACCURACY = [(100, 1.0, 0.2), (200, 2.0, 0.6), (300, 3.0, 0.8)]
BPC = [(0, 0.0, 4.0), (100, 1.0, 2.0), (200, 2.0, 1.5)]


def test_the_first_evaluation_meeting_the_target_counts_without_interpolation() -> None:
    assert first_reach(ACCURACY, 0.5, higher_is_better=True) == (200.0, 2.0)
    assert first_reach(ACCURACY, 0.6, higher_is_better=True) == (200.0, 2.0)  # meets: equal
    assert first_reach(ACCURACY, 0.1, higher_is_better=True) == (100.0, 1.0)
    assert first_reach(BPC, 1.75, higher_is_better=False) == (200.0, 2.0)
    assert first_reach(BPC, 5.0, higher_is_better=False) == (0.0, 0.0)


def test_never_reached_and_nan_metrics_give_nan() -> None:
    for points, target, higher in ((ACCURACY, 0.9, True), (BPC, 1.0, False), ([], 0.5, True)):
        assert all(math.isnan(v) for v in first_reach(points, target, higher_is_better=higher))
    nan_first = [(100, 1.0, math.nan), (200, 2.0, 0.7)]
    assert first_reach(nan_first, 0.5, higher_is_better=True) == (200.0, 2.0)
    assert all(math.isnan(v) for v in first_reach(nan_first, 0.5, higher_is_better=False))


def test_results_csv_and_the_ff_report_read_the_same_figure() -> None:
    """The figure a training run writes into results.csv is the one the report reads."""
    config = TrainConfig(
        data="digits", mode="dni", pipeline=PipelineConfig(stages=2), steps=60, eval_every=20
    )
    result = run_training(config, repeat=0)
    target = (result.curve[0].test_accuracy + result.curve[-1].test_accuracy) / 2
    rows, curve = train_rows("dni-digits", result, 0, target=target)
    metrics = {row["metric"]: row["value"] for row in rows}
    assert (metrics["samples_to_target"], metrics["seconds_to_target"]) == ff.first_reach(
        pd.DataFrame(curve), target
    )


def test_the_module_imports_nothing_heavy() -> None:
    code = "import sys, dnibench.target_reach; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
