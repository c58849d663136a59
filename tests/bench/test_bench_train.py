import csv
import math
from pathlib import Path

from dnibench.bench.session import BenchItem, run_session
from dnibench.bench.train_bench import run_training, to_target, train_rows
from dnibench.pipeline import PipelineConfig
from dnibench.train import TrainConfig

CONFIG = TrainConfig(
    data="digits", mode="dni", pipeline=PipelineConfig(stages=2), steps=60, eval_every=20
)


def test_rows_and_curve_of_a_training_run() -> None:
    result = run_training(CONFIG, repeat=0)
    rows, curve = train_rows("dni-digits", result, 0, target=0.5)
    metrics = {row["metric"]: row["value"] for row in rows}
    assert metrics["test_accuracy"] == result.final.test_accuracy
    assert [point["step"] for point in curve] == [20, 40, 60]
    reached = next(p for p in result.curve if p.test_accuracy >= 0.5)
    assert metrics["samples_to_target"] == reached.samples
    assert math.isnan(to_target(result, 1.01)[0])


def test_repeats_use_different_seeds() -> None:
    first = run_training(CONFIG, repeat=0).final.test_loss
    second = run_training(CONFIG, repeat=1).final.test_loss
    assert first != second


def test_session_runs_training_items_into_curves_csv(tmp_path: Path) -> None:
    item = BenchItem(name="dni-digits", kind="train", repeats=2, train=CONFIG, target_accuracy=0.9)
    run_session([item], tmp_path)
    with (tmp_path / "curves.csv").open() as handle:
        curve = list(csv.DictReader(handle))
    assert {row["repeat"] for row in curve} == {"0", "1"}
    with (tmp_path / "status.csv").open() as handle:
        assert [row["status"] for row in csv.DictReader(handle)] == ["ok", "ok"]
