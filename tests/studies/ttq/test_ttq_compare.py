"""Paired verdicts and the decomposition on hand-made tables of per-seed times."""

from __future__ import annotations

import math

import pytest

from dnibench.stats import Verdict
from dnibench.studies.ttq.compare import Decomposition, best_exact, paired_verdict

EXACT = {0: 10.0, 1: 12.0, 2: 11.0, 3: 13.0, 4: 9.0}


def test_a_ratio_interval_straddling_one_is_inconclusive() -> None:
    # Ratios 0.8, 1.25, 0.9, 1.1, 1.0: the interval [0.8, 1.25] straddles 1.
    dni = {0: 8.0, 1: 15.0, 2: 9.9, 3: 14.3, 4: 9.0}
    got = paired_verdict(dni, EXACT, "1f1b")
    assert got.verdict is Verdict.INCONCLUSIVE
    assert got.result is not None
    assert got.result.interval.low < 1 < got.result.interval.high


def test_met_below_one_missed_above_one() -> None:
    faster = {seed: 0.5 * t for seed, t in EXACT.items()}
    slower = {seed: 2.0 * t for seed, t in EXACT.items()}
    assert paired_verdict(faster, EXACT, "1f1b").verdict is Verdict.MET
    assert paired_verdict(slower, EXACT, "1f1b").verdict is Verdict.MISSED
    never = {seed: math.inf for seed in EXACT}
    assert paired_verdict(never, EXACT, "1f1b").verdict is Verdict.MISSED


def test_not_testable_when_the_exact_schedule_misses_a_seed() -> None:
    exact = {**EXACT, 3: math.inf}
    got = paired_verdict(EXACT, exact, "1f1b")
    assert got.verdict is Verdict.NOT_TESTABLE and "1f1b" in got.premise
    assert paired_verdict(EXACT, None, "-").verdict is Verdict.NOT_TESTABLE


def test_the_best_exact_schedule_reaches_on_every_seed() -> None:
    quick_but_once_never = {**{s: 1.0 for s in EXACT}, 2: math.inf}
    slower = {seed: t + 1 for seed, t in EXACT.items()}
    assert best_exact({"zb": quick_but_once_never, "1f1b": EXACT, "gpipe": slower}) == "1f1b"
    assert best_exact({"zb": quick_but_once_never}) is None


def test_the_decomposition_and_its_residual() -> None:
    parts = Decomposition(samples=6400.0, throughput=3200.0, measured=2.5)
    assert parts.predicted == pytest.approx(2.0)
    assert parts.residual == pytest.approx(0.5)
    assert parts.residual_share == pytest.approx(0.2)
    assert math.isnan(Decomposition(6400.0, math.nan, 2.5).predicted)
