"""Training benchmarks: accuracy and data efficiency on the reference runtime.

A training benchmark trains one :class:`~dnibench.train.TrainConfig` and
reports its final test metrics plus samples- and seconds-to-target, with the
whole learning curve kept for plots. Repeat r trains with seed + r, so the
spread over repeats is the seed spread. ``train_seconds`` (and the curve's
``seconds``) are CPU seconds of the training steps, ``wall_seconds`` their
wall-clock time (see :mod:`dnibench.train`).
"""

from __future__ import annotations

import math
from dataclasses import replace

from dnibench.target_reach import first_reach
from dnibench.train import TrainConfig, TrainResult, train


def seeded(config: TrainConfig, repeat: int) -> TrainConfig:
    """``config`` with its seed moved by ``repeat``."""
    pipeline = replace(config.pipeline, seed=config.pipeline.seed + repeat)
    return replace(config, pipeline=pipeline)


def to_target(result: TrainResult, target: float | None) -> tuple[float, float]:
    """Samples and seconds at the first evaluation reaching ``target`` accuracy (NaN if never)."""
    if target is None:
        return math.nan, math.nan
    points = [(p.samples, p.seconds, p.test_accuracy) for p in result.curve]
    return first_reach(points, target, higher_is_better=True)


def train_rows(
    name: str, result: TrainResult, repeat: int, target: float | None
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Tidy result rows and learning-curve rows of one finished training run."""
    config = result.config
    final = result.final
    samples, seconds = to_target(result, target)
    base = {
        "benchmark": name,
        "mode": config.mode,
        "stages": config.pipeline.stages,
        "microbatches": config.microbatches,
        "stage": -1,
        "repeat": repeat,
    }
    values = [
        ("test_accuracy", final.test_accuracy, "ratio"),
        ("test_loss", final.test_loss, "nats"),
        ("train_loss", final.train_loss, "nats"),
        ("train_seconds", final.seconds, "s"),
        ("wall_seconds", final.wall_seconds, "s"),
        ("samples", final.samples, "samples"),
        ("samples_to_target", samples, "samples"),
        ("seconds_to_target", seconds, "s"),
        ("throughput", final.samples / final.seconds if final.seconds else math.nan, "samples/s"),
    ]
    if not math.isnan(final.sg_cosine):
        values.append(("sg_cosine", final.sg_cosine, "ratio"))
    rows = [{**base, "metric": m, "value": float(v), "unit": u} for m, v, u in values]
    curve = [
        {
            "benchmark": name,
            "repeat": repeat,
            "step": p.step,
            "samples": p.samples,
            "seconds": p.seconds,
            "train_loss": p.train_loss,
            "test_loss": p.test_loss,
            "test_accuracy": p.test_accuracy,
            "wall_seconds": p.wall_seconds,  # the clock columns of curves.csv (ttq's too)
            "cpu_seconds": p.seconds,
        }
        for p in result.curve
    ]
    return rows, curve


def run_training(config: TrainConfig, repeat: int) -> TrainResult:
    """Train ``config`` for repeat ``repeat`` (seed + repeat)."""
    return train(seeded(config, repeat))
