"""Time to target and its aggregates on hand-made curve tables (no run needed)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dnibench.studies.ttq.reach import (
    NEVER,
    best_metric,
    clock_table,
    median_interval,
    mlperf_aggregate,
    reach,
    reaches,
)


def _curve(bench: str, repeat: int, accuracies: list[float], wall_step: float) -> pd.DataFrame:
    n = len(accuracies)
    return pd.DataFrame(
        {
            "benchmark": [bench] * n,
            "repeat": [repeat] * n,
            "samples": [100 * (i + 1) for i in range(n)],
            "wall_seconds": [wall_step * (i + 1) for i in range(n)],
            "wall_seconds_with_eval": [wall_step * (i + 1) + 0.5 * (i + 1) for i in range(n)],
            "cpu_seconds": [2 * wall_step * (i + 1) for i in range(n)],
            "test_accuracy": accuracies,
        }
    )


def test_time_to_target_is_the_first_evaluation_at_or_past_it_without_interpolation() -> None:
    curve = _curve("a", 0, [0.5, 0.79, 0.80, 0.95, 0.70], wall_step=2.0)
    got = reach(curve, 0.80)
    assert got.samples == 300 and got.wall_seconds == 6.0
    assert got.wall_seconds_with_eval == 7.5 and got.cpu_seconds == 12.0
    assert reach(curve, 0.96) == NEVER and not NEVER.reached
    assert math.isinf(reach(curve, 0.96).wall_seconds)


def test_the_mlperf_aggregate_drops_fastest_and_slowest() -> None:
    assert mlperf_aggregate([10.0, 30.0, 20.0, 50.0, 40.0]) == pytest.approx(30.0)
    # One seed never reached: it is +inf and dropped as the slowest.
    assert mlperf_aggregate([10.0, 30.0, math.inf, 20.0, 40.0]) == pytest.approx(30.0)
    # Two never reached: the aggregate is not reached.
    assert math.isinf(mlperf_aggregate([10.0, math.inf, 20.0, math.inf, 40.0]))
    assert math.isnan(mlperf_aggregate([1.0, 2.0]))


def test_a_never_reached_seed_stays_in_the_table_and_in_the_median_interval() -> None:
    curves = pd.concat(
        [
            _curve("dni", 0, [0.5, 0.9], 1.0),
            _curve("dni", 1, [0.5, 0.6], 1.0),  # never reaches 0.85
            _curve("dni", 2, [0.9, 0.9], 3.0),
            _curve("dni", 3, [0.5, 0.5], 1.0),  # never
            _curve("dni", 4, [0.86, 0.9], 5.0),
        ]
    )
    per_seed = reaches(curves, "dni", 0.85)
    wall = clock_table(per_seed, "wall_seconds")
    assert wall == {0: 2.0, 1: math.inf, 2: 3.0, 3: math.inf, 4: 5.0}
    interval = median_interval(list(wall.values()))
    assert interval.estimate == 5.0 and interval.low == 2.0 and math.isinf(interval.high)
    assert interval.level == pytest.approx(0.9375)
    assert math.isinf(mlperf_aggregate(list(wall.values())))
    assert best_metric(curves, "dni") == {0: 0.9, 1: 0.6, 2: 0.9, 3: 0.5, 4: 0.9}
