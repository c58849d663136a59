"""Launch comparisons on hand-made results tables: paired when interleaved, else bootstrapped."""

from __future__ import annotations

import pandas as pd
import pytest

from dnibench.stats import Verdict
from dnibench.studies.pipeline.launch_pairs import compare_launches, interleaved, launch_values


def _table(order: list[tuple[str, int, float]]) -> pd.DataFrame:
    """results.csv rows in the given order: (benchmark, launch, throughput)."""
    return pd.DataFrame(
        [
            {"benchmark": b, "metric": "throughput", "stage": -1, "repeat": r, "value": v}
            for b, r, v in order
        ]
    )


def _rounds(a: list[float], b: list[float]) -> pd.DataFrame:
    rows = []
    for r, (x, y) in enumerate(zip(a, b, strict=True)):
        rows += [("a", r, x), ("b", r, y)]
    return _table(rows)


def test_round_order_is_interleaved_and_back_to_back_is_not() -> None:
    rounds = _rounds([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert interleaved(rounds, "a", "b")
    back_to_back = _table([("a", 0, 1.0), ("a", 1, 1.0), ("b", 0, 1.0), ("b", 1, 1.0)])
    assert not interleaved(back_to_back, "a", "b")
    assert launch_values(rounds, "a") == {0: 1.0, 1: 2.0, 2: 3.0}


def test_paired_launches_cancel_a_shared_slow_spell() -> None:
    # The machine slows down launch by launch; a is always 10% faster than b in the same round.
    b = [1000.0, 700.0, 400.0, 900.0, 600.0]
    ratio = compare_launches(_rounds([1.1 * x for x in b], b), "a", "b")
    assert ratio.paired
    assert ratio.interval.low == pytest.approx(1.1) and ratio.interval.high == pytest.approx(1.1)
    assert ratio.decide(1.0, ">") is Verdict.MET
    # The same numbers run back to back cannot be paired: the bootstrap sees the spell as noise.
    rows = [("a", r, 1.1 * x) for r, x in enumerate(b)] + [("b", r, x) for r, x in enumerate(b)]
    unpaired = compare_launches(_table(rows), "a", "b")
    assert not unpaired.paired
    assert unpaired.decide(1.0, ">") is Verdict.INCONCLUSIVE


def test_interval_straddling_one_is_inconclusive_and_below_is_missed() -> None:
    straddle = compare_launches(_rounds([1.05, 0.95, 1.02], [1.0, 1.0, 1.0]), "a", "b")
    assert straddle.interval.low < 1.0 < straddle.interval.high
    assert straddle.decide(1.0, ">") is Verdict.INCONCLUSIVE
    slower = compare_launches(_rounds([0.9, 0.8, 0.95], [1.0, 1.0, 1.0]), "a", "b")
    assert slower.decide(1.0, ">") is Verdict.MISSED
    assert slower.cell() == "0.900 [0.800, 0.950]"


def test_missing_benchmark_is_not_measured() -> None:
    ratio = compare_launches(_rounds([1.0], [1.0]), "a", "nope")
    assert ratio.decide(1.0, ">") is Verdict.NOT_MEASURED and ratio.cell() == "—"
