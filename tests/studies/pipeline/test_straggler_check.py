"""The straggler verdict: a slowed benchmark against its plain twin, from the run's rows."""

from __future__ import annotations

import pandas as pd
import pytest

from dnibench.rundir.config import Spec
from dnibench.studies.pipeline.straggler_check import straggler_targets, twins

BASE = {"mode": "gpipe", "microbatches": 8, "stages": 2, "slow_stage": None, "slow_factor": 1.0}
SPECS = {
    "gpipe-m8": Spec({**BASE, "name": "gpipe-m8"}),
    "gpipe-m8-slow1": Spec({**BASE, "name": "gpipe-m8-slow1", "slow_stage": 1, "slow_factor": 3.0}),
    "gpipe-m4": Spec({**BASE, "name": "gpipe-m4", "microbatches": 4}),
}


def _frame(per_microbatch: dict[str, tuple[float, float]]) -> pd.DataFrame:
    rows = [
        {"benchmark": bench, "metric": "busy_per_microbatch", "stage": stage, "repeat": 0,
         "value": value}
        for bench, values in per_microbatch.items()
        for stage, value in enumerate(values)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_a_slowed_benchmark_is_paired_with_its_plain_twin_only() -> None:
    assert twins(SPECS) == [("gpipe-m8-slow1", "gpipe-m8", 1, 3.0)]
    assert twins({k: v for k, v in SPECS.items() if k != "gpipe-m8"}) == []


def test_the_slowed_stage_growing_by_its_factor_meets_both_targets() -> None:
    frame = _frame({"gpipe-m8": (0.010, 0.010), "gpipe-m8-slow1": (0.011, 0.029)})
    other, slowed = sorted(straggler_targets(frame, SPECS), key=lambda t: t.better == ">=")
    assert "slowed stage 1" in slowed.name and "stage 0 (not slowed)" in other.name
    assert slowed.measured == pytest.approx(2.9) and slowed.goal == 2.0 and slowed.met is True
    assert other.measured == pytest.approx(1.1) and other.met is True


def test_a_slow_down_that_did_not_show_or_spread_is_missed() -> None:
    frame = _frame({"gpipe-m8": (0.010, 0.010), "gpipe-m8-slow1": (0.025, 0.012)})
    verdicts = {t.better == ">=": t.met for t in straggler_targets(frame, SPECS)}
    assert verdicts == {True: False, False: False}
