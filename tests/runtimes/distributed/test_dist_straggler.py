"""The straggler knob: a real delay on one stage, for dnibench's schedules and the peers alike.

A slowed stage sleeps ``slow_factor - 1`` times each forward and backward,
inside its span, so its compute spans grow by the factor while the other
stage's do not. Compared against the same benchmark unslowed, with a wide
margin (factor 3, asserted >= 2), so a busy machine cannot fake or hide it.
"""

from __future__ import annotations

import numpy as np
import pytest

from dnibench.bench.run import run_benchmark
from dnibench.instrument import SpanKind
from dnibench.runtimes.spec import BenchSpec

COMPUTE = (int(SpanKind.FORWARD), int(SpanKind.BACKWARD))


def _spec(mode: str, slow_stage: int | None) -> BenchSpec:
    return BenchSpec(
        name=f"{mode}-straggler",
        mode=mode,
        width=256,
        depth=3,
        input_shape=(256,),
        stages=2,
        microbatches=2,
        batch_size=64,
        steps=8,
        warmup=2,
        slow_stage=slow_stage,
        slow_factor=3.0 if slow_stage is not None else 1.0,
    )


def _compute_ms(spans: np.ndarray) -> float:
    """Mean duration of a stage's forward and backward spans, in ms."""
    rows = spans[np.isin(spans[:, 0], COMPUTE)]
    assert len(rows), "no compute spans recorded"
    return float(np.mean(rows[:, 3] - rows[:, 2])) / 1e6


@pytest.mark.parametrize("mode", ["gpipe", "torch-gpipe"])
def test_slow_stage_slows_only_that_stage(mode: str) -> None:
    plain = run_benchmark(_spec(mode, None), deadline_s=120).aligned_spans()
    slowed = run_benchmark(_spec(mode, 1), deadline_s=120).aligned_spans()
    growth = [_compute_ms(slowed[k]) / _compute_ms(plain[k]) for k in range(2)]
    assert growth[1] >= 2.0, f"stage 1 compute grew only {growth[1]:.2f}x at slow_factor 3"
    assert growth[0] < 2.0, f"stage 0 was slowed too ({growth[0]:.2f}x)"
