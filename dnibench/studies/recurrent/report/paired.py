"""Paired-by-seed verdicts for the character-LM targets, through :mod:`dnibench.stats`.

Every regime of an rnn suite runs the same seeds (repeat r is seed + r, the
same initialisation and data order for every regime), so comparisons pair
seed with seed: each seed gives one difference or ratio, the one interval
helper (:func:`dnibench.stats.paired`, order statistics) gives the interval,
and the verdict is "met" only when the whole interval lies on the claimed
side of the goal, "missed" when it lies wholly on the other, "inconclusive"
when it straddles. Nothing is divided by a median baseline: a seed's gap
closed uses that seed's own tbptt-8 and tbptt-40, so the zero-SG control,
equal to tbptt-8 seed for seed, closes exactly 0 on every seed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnibench.report.tables import MISSING, fmt
from dnibench.report.verdict import Target
from dnibench.stats import Interval, Verdict, order_statistic_interval, paired
from dnibench.stats.intervals import Better, Relation

SeedTable = dict[Hashable, float]


def by_seed(results: pd.DataFrame, bench: str, metric: str = "bpc") -> SeedTable:
    """``bench``'s ``metric`` keyed by repeat (the seed offset every regime shares), NaN dropped."""
    frame = results[(results["benchmark"] == bench) & (results["metric"] == metric)]
    return {
        int(r): float(v) for r, v in zip(frame["repeat"], frame["value"], strict=True) if v == v
    }


def paired_gap_closed(dni: SeedTable, short: SeedTable, long: SeedTable) -> SeedTable:
    """Per seed: (tbptt-8 - dni) / (tbptt-8 - tbptt-40), all three of that seed (NaN: no gap)."""
    closed: SeedTable = {}
    for seed in dni:
        if seed in short and seed in long:
            gap = short[seed] - long[seed]
            closed[seed] = (short[seed] - dni[seed]) / gap if gap != 0 else math.nan
    return closed


def interval_of(values: Mapping[Hashable, float]) -> Interval:
    """The order-statistic interval of per-seed values (NaN dropped)."""
    return order_statistic_interval([v for v in values.values() if not math.isnan(v)])


def related(
    treatment: Mapping[Hashable, float], baseline: Mapping[Hashable, float], relation: Relation
) -> Interval:
    """The paired interval of ``treatment`` against ``baseline`` (difference or ratio)."""
    return paired(treatment, baseline, relation).interval


@dataclass(frozen=True)
class PairedTarget(Target):
    """A target decided by an interval over seeds (its ``measured`` is the interval's median).

    ``decide`` is the strict comparator handed to :meth:`Interval.decide`
    (``">"`` or ``"<"``); ``better`` stays the goal's comparator as shown.
    """

    interval: Interval | None = None
    decide: Better = ">"

    @property
    def decision(self) -> Verdict:
        if self.interval is None or math.isnan(self.goal):
            return Verdict.NOT_MEASURED
        return self.interval.decide(self.goal, self.decide)

    @property
    def met(self) -> bool | None:
        if self.untestable is not None:
            return None
        return {Verdict.MET: True, Verdict.MISSED: False}.get(self.decision)

    @property
    def verdict(self) -> str:
        if self.untestable is not None:
            return f"{Verdict.NOT_TESTABLE}: {self.untestable}"
        if math.isnan(self.goal) and self.interval is not None and self.interval.n:
            return str(Verdict.QUOTED)
        return str(self.decision)

    @property
    def missed_by(self) -> float:
        """How far the interval's near end is on the wrong side of the goal (0 unless missed)."""
        if self.met is not False or self.interval is None:
            return math.nan if self.met is None else 0.0
        near = self.interval.high if self.decide == ">" else self.interval.low
        return abs(near - self.goal)

    def row(self) -> str:
        """Like :meth:`Target.row`, the measured cell being ``median [low, high] (coverage)``."""
        if self.interval is None or self.interval.n == 0:
            return super().row()
        measured = _interval_cell(self.interval, self.spec)
        missed = MISSING if self.met in (True, None) else fmt(self.missed_by, self.spec)
        if self.met is False and math.isinf(self.missed_by):
            missed = "never reached"
        hint = self.hint if self.met is False else ""
        goal = MISSING if math.isnan(self.goal) else f"{self.better} {fmt(self.goal, self.spec)}"
        return f"| {self.name} | {measured} | {goal} | {self.verdict} | {missed} | {hint} |"


def _interval_cell(interval: Interval, spec: str) -> str:
    def cell(value: float) -> str:
        return "never reached" if math.isinf(value) else fmt(value, spec)

    return (
        f"{cell(interval.estimate)} [{cell(interval.low)}, {cell(interval.high)}] "
        f"({interval.level:.0%}, n={interval.n})"
    )


def per_seed_text(values: Mapping[Hashable, float], spec: str) -> str:
    """``seed: value`` pairs in seed order, for a report cell."""
    if not values:
        return MISSING
    return ", ".join(f"{fmt(float(values[k]), spec)}" for k in sorted(values, key=_order))


def as_array(values: Mapping[Hashable, float]) -> np.ndarray:
    """The values in seed order."""
    return np.array([values[k] for k in sorted(values, key=_order)], dtype=float)


def _order(key: Hashable) -> tuple[int, str]:
    return (key, "") if isinstance(key, int) else (1 << 62, str(key))


__all__ = [
    "PairedTarget",
    "SeedTable",
    "as_array",
    "by_seed",
    "interval_of",
    "paired_gap_closed",
    "per_seed_text",
    "related",
]
