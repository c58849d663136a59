"""Time to target per seed, and its aggregates: the median with its interval, and MLPerf's.

Every figure reads a seed's curve (``curves.csv`` rows of one launch) with
the one reading of "first reaches" (:func:`dnibench.target_reach.first_reach`:
the first evaluation at or past the target, no interpolation) and takes that
evaluation's clocks: samples, training wall seconds, wall seconds with the
evaluations on the clock (MLPerf's reading) and CPU seconds. A seed that
never reaches the target reads +inf on every clock: it is reported, never
dropped.

Aggregates over the report seeds:

- the median with its order-statistic interval
  (:func:`dnibench.stats.order_statistic_interval`; for 5 seeds [min, max]
  at 93.75%);
- MLPerf's: drop the fastest and the slowest, mean of the rest. A seed that
  never arrived is +inf and may be the one dropped as the slowest; with two or
  more such seeds the aggregate is "not reached" (+inf here).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from dnibench import target_reach
from dnibench.stats import Interval, order_statistic_interval

CLOCKS = ("samples", "wall_seconds", "wall_seconds_with_eval", "cpu_seconds")
"""The clocks a time to target is read on (curves.csv columns)."""
METRIC = "test_accuracy"


@dataclass(frozen=True)
class Reach:
    """One seed's first evaluation at or past the target: each clock's reading (+inf: never)."""

    samples: float
    wall_seconds: float
    wall_seconds_with_eval: float
    cpu_seconds: float

    @property
    def reached(self) -> bool:
        return math.isfinite(self.samples)

    def clock(self, name: str) -> float:
        return float(getattr(self, name))


NEVER = Reach(math.inf, math.inf, math.inf, math.inf)


def reach(curve: pd.DataFrame, target: float, metric: str = METRIC) -> Reach:
    """Where one seed's curve first reaches ``target`` (higher is better), on every clock."""
    rows = curve.sort_values("samples").reset_index(drop=True)
    points = [(float(i), float(i), float(v)) for i, v in enumerate(rows[metric])]
    index, _ = target_reach.first_reach(points, target, higher_is_better=True)
    if math.isnan(index):
        return NEVER
    row = rows.iloc[int(index)]
    return Reach(*(float(row[c]) if c in row and pd.notna(row[c]) else math.nan for c in CLOCKS))


def reaches(curves: pd.DataFrame, bench: str, target: float) -> dict[int, Reach]:
    """Per seed (curves.csv's ``repeat`` mapped to its seed by the caller), ``bench``'s reach."""
    frame = curves[curves["benchmark"] == bench]
    return {int(repeat): reach(run, target) for repeat, run in frame.groupby("repeat")}


def best_metric(curves: pd.DataFrame, bench: str, metric: str = METRIC) -> dict[int, float]:
    """Per repeat, the best held-out metric its curve reached."""
    frame = curves[curves["benchmark"] == bench]
    return {int(r): float(run[metric].max()) for r, run in frame.groupby("repeat")}


def median_interval(values: Sequence[float]) -> Interval:
    """The median and its order-statistic interval (+inf kept: a never-reached seed)."""
    return order_statistic_interval(list(values))


def mlperf_aggregate(values: Sequence[float]) -> float:
    """Drop the fastest and the slowest, mean of the rest; +inf ("not reached") when two or
    more seeds never arrived; NaN with fewer than 3 seeds (nothing left to average)."""
    ordered = sorted(float(v) for v in values if not math.isnan(v))
    if sum(math.isinf(v) for v in ordered) >= 2:
        return math.inf
    if len(ordered) < 3:
        return math.nan
    kept = ordered[1:-1]
    return sum(kept) / len(kept)


def clock_table(per_seed: Mapping[int, Reach], clock: str) -> dict[int, float]:
    """Seed -> reading on ``clock``."""
    return {seed: r.clock(clock) for seed, r in per_seed.items()}


__all__ = [
    "CLOCKS", "METRIC", "NEVER", "Reach", "best_metric", "clock_table", "median_interval",
    "mlperf_aggregate", "reach", "reaches",
]  # fmt: skip
