"""The figures that answer "does DNI-8 capture what tbptt-40 captures?", from a run's tables.

Everything here reads plain tables, so tests can feed hand-made ones:
``results`` (tidy rows: benchmark, metric, repeat, value) and ``curves``
(``rnn_curves.csv``: benchmark, repeat, chars, seconds, valid_bpc, test_bpc,
sg_norm_ratio). A run's figure is ``bpc``: its test BPC at its
best-validation evaluation. Definitions (the recurrent study's, used as is):

- **seed spread**: max minus min of a benchmark's figure over its seeds
  (at least :data:`MIN_SEEDS`), shown beside the paired figures;
- **premise margin**: per seed, BPC of tbptt-8 minus BPC of tbptt-40 (paired
  by seed: arrays in repeat order); the **premise holds** when the paired
  interval (:mod:`dnibench.stats`) lies wholly above 0;
- **gap closed** by a DNI seed: (BPC_tbptt8 - BPC_dni) / (BPC_tbptt8 -
  BPC_tbptt40), the baselines of the same seed (never medians, whose own
  noise would leak into every seed's figure); at equal characters (every
  run's whole budget) and at equal training seconds (every run cut at the
  shortest run's seconds, its best-validation checkpoint up to then);
- **diverged**: a non-finite loss, or validation BPC more than
  :data:`BPC_DIVERGENCE` above tbptt-8's (median curve, at the same
  characters) at two evaluations in a row, or the SG's norm more than
  :data:`NORM_DIVERGENCE` times the true boundary gradient's at two in a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnibench import target_reach
from dnibench.stats import Interval, Verdict, paired
from dnibench.studies.seeds import MIN_SEEDS, median, seed_values, spread

BPC_DIVERGENCE = 0.3
NORM_DIVERGENCE = 10.0


@dataclass(frozen=True)
class Premise:
    """Does the long truncation beat the short one by more than the seed spread?"""

    short: np.ndarray
    long: np.ndarray

    @property
    def interval(self) -> Interval:
        """The paired interval of tbptt-8 minus tbptt-40, seed by seed."""
        return paired(dict(enumerate(self.short)), dict(enumerate(self.long))).interval

    @property
    def margin(self) -> float:
        """The median over seeds of tbptt-8 minus tbptt-40 (paired)."""
        return self.interval.estimate

    @property
    def spread(self) -> float:
        return max(spread(self.short), spread(self.long))

    @property
    def seeds(self) -> int:
        return int(min(np.isfinite(self.short).sum(), np.isfinite(self.long).sum()))

    @property
    def failure(self) -> str | None:
        """None when the premise holds, else why it does not (the "not testable" reason)."""
        if self.seeds < MIN_SEEDS:
            return f"needs {MIN_SEEDS} seeds of tbptt-8 and tbptt-40, has {self.seeds}"
        interval = self.interval
        if interval.decide(0.0, ">") is not Verdict.MET:
            return (
                f"tbptt-40 does not beat tbptt-8 here (paired margin {interval.estimate:+.3f} "
                f"BPC, interval [{interval.low:+.3f}, {interval.high:+.3f}] at "
                f"{interval.level:.0%} over {interval.n} seeds)"
            )
        return None

    @property
    def holds(self) -> bool:
        return self.failure is None


def gap_closed(dni: np.ndarray, short: np.ndarray, long: np.ndarray) -> np.ndarray:
    """Per seed, the share of that seed's tbptt-8 -> tbptt-40 gap its DNI run closes.

    Arrays in repeat order, paired index by index (NaN where a seed lacks a
    value or has no gap).
    """
    count = min(dni.size, short.size, long.size)
    gap = short[:count] - long[:count]
    with np.errstate(divide="ignore", invalid="ignore"):
        closed = np.where(gap != 0, (short[:count] - dni[:count]) / gap, math.nan)
    return np.asarray(closed, dtype=float)


def _runs(curves: pd.DataFrame, bench: str) -> list[pd.DataFrame]:
    frame = curves[(curves["benchmark"] == bench) & curves["valid_bpc"].notna()]
    return [group.sort_values("chars") for _, group in frame.groupby("repeat", sort=True)]


def best_within(run: pd.DataFrame, seconds: float) -> float:
    """Test BPC at the best-validation trained evaluation at or before ``seconds``."""
    trained = run[(run["chars"] > 0) & (run["seconds"] <= seconds + 1e-9)]
    if trained.empty:
        return math.nan
    return float(trained.loc[trained["valid_bpc"].idxmin(), "test_bpc"])


def best_within_chars(run: pd.DataFrame, chars: float) -> float:
    """Test BPC at the best-validation trained evaluation at or before ``chars`` characters.

    With a constant learning rate and a fixed data order, this is what a run
    with a budget of ``chars`` would report: the first part of a longer run.
    """
    trained = run[(run["chars"] > 0) & (run["chars"] <= chars)]
    if trained.empty:
        return math.nan
    return float(trained.loc[trained["valid_bpc"].idxmin(), "test_bpc"])


def premise_at_budget(curves: pd.DataFrame, short: str, long: str, chars: float) -> Premise:
    """The premise as a run with a budget of ``chars`` characters would have judged it."""
    return Premise(
        np.array([best_within_chars(run, chars) for run in _runs(curves, short)]),
        np.array([best_within_chars(run, chars) for run in _runs(curves, long)]),
    )


def equal_seconds(curves: pd.DataFrame, benches: list[str]) -> tuple[float, dict[str, np.ndarray]]:
    """The shortest run's training seconds over ``benches``, and each seed's BPC cut there."""
    runs = {bench: _runs(curves, bench) for bench in benches}
    ends = [float(run["seconds"].max()) for group in runs.values() for run in group]
    if not ends:
        return math.nan, {bench: np.array([]) for bench in benches}
    cut = min(ends)
    return cut, {b: np.array([best_within(r, cut) for r in group]) for b, group in runs.items()}


def first_reach(run: pd.DataFrame, target: float) -> tuple[float, float]:
    """(characters, seconds) at the first evaluation whose validation BPC reaches ``target``."""
    rows = run[["chars", "seconds", "valid_bpc"]].to_numpy(dtype=float)
    return target_reach.first_reach(rows, target, higher_is_better=False)


def best_valid_target(curves: pd.DataFrame, long: str) -> float:
    """tbptt-40's best validation BPC: the median over its seeds of each seed's minimum."""
    minima = [float(run[run["chars"] > 0]["valid_bpc"].min()) for run in _runs(curves, long)]
    return median(np.array(minima)) if minima else math.nan


def reach(curves: pd.DataFrame, bench: str, target: float) -> np.ndarray:
    """Per seed of ``bench``: (characters, seconds) to reach ``target``, shape (seeds, 2)."""
    points = [first_reach(run, target) for run in _runs(curves, bench)]
    return np.array(points, dtype=float).reshape(-1, 2)


@dataclass(frozen=True)
class Divergence:
    """Per seed of one DNI benchmark: the reason it diverged, or None."""

    reasons: list[str | None]

    @property
    def count(self) -> int:
        return sum(reason is not None for reason in self.reasons)


def _twice_in_a_row(flags: np.ndarray) -> int | None:
    """Index of the second of the first two consecutive True flags (None: never)."""
    for index in range(1, len(flags)):
        if flags[index] and flags[index - 1]:
            return index
    return None


def divergence(
    results: pd.DataFrame, curves: pd.DataFrame, dni: str, short: str | None
) -> Divergence:
    """Apply the three divergence rules to every seed of ``dni`` (tbptt-8 for the BPC rule)."""
    reference = None
    if short is not None:
        runs = _runs(curves, short)
        if runs:
            merged = pd.concat(runs).groupby("chars")["valid_bpc"].median()
            reference = (merged.index.to_numpy(dtype=float), merged.to_numpy(dtype=float))
    nonfinite = seed_values(results, dni, "nonfinite_loss")
    reasons: list[str | None] = []
    for index, run in enumerate(_runs(curves, dni)):
        if index < nonfinite.size and nonfinite[index] == 1:
            reasons.append("non-finite training loss")
            continue
        trained = run[run["chars"] > 0]
        reason = None
        if reference is not None:
            above = trained["valid_bpc"].to_numpy(dtype=float) - np.interp(
                trained["chars"].to_numpy(dtype=float), *reference
            )
            at = _twice_in_a_row(above > BPC_DIVERGENCE)
            if at is not None:
                chars = int(trained["chars"].iloc[at])
                reason = f"validation BPC > tbptt-8's + {BPC_DIVERGENCE} twice by {chars:,} chars"
        if reason is None and "sg_norm_ratio" in trained:
            ratios = pd.to_numeric(trained["sg_norm_ratio"], errors="coerce").to_numpy()
            at = _twice_in_a_row(ratios > NORM_DIVERGENCE)
            if at is not None:
                chars = int(trained["chars"].iloc[at])
                reason = (
                    f"SG norm > {NORM_DIVERGENCE:g}x the true gradient's twice by {chars:,} chars"
                )
        reasons.append(reason)
    return Divergence(reasons)


__all__ = [
    "BPC_DIVERGENCE",
    "MIN_SEEDS",
    "NORM_DIVERGENCE",
    "Divergence",
    "Premise",
    "best_valid_target",
    "best_within",
    "best_within_chars",
    "divergence",
    "equal_seconds",
    "first_reach",
    "gap_closed",
    "median",
    "premise_at_budget",
    "reach",
    "seed_values",
    "spread",
]
