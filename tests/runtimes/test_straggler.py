"""The straggler rule: which stage is slowed (one selection for every runtime) and by how much."""

from __future__ import annotations

import time

import pytest

from dnibench.runtimes.straggler import slow_factor_of, straggle


def test_only_the_slow_stage_gets_the_factor() -> None:
    assert [slow_factor_of(1, 1.5, k) for k in range(3)] == [1.0, 1.5, 1.0]
    assert [slow_factor_of(None, 1.5, k) for k in range(3)] == [1.0, 1.0, 1.0]


def test_straggle_sleeps_the_extra_share_of_the_work_just_done() -> None:
    started = time.perf_counter()
    time.sleep(0.02)
    before = time.perf_counter()
    straggle(2.0, started)
    assert time.perf_counter() - before == pytest.approx(0.02, abs=0.05)
    before = time.perf_counter()
    straggle(1.0, started)  # not slowed: no sleep at all
    assert time.perf_counter() - before < 0.01
