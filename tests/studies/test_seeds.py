"""Per-seed values, median and spread as every study's report reads them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dnibench.studies.seeds import median, seed_values, spread


def test_seed_values_come_in_repeat_order_with_nan_kept() -> None:
    results = pd.DataFrame(
        {
            "benchmark": ["a", "a", "a", "b"],
            "metric": ["bpc", "bpc", "bpc", "bpc"],
            "repeat": [2, 0, 1, 0],
            "value": [3.0, 1.0, math.nan, 9.0],
        }
    )
    values = seed_values(results, "a")
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == 3.0


def test_median_and_spread_skip_nan_and_are_nan_when_nothing_is_finite() -> None:
    values = np.array([1.0, math.nan, 4.0, 2.0])
    assert median(values) == 2.0
    assert spread(values) == 3.0
    assert math.isnan(median(np.array([math.nan]))) and math.isnan(spread(np.array([])))
