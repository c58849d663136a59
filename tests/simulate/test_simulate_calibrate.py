"""Costs, overhead and link delay read back from hand-made spans, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dnibench.errors import UserError
from dnibench.instrument import SpanKind, write_chrome_trace
from dnibench.simulate.calibrate import calibrate_trace, read_trace, trace_paths

MS = 1_000_000  # ns


def _spans(rows: list[tuple[SpanKind, int, float, float]]) -> np.ndarray:
    return np.array([(int(k), mb, round(a * MS), round(b * MS)) for k, mb, a, b in rows], np.int64)


def two_stage_trace(path: Path, steps: int = 4) -> Path:
    """A 10 ms step per microbatch; times in ms from each step's start.

    Stage 0: F 0-1, send 1-1.1, wait for the gradient 1.1-5, B 5-7, optimiser 7-8.
    Stage 1: wait for the activation 0-1.3, F 1.3-2.3, B 2.3-4.3, send 4.3-4.5,
    optimiser 4.5-9.5. Activation delay 1.3 - 1.1, gradient delay 5 - 4.5.
    """
    stage0, stage1 = [], []
    for s in range(steps):
        t = 10.0 * s
        stage0 += [
            (SpanKind.STEP, s, t, t + 9),
            (SpanKind.FORWARD, s, t, t + 1),
            (SpanKind.SEND, s, t + 1, t + 1.1),
            (SpanKind.WAIT_GRADIENT, s, t + 1.1, t + 5),
            (SpanKind.BACKWARD, s, t + 5, t + 7),
            (SpanKind.OPTIMIZER, -1, t + 7, t + 8),
        ]
        stage1 += [
            (SpanKind.STEP, s, t, t + 9.5),
            (SpanKind.WAIT_ACTIVATION, s, t, t + 1.3),
            (SpanKind.FORWARD, s, t + 1.3, t + 2.3),
            (SpanKind.BACKWARD, s, t + 2.3, t + 4.3),
            (SpanKind.SEND, s, t + 4.3, t + 4.5),
            (SpanKind.OPTIMIZER, -1, t + 4.5, t + 9.5),
        ]
    return write_chrome_trace(path, [_spans(stage0), _spans(stage1)])


def test_costs_overhead_and_link_from_spans(tmp_path: Path) -> None:
    cal = calibrate_trace(read_trace(two_stage_trace(tmp_path / "t.json")), warmup=1)
    first, second = cal.costs.stages
    assert (first.forward, first.backward, first.optimizer) == pytest.approx((1e-3, 2e-3, 1e-3))
    assert (second.forward, second.backward, second.optimizer) == pytest.approx((1e-3, 2e-3, 5e-3))
    assert (first.send, second.send) == pytest.approx((0.1e-3, 0.2e-3))
    # Window: end of step 0 (9.5) to end of step 3 (39.5), 9 actions per stage. Uncovered:
    # stage 0 0.5 + 2 + 2 + 1.5 ms, stage 1 0.5 + 0.5 + 0.5 ms.
    assert cal.window_s == pytest.approx(30e-3)
    assert first.overhead == pytest.approx(6e-3 / 9)
    assert second.overhead == pytest.approx(1.5e-3 / 9)
    # Three activation delays of 0.2 ms and three gradient delays of 0.5 ms: median 0.35.
    assert cal.link_samples == 6
    assert cal.costs.link.latency == pytest.approx(0.35e-3)
    assert cal.has_spans and cal.steps == 3


def test_split_backward_halves_and_their_link_from_spans(tmp_path: Path) -> None:
    """A zb trace: stage 1 sends its delta after D (not after a B), then runs W."""
    stage0, stage1 = [], []
    for s in range(3):
        t = 10.0 * s
        stage0 += [
            (SpanKind.STEP, s, t, t + 9),
            (SpanKind.FORWARD, s, t, t + 1),
            (SpanKind.SEND, s, t + 1, t + 1.1),
            (SpanKind.WAIT_GRADIENT, s, t + 1.1, t + 4),
            (SpanKind.BACKWARD_INPUT, s, t + 4, t + 5),
            (SpanKind.BACKWARD_WEIGHT, s, t + 5, t + 6.5),
            (SpanKind.OPTIMIZER, -1, t + 6.5, t + 7),
        ]
        stage1 += [
            (SpanKind.STEP, s, t, t + 9),
            (SpanKind.WAIT_ACTIVATION, s, t, t + 1.3),
            (SpanKind.FORWARD, s, t + 1.3, t + 2.3),
            (SpanKind.BACKWARD_INPUT, s, t + 2.3, t + 3.0),
            (SpanKind.SEND, s, t + 3.0, t + 3.2),
            (SpanKind.BACKWARD_WEIGHT, s, t + 3.2, t + 4.4),
            (SpanKind.OPTIMIZER, -1, t + 4.4, t + 5),
        ]
    trace = write_chrome_trace(tmp_path / "zb.json", [_spans(stage0), _spans(stage1)])
    first, second = calibrate_trace(read_trace(trace), warmup=1).costs.stages
    assert (first.backward_input, first.backward_weight) == pytest.approx((1e-3, 1.5e-3))
    assert (second.backward_input, second.backward_weight) == pytest.approx((0.7e-3, 1.2e-3))
    assert first.backward == 0.0  # no fused backward ran
    cal = calibrate_trace(read_trace(trace), warmup=1)
    # Activation delays 0.2 ms, gradient delays 4 - 3.2 = 0.8 ms (the send after D).
    assert cal.link_samples == 4
    assert cal.costs.link.latency == pytest.approx(0.5e-3)


def test_a_fused_run_prices_each_half_at_half_its_backward(tmp_path: Path) -> None:
    cal = calibrate_trace(read_trace(two_stage_trace(tmp_path / "t.json")), warmup=1)
    for stage in cal.costs.stages:
        assert stage.backward_input == stage.backward_weight == pytest.approx(stage.backward / 2)


def test_median_statistic_ignores_a_preempted_span(tmp_path: Path) -> None:
    path = two_stage_trace(tmp_path / "t.json")
    doc = json.loads(path.read_text())
    slow = next(e for e in doc["traceEvents"] if e.get("name") == "forward mb2" and e["pid"] == 0)
    slow["dur"] *= 4
    path.write_text(json.dumps(doc))
    spans = read_trace(path)
    mean = calibrate_trace(spans, warmup=1, statistic="mean").costs.stages[0].forward
    median = calibrate_trace(spans, warmup=1, statistic="median").costs.stages[0].forward
    assert median == pytest.approx(1e-3)
    assert mean == pytest.approx(2e-3)  # (1 + 4 + 1) / 3 ms


def test_trace_paths_by_launch_and_not_by_prefix(tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    traces.mkdir()
    for name in ("dni-m8-r1", "dni-m8-r0", "dni-m8-r10", "dni-m8-nospans-r0", "gpipe-m8"):
        (traces / f"{name}.json").write_text("{}")
    assert [p.stem for p in trace_paths(tmp_path, "dni-m8")] == [
        "dni-m8-r0",
        "dni-m8-r1",
        "dni-m8-r10",
    ]
    assert [p.stem for p in trace_paths(tmp_path, "gpipe-m8")] == ["gpipe-m8"]
    assert trace_paths(tmp_path, "unlock-m8") == []


def test_a_corrupt_or_empty_trace_is_a_user_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(UserError, match=r"bad\.json"):
        read_trace(bad)
    bad.write_text(json.dumps({"traceEvents": []}))
    with pytest.raises(UserError, match="no spans"):
        read_trace(bad)


def test_too_few_steps_for_the_warmup(tmp_path: Path) -> None:
    spans = read_trace(two_stage_trace(tmp_path / "t.json", steps=2))
    with pytest.raises(UserError, match="warm-up"):
        calibrate_trace(spans, warmup=2)
