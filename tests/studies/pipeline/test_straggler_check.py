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


def test_the_slowed_stage_growing_by_its_factor_is_met() -> None:
    frame = _frame({"gpipe-m8": (10.0, 10.0), "gpipe-m8-slow1": (11.0, 29.0)})
    (target,) = straggler_targets(frame, SPECS)
    assert "slowed stage 1's compute growth over stage 0's (slow_factor 3)" in target.name
    assert target.measured == pytest.approx(29 / 11) and target.goal == 2.0 and target.met


def test_a_machine_busier_in_one_launch_cancels_out() -> None:
    frame = _frame({"gpipe-m8": (10.0, 10.0), "gpipe-m8-slow1": (5.0, 15.0)})
    (target,) = straggler_targets(frame, SPECS)
    assert target.measured == pytest.approx(3.0) and target.met


def test_a_slow_down_that_reached_the_wrong_stage_or_every_stage_is_missed() -> None:
    for slowed in ((25.0, 12.0), (30.0, 30.0)):
        frame = _frame({"gpipe-m8": (10.0, 10.0), "gpipe-m8-slow1": slowed})
        (target,) = straggler_targets(frame, SPECS)
        assert target.met is False
