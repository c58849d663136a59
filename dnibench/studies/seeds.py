"""Per-seed figures that every study's report reads the same way.

A report compares regimes over seeds (repeats): one value per seed, NaN
where a seed measured nothing, and the median and spread over the finite
ones. The feed-forward and recurrent studies both need this, so it lives
beside them rather than inside either.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Fewest seeds a verdict over seeds is read from.
MIN_SEEDS = 3


def seed_values(results: pd.DataFrame, bench: str, metric: str = "bpc") -> np.ndarray:
    """A benchmark's metric per seed (repeat order), NaN kept."""
    frame = results[(results["benchmark"] == bench) & (results["metric"] == metric)]
    return frame.sort_values("repeat")["value"].to_numpy(dtype=float)


def spread(values: np.ndarray) -> float:
    """Max minus min over the finite values (NaN when none)."""
    finite = values[np.isfinite(values)]
    return float(finite.max() - finite.min()) if finite.size else math.nan


def median(values: np.ndarray) -> float:
    """Median over the finite values (NaN when none)."""
    finite = values[np.isfinite(values)]
    return float(np.median(finite)) if finite.size else math.nan


__all__ = ["MIN_SEEDS", "median", "seed_values", "spread"]
