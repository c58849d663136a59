import csv
import math
from pathlib import Path

import pytest
import torch

from dnibench.bench.session import run_session
from dnibench.pipeline import PipelineConfig
from dnibench.regimes.regime import get_regime
from dnibench.runtimes.reference import ReferenceRuntime
from dnibench.studies.item import Item
from dnibench.studies.train.run import run_training, to_target, train_rows
from dnibench.train import TrainConfig, TrainResult, freeze, prepare, train

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
    item = Item(name="dni-digits", kind="train", repeats=2, train=CONFIG, target_accuracy=0.9)
    run_session([item], tmp_path)
    with (tmp_path / "curves.csv").open() as handle:
        curve = list(csv.DictReader(handle))
    assert {row["repeat"] for row in curve} == {"0", "1"}
    with (tmp_path / "status.csv").open() as handle:
        assert [row["status"] for row in csv.DictReader(handle)] == ["ok", "ok"]


def test_one_thread_training_runs_side_by_side_with_the_same_results(tmp_path: Path) -> None:
    item = Item(name="dni-digits", kind="train", repeats=2, train=CONFIG, target_accuracy=0.9)
    alone = run_session([item], tmp_path / "alone")
    beside = run_session([item], tmp_path / "beside", jobs=2)
    losses = sorted(r.final.test_loss for r in alone if isinstance(r, TrainResult))
    assert len(losses) == 2
    assert sorted(r.final.test_loss for r in beside if isinstance(r, TrainResult)) == losses
    with (tmp_path / "beside" / "status.csv").open() as handle:
        assert [row["status"] for row in csv.DictReader(handle)] == ["ok", "ok"]


def test_frozen_stages_keep_their_weights_and_the_last_stage_learns() -> None:
    config = TrainConfig(
        data="digits",
        mode="backprop",
        pipeline=PipelineConfig(stages=3),
        steps=5,
        eval_every=5,
        frozen_stages=2,
    )
    dataset, before = prepare(config)
    freeze(before, config.frozen_stages)
    initial = [[p.detach().clone() for p in s.module.parameters()] for s in before.stages]
    runtime = ReferenceRuntime(before.stages, get_regime("backprop"))
    for step in range(3):
        runtime.train_step(dataset.x_train[64 * step : 64 * (step + 1)], dataset.y_train[:64])
    moved = [
        any(not torch.equal(p, q) for p, q in zip(s.module.parameters(), start, strict=True))
        for s, start in zip(before.stages, initial, strict=True)
    ]
    assert moved == [False, False, True]
    assert train(config).final.test_accuracy > 0  # the benchmark path runs too


def test_frozen_stages_must_leave_the_last_stage_training() -> None:
    with pytest.raises(ValueError, match="from 0 to stages - 1 = 2"):
        TrainConfig(pipeline=PipelineConfig(stages=3), frozen_stages=3)


def test_seconds_are_cpu_seconds_with_wall_seconds_beside(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 10_000, 2))  # every call of the CPU clock moves it 2 s
    monkeypatch.setattr("dnibench.train.time.thread_time", lambda: float(next(clock)))
    result = run_training(CONFIG, repeat=0)
    assert result.final.seconds == 2.0 * CONFIG.steps  # one start and one stop per step
    assert 0 < result.final.wall_seconds < result.final.seconds
    rows, _ = train_rows("dni-digits", result, 0, target=0.5)
    assert {"train_seconds", "wall_seconds"} <= {row["metric"] for row in rows}
