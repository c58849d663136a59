"""One interval helper: per-pair values, an interval, and the verdict it supports.

Two ways to get an interval, each for the data it fits:

- :func:`order_statistic_interval`: the median of a handful of values (seeds,
  or launches paired one by one) with the distribution-free interval between
  two order statistics. It needs no normality and copes with +inf (a seed
  that never reached a target). For 5 values the narrowest pair covering
  90% is [min, max], at 93.75%; for 3 values [min, max] covers only 75%,
  and the interval says so in its ``level``.
- :func:`bootstrap_interval` / :func:`bootstrap_ratio_interval`: a
  percentile bootstrap over launches that were not interleaved, so they
  cannot be paired.

:func:`paired` pairs two tables by key (seed or launch), forms differences
or ratios, and returns their median with the order-statistic interval. A
verdict is "met" only when the whole interval lies on the claimed side of
the goal, "missed" when it lies wholly on the other side, and
"inconclusive" when it straddles the goal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from dnibench.stats.words import Verdict

Relation = Literal["difference", "ratio"]
Better = Literal["<", ">"]

#: Coverage the order-statistic interval aims for; with few values it is wider.
DEFAULT_LEVEL = 0.90


@dataclass(frozen=True)
class Interval:
    """An estimate with an interval around it and the interval's coverage."""

    estimate: float
    low: float
    high: float
    level: float
    """The interval's coverage (exact for order statistics, nominal for a bootstrap)."""
    method: str
    n: int

    def decide(self, goal: float, better: Better) -> Verdict:
        """Met when the whole interval is on the ``better`` side of ``goal``.

        ``better`` is ``"<"`` (the claim is that the value is below the goal,
        e.g. a time ratio below 1) or ``">"``. Missed when the whole
        interval is on the other side (touching the goal counts as not
        shown); inconclusive when it straddles; not measured without values.
        """
        if self.n == 0 or math.isnan(self.low) or math.isnan(self.high):
            return Verdict.NOT_MEASURED
        if better == "<":
            if self.high < goal:
                return Verdict.MET
            if self.low >= goal:
                return Verdict.MISSED
            return Verdict.INCONCLUSIVE
        if self.low > goal:
            return Verdict.MET
        if self.high <= goal:
            return Verdict.MISSED
        return Verdict.INCONCLUSIVE

    def text(self, spec: str = ".3f") -> str:
        """``estimate [low, high] (level%, method, n=…)`` for a report cell."""
        return (
            f"{_fmt(self.estimate, spec)} [{_fmt(self.low, spec)}, {_fmt(self.high, spec)}] "
            f"({self.level:.1%}, {self.method}, n={self.n})"
        )


def _fmt(value: float, spec: str) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, spec)


def order_statistic_coverage(n: int, k: int) -> float:
    """Coverage of [x_(k), x_(n+1-k)] (1-based order statistics) for the median.

    It is the probability that a Binomial(n, 1/2) count lies in [k, n-k],
    which needs no assumption about the values' distribution.
    """
    if n <= 0 or k < 1 or 2 * k > n + 1:
        raise ValueError(f"need 1 <= k <= (n+1)/2, got n={n}, k={k}")
    below = sum(math.comb(n, i) for i in range(k)) / 2**n
    return 1.0 - 2.0 * below


def order_statistic_interval(values: Sequence[float], level: float = DEFAULT_LEVEL) -> Interval:
    """The median and the narrowest order-statistic interval covering ``level``.

    NaN values are dropped (not measured); +inf and -inf are kept and ordered.
    When even [min, max] covers less than ``level`` (n <= 4 at 90%), [min,
    max] is returned with its true, lower coverage.
    """
    finite_or_inf = np.sort(np.asarray([v for v in values if not math.isnan(v)], dtype=float))
    n = int(finite_or_inf.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0.0, "order statistics", 0)
    estimate = float(np.median(finite_or_inf)) if n % 2 else _median_even(finite_or_inf)
    if n == 1:
        value = float(finite_or_inf[0])
        return Interval(value, value, value, 0.0, "order statistics", 1)
    k = 1
    while 2 * (k + 1) <= n + 1 and order_statistic_coverage(n, k + 1) >= level:
        k += 1
    return Interval(
        estimate,
        float(finite_or_inf[k - 1]),
        float(finite_or_inf[n - k]),
        order_statistic_coverage(n, k),
        "order statistics",
        n,
    )


def _median_even(values: np.ndarray) -> float:
    """Median of an even count that stays +inf when both middle values are +inf."""
    a, b = float(values[values.size // 2 - 1]), float(values[values.size // 2])
    if math.isinf(a) and math.isinf(b) and a == b:
        return a
    return (a + b) / 2.0


def bootstrap_interval(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], float] = np.median,
    level: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap of ``statistic`` over values that cannot be paired."""
    data = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0.0, "bootstrap", 0)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, data.size, size=(resamples, data.size))
    stats = np.apply_along_axis(statistic, 1, data[draws])
    tail = (1.0 - level) / 2.0
    return Interval(
        float(statistic(data)),
        float(np.quantile(stats, tail)),
        float(np.quantile(stats, 1.0 - tail)),
        level,
        "bootstrap",
        int(data.size),
    )


def bootstrap_ratio_interval(
    numerator: Sequence[float],
    denominator: Sequence[float],
    level: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Bootstrap of median(numerator) / median(denominator), resampling each side alone."""
    num = np.asarray([v for v in numerator if math.isfinite(v)], dtype=float)
    den = np.asarray([v for v in denominator if math.isfinite(v)], dtype=float)
    if num.size == 0 or den.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0.0, "bootstrap ratio", 0)
    rng = np.random.default_rng(seed)
    num_medians = np.median(num[rng.integers(0, num.size, size=(resamples, num.size))], axis=1)
    den_medians = np.median(den[rng.integers(0, den.size, size=(resamples, den.size))], axis=1)
    ratios = num_medians / den_medians
    tail = (1.0 - level) / 2.0
    return Interval(
        float(np.median(num) / np.median(den)),
        float(np.quantile(ratios, tail)),
        float(np.quantile(ratios, 1.0 - tail)),
        level,
        "bootstrap ratio",
        int(min(num.size, den.size)),
    )


def _relate(a: float, b: float, relation: Relation) -> float:
    if relation == "difference":
        if math.isinf(a) and math.isinf(b):
            return 0.0 if a == b else a
        return a - b
    if math.isinf(a) and math.isinf(b):
        return math.nan  # both never reached: no ratio to speak of
    if b == 0.0:
        return math.nan
    return a / b


@dataclass(frozen=True)
class Paired:
    """Two tables paired by key: the per-key values, their interval, the keys left out."""

    relation: Relation
    per_key: dict[Hashable, float]
    interval: Interval
    unpaired: tuple[Hashable, ...] = field(default=())
    """Keys present in only one table (or with no defined relation): reported, not used."""

    def decide(self, goal: float, better: Better) -> Verdict:
        """The verdict of the interval against ``goal`` (see :meth:`Interval.decide`)."""
        return self.interval.decide(goal, better)

    def signs(self, goal: float) -> tuple[int, int]:
        """How many pairs lie above and below ``goal`` (ties count in neither)."""
        values = [v for v in self.per_key.values() if not math.isnan(v)]
        return sum(v > goal for v in values), sum(v < goal for v in values)


def paired(
    treatment: Mapping[Hashable, float],
    baseline: Mapping[Hashable, float],
    relation: Relation = "difference",
    level: float = DEFAULT_LEVEL,
) -> Paired:
    """Pair two tables by key (seed or launch) and take differences or ratios.

    ``treatment - baseline`` or ``treatment / baseline`` for each key in
    both; +inf (never reached) is kept, so a ratio with a never-reached
    treatment is +inf and pushes the interval up, as it should.
    """
    keys = [k for k in treatment if k in baseline]
    per_key: dict[Hashable, float] = {}
    unpaired = [k for k in treatment if k not in baseline] + [
        k for k in baseline if k not in treatment
    ]
    for key in keys:
        value = _relate(float(treatment[key]), float(baseline[key]), relation)
        if math.isnan(value):
            unpaired.append(key)
        else:
            per_key[key] = value
    interval = order_statistic_interval(list(per_key.values()), level)
    return Paired(relation, per_key, interval, tuple(unpaired))


__all__ = [
    "DEFAULT_LEVEL",
    "Interval",
    "Paired",
    "bootstrap_interval",
    "bootstrap_ratio_interval",
    "order_statistic_coverage",
    "order_statistic_interval",
    "paired",
]
