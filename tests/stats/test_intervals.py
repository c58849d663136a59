"""The one interval helper on hand-made tables: exact coverage, pairing, verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dnibench.stats import (
    Verdict,
    bootstrap_interval,
    bootstrap_ratio_interval,
    order_statistic_interval,
    paired,
)
from dnibench.stats.intervals import order_statistic_coverage


def test_five_values_give_min_max_at_93_75_percent() -> None:
    interval = order_statistic_interval([3.0, 1.0, 5.0, 2.0, 4.0])
    assert (interval.estimate, interval.low, interval.high) == (3.0, 1.0, 5.0)
    assert interval.level == pytest.approx(0.9375)
    assert interval.n == 5


def test_three_values_say_their_lower_coverage() -> None:
    interval = order_statistic_interval([1.0, 2.0, 3.0])
    assert (interval.low, interval.high) == (1.0, 3.0)
    assert interval.level == pytest.approx(0.75)


def test_more_values_narrow_the_interval() -> None:
    values = list(range(1, 21))
    interval = order_statistic_interval([float(v) for v in values])
    assert interval.low > 1.0 and interval.high < 20.0
    assert interval.level >= 0.90


def test_coverage_matches_the_binomial() -> None:
    assert order_statistic_coverage(5, 1) == pytest.approx(1 - 2 / 32)
    assert order_statistic_coverage(5, 2) == pytest.approx(1 - 2 * 6 / 32)
    with pytest.raises(ValueError):
        order_statistic_coverage(5, 4)


def test_nan_is_dropped_and_inf_kept() -> None:
    interval = order_statistic_interval([1.0, math.nan, math.inf, 2.0, 3.0, 4.0])
    assert interval.n == 5
    assert interval.high == math.inf
    assert interval.estimate == 3.0


def test_paired_differences_decide_met_missed_inconclusive() -> None:
    base = {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0, 4: 5.0}
    better = {k: v + 0.1 * (k + 1) for k, v in base.items()}
    assert paired(better, base).decide(0.0, ">") is Verdict.MET
    assert paired(base, better).decide(0.0, ">") is Verdict.MISSED
    mixed = {0: 1.2, 1: 1.9, 2: 3.1, 3: 3.8, 4: 5.3}
    result = paired(mixed, base)
    assert result.decide(0.0, ">") is Verdict.INCONCLUSIVE
    assert result.signs(0.0) == (3, 2)


def test_paired_ratio_straddling_one_is_inconclusive() -> None:
    dni = {0: 9.0, 1: 11.0, 2: 8.0, 3: 12.0, 4: 10.0}
    exact = {0: 10.0, 1: 10.0, 2: 10.0, 3: 10.0, 4: 10.0}
    result = paired(dni, exact, relation="ratio")
    assert result.interval.low == pytest.approx(0.8)
    assert result.interval.high == pytest.approx(1.2)
    assert result.decide(1.0, "<") is Verdict.INCONCLUSIVE


def test_a_never_reached_seed_pushes_the_ratio_up() -> None:
    dni = {0: 5.0, 1: 6.0, 2: 5.5, 3: math.inf, 4: 5.2}
    exact = {k: 10.0 for k in range(5)}
    result = paired(dni, exact, relation="ratio")
    assert result.interval.high == math.inf
    assert result.decide(1.0, "<") is Verdict.INCONCLUSIVE


def test_keys_in_one_table_only_are_reported_not_used() -> None:
    result = paired({0: 1.0, 1: 2.0, 7: 3.0}, {0: 0.5, 1: 1.0, 2: 9.0})
    assert set(result.per_key) == {0, 1}
    assert set(result.unpaired) == {7, 2}


def test_no_pairs_is_not_measured() -> None:
    assert paired({0: 1.0}, {1: 1.0}).decide(0.0, ">") is Verdict.NOT_MEASURED


def test_bootstrap_brackets_the_median_and_is_reproducible() -> None:
    values = list(np.linspace(1.0, 2.0, 11))
    first = bootstrap_interval(values, seed=3, resamples=2000)
    second = bootstrap_interval(values, seed=3, resamples=2000)
    assert first == second
    assert first.low <= first.estimate <= first.high
    assert first.low > 1.0 and first.high < 2.0


def test_bootstrap_ratio_of_clearly_different_groups_excludes_one() -> None:
    fast = [2.0, 2.1, 1.9, 2.05, 1.95]
    slow = [1.0, 1.05, 0.95, 1.02, 0.98]
    interval = bootstrap_ratio_interval(fast, slow, resamples=2000)
    assert interval.decide(1.0, ">") is Verdict.MET
    assert interval.estimate == pytest.approx(2.0)


def test_interval_text_names_level_and_method() -> None:
    text = order_statistic_interval([1.0, 2.0, 3.0, 4.0, 5.0]).text(".1f")
    assert text == "3.0 [1.0, 5.0] (93.8%, order statistics, n=5)"
