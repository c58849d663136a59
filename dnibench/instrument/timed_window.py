"""GPU telemetry over a benchmark's timed window only, warm-up left out.

The NVML sampler runs from before the first step to after the last, so its
totals include warm-up: CUDA and cuBLAS initialisation, allocator growth and
the first slow steps. Throughput is measured over the steady-state window
(:func:`~dnibench.instrument.pipeline_metrics`), and energy per sample must be
measured over the same window or the two do not describe the same work.

Spans and NVML samples share one clock (host ``perf_counter``; CUDA event
times are converted onto it), so the window found from the STEP spans cuts
the sample series directly: the energy counter is interpolated linearly at
the window's edges (or, without a counter, sampled power is integrated over
the window), and utilisation and SM activity are averaged over the samples
that fall inside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dnibench.instrument.resources import SERIES_COLUMNS
from dnibench.instrument.spans import T0, T1, SpanKind

__all__ = ["measured_window_ns", "window_metrics", "window_telemetry"]

_T, _UTIL, _POWER, _ENERGY, _SM = (
    SERIES_COLUMNS.index(c) for c in ("t_s", "util_pct", "power_w", "energy_mj", "sm_active_pct")
)

Series = Sequence[Sequence[float | None]]
"""An NVML summary's ``series``: one row per sample in SERIES_COLUMNS order, None where absent."""


def measured_window_ns(spans_by_stage: Sequence[np.ndarray], warmup_steps: int) -> tuple[int, int]:
    """The window :func:`~dnibench.instrument.pipeline_metrics` measures, in ns.

    From the end of step ``warmup_steps - 1`` (the latest end over stages; the
    earliest start of step 0 without warm-up) to the end of the last step
    every stage recorded. Raises ValueError when the window is empty.
    """
    steps = []
    for spans in spans_by_stage:
        arr = np.asarray(spans, dtype=np.int64).reshape(-1, 4)
        rows = arr[arr[:, 0] == SpanKind.STEP]
        steps.append(rows[np.argsort(rows[:, T0], kind="stable")])
    if not steps:
        raise ValueError("no stages: no timed window")
    n_steps = min(len(s) for s in steps)
    if n_steps <= warmup_steps:
        raise ValueError(f"{n_steps} steps recorded, not more than the {warmup_steps} of warm-up")
    step_end = np.max(np.stack([s[:n_steps, T1] for s in steps]), axis=0)
    start = (
        int(min(s[0, T0] for s in steps)) if warmup_steps == 0 else int(step_end[warmup_steps - 1])
    )
    end = int(step_end[n_steps - 1])
    if end <= start:
        raise ValueError(f"measured window is empty: [{start}, {end}) ns")
    return start, end


def _column(series: Series, index: int) -> tuple[np.ndarray, np.ndarray]:
    rows = [(row[_T], row[index]) for row in series if row[index] is not None]
    if not rows:
        return np.empty(0), np.empty(0)
    t, v = np.asarray(rows, dtype=float).T
    return t, v


def _energy_j(series: Series, t0: float, t1: float) -> tuple[float, str] | None:
    """Energy over [t0, t1]: counter interpolated at both edges, else power integrated."""
    t, energy = _column(series, _ENERGY)
    if len(t) >= 2 and t[0] <= t0 and t[-1] >= t1:
        joules = (np.interp(t1, t, energy) - np.interp(t0, t, energy)) / 1e3
        return float(joules), "counter"
    t, power = _column(series, _POWER)
    if len(t) >= 2 and t[0] <= t0 and t[-1] >= t1:
        grid = np.concatenate(([t0], t[(t > t0) & (t < t1)], [t1]))
        values = np.interp(grid, t, power)
        return float(np.sum(np.diff(grid) * (values[1:] + values[:-1]) / 2)), "power_integral"
    return None


def _inside_mean(series: Series, index: int, t0: float, t1: float) -> float:
    t, values = _column(series, index)
    inside = values[(t >= t0) & (t <= t1)]
    return float(inside.mean()) if inside.size else math.nan


def window_telemetry(
    nvml: Mapping[str, Any], window_ns: tuple[int, int], offset_ns: int = 0
) -> dict[str, Any]:
    """An NVML summary's series cut to ``window_ns`` (spans' clock).

    ``offset_ns`` puts the sampler's clock on the spans' (a rank's clock
    offset). Keys: window_s, samples (readings inside the window), energy_j
    and energy_source (None when the samples do not cover the window),
    power_w (energy / window), util_pct and sm_active_pct (means of the
    readings inside; NaN with none). Empty when the summary has no series.
    """
    series = nvml.get("series") or []
    if not nvml.get("available") or not series:
        return {}
    t0 = (window_ns[0] - offset_ns) / 1e9
    t1 = (window_ns[1] - offset_ns) / 1e9
    window_s = t1 - t0
    energy = _energy_j(series, t0, t1)
    return {
        "window_s": window_s,
        "samples": sum(1 for row in series if t0 <= row[_T] <= t1),
        "energy_j": energy[0] if energy else None,
        "energy_source": energy[1] if energy else None,
        "power_w": energy[0] / window_s if energy and window_s > 0 else None,
        "util_pct": _inside_mean(series, _UTIL, t0, t1),
        "sm_active_pct": _inside_mean(series, _SM, t0, t1),
    }


def window_metrics(
    nvml: Mapping[str, Any], window_ns: tuple[int, int], samples: int, offset_ns: int = 0
) -> list[tuple[str, float, str]]:
    """(metric, value, unit) rows of the timed window, for ``samples`` trained in it.

    ``gpu_energy_window`` (J), ``gpu_energy_per_sample_window`` (J/sample),
    ``gpu_power_window`` (W), ``gpu_utilisation_window`` (%),
    ``gpu_sm_active_window`` (%) and ``nvml_window_samples``; a figure that
    cannot be had is left out rather than written as a guess.
    """
    cut = window_telemetry(nvml, window_ns, offset_ns)
    if not cut:
        return []
    rows: list[tuple[str, float, str]] = [("nvml_window_samples", float(cut["samples"]), "samples")]
    if cut["energy_j"] is not None:
        rows.append(("gpu_energy_window", cut["energy_j"], "J"))
        if samples > 0:
            rows.append(("gpu_energy_per_sample_window", cut["energy_j"] / samples, "J/sample"))
    if cut["power_w"] is not None:
        rows.append(("gpu_power_window", cut["power_w"], "W"))
    for key, metric in (
        ("util_pct", "gpu_utilisation_window"),
        ("sm_active_pct", "gpu_sm_active_window"),
    ):
        if not math.isnan(cut[key]):
            rows.append((metric, cut[key], "%"))
    return rows
