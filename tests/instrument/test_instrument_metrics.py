"""Pipeline metrics on hand-made spans whose answers are known exactly.

The GPipe-like schedule used below (K=2, m=2, forward 1u, backward 2u,
optimizer 1u, one step every P=10u)::

    t:        0    1    2    3    4    5    6    7    8    9   10
    stage 0:  F0   F1   wg   wg   wg   B1   B1   B0   B0   O  | F0 ...
    stage 1:  wa   F0   F1   B1   B1   B0   B0   O    .    .  | ...

Stage 1 waits for the next step's activation from t=8 of one step (its wait
span straddles the step boundary) to t=1 of the next; t=8..10 of its last
step is unattributed. Each stage is busy 7u of every 10u.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dnibench.instrument import SpanKind as K
from dnibench.instrument import gpipe_bubble, pipeline_metrics, stage_metrics

U = 1_000_000  # one time unit = 1 ms in ns
P = 10 * U
MB_SAMPLES = 8
SAMPLES_PER_STEP = 2 * MB_SAMPLES


def gpipe_spans(steps: int, origin: int = 5 * 10**12) -> list[np.ndarray]:
    """Stage 0 and stage 1 spans of the schedule drawn in the module docstring."""
    s0: list[tuple[int, int, int, int]] = []
    s1: list[tuple[int, int, int, int]] = []
    for i in range(steps):
        t = origin + i * P

        def at(a: int, b: int, t: int = t) -> tuple[int, int]:
            return t + a * U, t + b * U

        s0 += [
            (K.STEP, -1, *at(0, 10)),
            (K.FORWARD, 0, *at(0, 1)),
            (K.SEND, 0, *at(1, 1)),
            (K.FORWARD, 1, *at(1, 2)),
            (K.WAIT_GRADIENT, -1, *at(2, 5)),
            (K.BACKWARD, 1, *at(5, 7)),
            (K.BACKWARD, 0, *at(7, 9)),
            (K.OPTIMIZER, -1, *at(9, 10)),
        ]
        wait_from = 0 if i == 0 else -2
        s1 += [
            (K.STEP, -1, *at(wait_from, 8)),
            (K.WAIT_ACTIVATION, 0, *at(wait_from, 1)),
            (K.FORWARD, 0, *at(1, 2)),
            (K.FORWARD, 1, *at(2, 3)),
            (K.BACKWARD, 1, *at(3, 5)),
            (K.BACKWARD, 0, *at(5, 7)),
            (K.OPTIMIZER, -1, *at(7, 8)),
        ]
    return [np.array(s0, dtype=np.int64), np.array(s1, dtype=np.int64)]


def test_gpipe_pattern_fractions_and_efficiency() -> None:
    spans = gpipe_spans(steps=6)
    m = pipeline_metrics(spans, SAMPLES_PER_STEP, warmup_steps=2)
    assert m.window_s == pytest.approx(4 * P / 1e9)
    assert m.samples == 4 * SAMPLES_PER_STEP
    assert m.throughput == pytest.approx(SAMPLES_PER_STEP / (P / 1e9))  # 1600/s
    assert m.throughput_windows == pytest.approx([1600.0] * 4)
    assert m.throughput_iqr == pytest.approx(0.0)
    assert m.throughput_mean == pytest.approx(1600.0)
    st0, st1 = m.stages
    assert (st0.stage, st1.stage) == (0, 1)
    assert st0.busy_fraction == pytest.approx(0.7)
    assert st0.wait_gradient_fraction == pytest.approx(0.3)
    assert st0.wait_activation_fraction == 0.0
    assert st0.comm_fraction == 0.0  # zero-length sends
    assert st1.busy_fraction == pytest.approx(0.7)
    assert st1.wait_gradient_fraction == 0.0
    # 1u of the straddling wait at the window start, then 3u for each later step.
    assert st1.wait_activation_fraction == pytest.approx((1 + 3 * 3) / 40)
    assert st0.microbatches == st1.microbatches == 8
    assert st0.busy_per_microbatch_s == pytest.approx(3.5 * U / 1e9)
    assert m.ideal_throughput == pytest.approx(MB_SAMPLES / (3.5 * U / 1e9))
    assert m.efficiency == pytest.approx(0.7)


def test_no_warmup_starts_at_first_step() -> None:
    spans = gpipe_spans(steps=3)
    m = pipeline_metrics(spans, SAMPLES_PER_STEP, warmup_steps=0)
    assert m.window_s == pytest.approx(3 * P / 1e9)
    assert m.stages[1].wait_activation_fraction == pytest.approx((1 + 3 + 3) / 30)


def test_slowest_stage_sets_ideal_throughput() -> None:
    spans = gpipe_spans(steps=4)
    slow = spans[1].copy()
    # Stage 1's optimizer also does an SG update nested in it: counted once.
    opt = slow[slow[:, 0] == K.OPTIMIZER]
    nested = opt.copy()
    nested[:, 0] = K.SG_UPDATE
    # And a separate 2u SI update per step in its idle tail (t=8..10).
    extra = opt.copy()
    extra[:, 0] = K.SI_UPDATE
    extra[:, 2] = opt[:, 3]
    extra[:, 3] = opt[:, 3] + 2 * U
    spans[1] = np.concatenate([slow, nested, extra])
    m = pipeline_metrics(spans, SAMPLES_PER_STEP, warmup_steps=1)
    assert m.stages[1].busy_fraction == pytest.approx(0.9)
    assert m.stages[1].busy_per_microbatch_s == pytest.approx(4.5 * U / 1e9)
    assert m.ideal_throughput == pytest.approx(MB_SAMPLES / (4.5 * U / 1e9))
    assert m.efficiency == pytest.approx(1600 / (MB_SAMPLES / 4.5e-3))


def test_stage_metrics_clips_to_window() -> None:
    spans = np.array(
        [
            (K.FORWARD, 0, 0, 10),  # straddles the start: 5 inside, not counted as started
            (K.BACKWARD, 0, 12, 18),  # fully inside
            (K.FORWARD, 1, 18, 30),  # straddles the end: 2 inside, started inside
            (K.WAIT_ACTIVATION, -1, 30, 40),  # entirely after the window
            (K.RECV, 1, 10, 12),
            (K.WAIT_GRADIENT, -1, 19, 21),  # inside a forward: waits are their own group
        ],
        dtype=np.int64,
    )
    st = stage_metrics(3, spans, 5, 20)
    assert st.stage == 3
    assert st.window_s == pytest.approx(15e-9)
    assert st.busy_s == pytest.approx(13e-9)
    assert st.busy_fraction == pytest.approx(13 / 15)
    assert st.comm_fraction == pytest.approx(2 / 15)
    assert st.wait_gradient_fraction == pytest.approx(1 / 15)
    assert st.wait_activation_fraction == 0.0
    assert st.microbatches == 1
    assert st.busy_per_microbatch_s == pytest.approx(13e-9)


def test_adjacent_windows_add_up() -> None:
    spans = gpipe_spans(steps=3)[1]
    t0, t1 = int(spans[:, 2].min()), int(spans[:, 3].max())
    cut = t0 + 13 * U + 123
    whole = stage_metrics(1, spans, t0, t1)
    a, b = stage_metrics(1, spans, t0, cut), stage_metrics(1, spans, cut, t1)
    assert a.busy_s + b.busy_s == pytest.approx(whole.busy_s)
    assert a.microbatches + b.microbatches == whole.microbatches


def test_stage_without_forwards_has_nan_per_microbatch() -> None:
    st = stage_metrics(0, np.empty((0, 4), dtype=np.int64), 0, 10)
    assert st.busy_fraction == 0.0
    assert st.microbatches == 0
    assert math.isnan(st.busy_per_microbatch_s)
    with pytest.raises(ValueError, match="empty window"):
        stage_metrics(0, np.empty((0, 4), dtype=np.int64), 10, 10)


def step_only(durations_ms: list[float], start: int = 0) -> np.ndarray:
    """One stage with back-to-back STEP spans of the given lengths."""
    rows, t = [], start
    for d in durations_ms:
        rows.append((K.STEP, -1, t, t + int(d * U)))
        t += int(d * U)
    return np.array(rows, dtype=np.int64)


def test_throughput_windows_median_and_leftover() -> None:
    # warm-up 1 (slow), then windows of 2 steps: (1+1), (2+2), (1+3); 1 leftover step of 4.
    spans = step_only([50, 1, 1, 2, 2, 1, 3, 4])
    m = pipeline_metrics([spans], samples_per_step=10, warmup_steps=1, steps_per_window=2)
    assert m.throughput_windows == pytest.approx([20 / 2e-3, 20 / 4e-3, 20 / 4e-3])
    assert m.throughput == pytest.approx(5000.0)
    q25, q75 = np.percentile([10000.0, 5000.0, 5000.0], [25, 75])
    assert m.throughput_iqr == pytest.approx(q75 - q25)
    assert m.samples == 70
    assert m.window_s == pytest.approx(14e-3)
    assert m.throughput_mean == pytest.approx(70 / 14e-3)
    # STEP spans alone (spans off): throughput yes, ideal/efficiency undefined.
    assert math.isnan(m.ideal_throughput)
    assert math.isnan(m.efficiency)


def test_step_end_is_latest_over_stages_and_common_steps_only() -> None:
    fast = step_only([1, 1, 1, 1])
    slow = step_only([1, 2, 2])  # ends steps at 1, 3, 5 ms; its 4th step never came
    m = pipeline_metrics([fast, slow], samples_per_step=4, warmup_steps=1)
    assert m.throughput_windows == pytest.approx([4 / 2e-3, 4 / 2e-3])
    assert m.window_s == pytest.approx(4e-3)


def test_step_order_follows_start_time_not_row_order() -> None:
    spans = step_only([1, 2, 4])[::-1].copy()
    m = pipeline_metrics([spans], samples_per_step=1, warmup_steps=1)
    assert m.throughput_windows == pytest.approx([1 / 2e-3, 1 / 4e-3])


def test_too_few_steps_and_bad_arguments() -> None:
    spans = [step_only([1, 1])]
    with pytest.raises(ValueError, match="at least"):
        pipeline_metrics(spans, samples_per_step=1, warmup_steps=2)
    with pytest.raises(ValueError, match="steps_per_window"):
        pipeline_metrics(spans, samples_per_step=1, warmup_steps=0, steps_per_window=0)
    with pytest.raises(ValueError, match="samples_per_step"):
        pipeline_metrics(spans, samples_per_step=0, warmup_steps=0)
    with pytest.raises(ValueError, match="at least one stage"):
        pipeline_metrics([], samples_per_step=1, warmup_steps=0)
    with pytest.raises(ValueError, match="shape"):
        pipeline_metrics([np.zeros((3, 3), dtype=np.int64)], 1, 0)


def test_gpipe_bubble() -> None:
    assert gpipe_bubble(1, 8) == 0.0
    assert gpipe_bubble(4, 1) == pytest.approx(3 / 4)
    assert gpipe_bubble(4, 8) == pytest.approx(3 / 11)
    with pytest.raises(ValueError):
        gpipe_bubble(0, 4)


def test_later_virtual_stage_forwards_are_busy_but_not_new_microbatches() -> None:
    """A rank with two virtual stages runs two forwards per microbatch: one microbatch."""
    from dnibench.instrument.metrics import LATER_VIRTUAL_STAGE

    spans = np.array(
        [
            (K.FORWARD, 0, 0, 1 * U),
            (K.FORWARD, LATER_VIRTUAL_STAGE - 0, 1 * U, 2 * U),
            (K.FORWARD, 1, 2 * U, 3 * U),
            (K.FORWARD, LATER_VIRTUAL_STAGE - 1, 3 * U, 4 * U),
            (K.BACKWARD_WEIGHT, 1, 4 * U, 6 * U),
        ],
        dtype=np.int64,
    )
    metrics = stage_metrics(0, spans, 0, 10 * U)
    assert metrics.microbatches == 2
    assert metrics.busy_s == pytest.approx(6e-3)
    assert metrics.busy_per_microbatch_s == pytest.approx(3e-3)
