"""Telemetry cut to the timed window, on hand-made spans and NVML series."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dnibench.instrument import SpanKind, pipeline_metrics
from dnibench.instrument.timed_window import measured_window_ns, window_metrics, window_telemetry

MS = 1_000_000


def _spans(steps: int, step_ms: list[int], lag_ms: int = 0) -> np.ndarray:
    """STEP and FORWARD spans of one stage; step i lasts step_ms[i], shifted by lag_ms."""
    rows, t = [], lag_ms * MS
    for i in range(steps):
        rows.append((int(SpanKind.FORWARD), i, t, t + step_ms[i] * MS // 2))
        rows.append((int(SpanKind.STEP), -1, t, t + step_ms[i] * MS))
        t += step_ms[i] * MS
    return np.array(rows, dtype=np.int64)


@pytest.mark.parametrize("warmup", [0, 1, 3])
def test_the_window_is_the_one_pipeline_metrics_measures(warmup: int) -> None:
    durations = [50, 40, 10, 10, 12, 11]  # slow warm-up steps first
    stages = [_spans(6, durations), _spans(6, durations, lag_ms=3)]
    start, end = measured_window_ns(stages, warmup)
    metrics = pipeline_metrics(stages, samples_per_step=8, warmup_steps=warmup)
    assert (end - start) / 1e9 == pytest.approx(metrics.window_s)
    assert end == int(stages[1][-1, 3])  # the last stage's last step ends the window


def test_a_run_no_longer_than_its_warm_up_has_no_window() -> None:
    with pytest.raises(ValueError, match="not more than the 3 of warm-up"):
        measured_window_ns([_spans(3, [10, 10, 10])], 3)


def _series(energy: bool = True) -> list[list[float | None]]:
    """A sample every 0.1 s from t = 10 s: 100 W idle until 10.5 s, 300 W after."""
    rows, joules = [], 0.0
    for i in range(21):
        t = 10 + i / 10
        watts = 100.0 if t < 10.5 else 300.0
        if i:
            joules += watts * 0.1
        rows.append(
            [t, 90.0 if watts > 100 else 5.0, watts, joules * 1e3 if energy else None, None]
        )
    return rows


def test_energy_comes_from_the_counter_interpolated_at_the_edges() -> None:
    nvml = {"available": True, "series": _series()}
    cut = window_telemetry(nvml, (int(10.75e9), int(11.75e9)))
    assert cut["energy_source"] == "counter"
    assert cut["energy_j"] == pytest.approx(300.0)  # one second at 300 W, warm-up left out
    assert cut["power_w"] == pytest.approx(300.0)
    assert cut["util_pct"] == pytest.approx(90.0) and cut["samples"] == 10
    assert math.isnan(cut["sm_active_pct"])  # no GPM readings: NaN, not zero


def test_without_a_counter_power_is_integrated_over_the_window() -> None:
    nvml = {"available": True, "series": _series(energy=False)}
    cut = window_telemetry(nvml, (int(10.6e9), int(11.6e9)))
    assert cut["energy_source"] == "power_integral"
    assert cut["energy_j"] == pytest.approx(300.0)


def test_a_clock_offset_moves_the_window_onto_the_sampler_clock() -> None:
    nvml = {"available": True, "series": _series()}
    shifted = window_telemetry(nvml, (int(11.75e9), int(12.75e9)), offset_ns=int(1e9))
    assert shifted["energy_j"] == pytest.approx(300.0)


def test_rows_per_sample_and_what_cannot_be_had_is_left_out() -> None:
    nvml = {"available": True, "series": _series()}
    rows = {
        metric: (value, unit)
        for metric, value, unit in window_metrics(nvml, (int(10.75e9), int(11.75e9)), samples=600)
    }
    assert rows["gpu_energy_per_sample_window"] == (pytest.approx(0.5), "J/sample")
    assert "gpu_sm_active_window" not in rows
    # A window the samples do not cover has no energy rather than a guessed one.
    outside = dict((m, v) for m, v, _ in window_metrics(nvml, (int(9e9), int(11e9)), samples=10))
    assert "gpu_energy_window" not in outside
    assert window_metrics({"available": False, "reason": "no GPU"}, (0, 1), 1) == []
