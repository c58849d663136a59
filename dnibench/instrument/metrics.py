"""Pipeline metrics from span arrays (defined in docs/metrics.md).

Pure functions on the ``(n, 4)`` int64 arrays that
:class:`~dnibench.instrument.spans.SpanRecorder` produces (columns kind,
microbatch, t0_ns, t1_ns), so they are tested on hand-made spans and reused by
every runtime. Times from different ranks must already share one clock (add
the :mod:`~dnibench.instrument.clock` offsets first) wherever spans of several
stages are compared, i.e. in :func:`pipeline_metrics`.

Definitions:

- busy fraction: time covered by compute spans / window;
- lock idle: time covered by ``WAIT_ACTIVATION`` (forward lock) and by
  ``WAIT_GRADIENT`` (update/backward lock) spans / window, each separately;
- comm fraction: time covered by ``SEND``/``RECV`` spans / window;
- throughput: samples per second over the steady-state window (warm-up steps
  excluded), the median over windows of a few steps, with its spread;
- ideal throughput: samples in one microbatch / the largest busy time per
  microbatch over stages, i.e. the rate of a pipeline that never waits and is
  limited only by its slowest stage;
- efficiency: measured throughput / ideal throughput.

A rank that holds several virtual stages (PyTorch's looped and V schedules)
runs each microbatch's forward once per stage it holds. Its later stages'
FORWARD spans carry a microbatch id of :data:`LATER_VIRTUAL_STAGE` or below:
they count as busy time but not as new microbatches, so "busy per microbatch"
stays the rank's work per microbatch and the ideal throughput is that of the
ranks, the processors that actually run in parallel.

Time "covered" by spans is the length of their union, so a span nested in
another of the same group (an SG update recorded inside a backward) is not
counted twice and no fraction exceeds one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from dnibench.instrument.spans import T0, T1, SpanKind

__all__ = [
    "LATER_VIRTUAL_STAGE",
    "PipelineMetrics",
    "StageMetrics",
    "gpipe_bubble",
    "pipeline_metrics",
    "stage_metrics",
]

_NS = 1e9

#: FORWARD spans with a microbatch id at or below this are a rank's second or
#: later virtual stage (id ``LATER_VIRTUAL_STAGE - chunk``): busy, not a new microbatch.
LATER_VIRTUAL_STAGE = -2


@dataclass
class StageMetrics:
    """What one stage did during a window; times in seconds."""

    stage: int
    window_s: float
    busy_s: float
    busy_fraction: float
    wait_activation_fraction: float
    wait_gradient_fraction: float
    comm_fraction: float
    #: FORWARD spans of this stage that started in the window (a rank's later
    #: virtual stages not counted again).
    microbatches: int
    #: busy_s / microbatches (NaN when no forward started in the window).
    busy_per_microbatch_s: float


@dataclass
class PipelineMetrics:
    """Whole-pipeline result of one run; see :func:`pipeline_metrics`."""

    #: Median over windows of samples/s.
    throughput: float
    throughput_windows: list[float]
    #: Interquartile range of ``throughput_windows`` (0 for a single window).
    throughput_iqr: float
    #: All measured samples / the whole measured window.
    throughput_mean: float
    ideal_throughput: float
    #: throughput_mean / ideal_throughput.
    efficiency: float
    stages: list[StageMetrics]
    #: Samples processed in the measured window.
    samples: int
    window_s: float


def _as_spans(spans: np.ndarray) -> np.ndarray:
    arr = np.asarray(spans, dtype=np.int64)
    if arr.size == 0:
        return arr.reshape(0, 4)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"span array must have shape (n, 4), got {arr.shape}")
    return arr


def _covered_ns(spans: np.ndarray, kinds: Iterable[int], t_start: int, t_end: int) -> int:
    """Length of the union of ``kinds`` spans, clipped to [t_start, t_end)."""
    rows = spans[np.isin(spans[:, 0], np.fromiter(kinds, dtype=np.int64))]
    if rows.size == 0:
        return 0
    t0 = np.maximum(rows[:, T0], t_start)
    t1 = np.minimum(rows[:, T1], t_end)
    keep = t1 > t0
    t0, t1 = t0[keep], t1[keep]
    if t0.size == 0:
        return 0
    order = np.argsort(t0, kind="stable")
    t0, t1 = t0[order], t1[order]
    # Each span contributes only what lies beyond every earlier span's end.
    reach = np.maximum.accumulate(t1)
    prev_reach = np.concatenate(([t_start], reach[:-1]))
    return int(np.maximum(t1 - np.maximum(t0, prev_reach), 0).sum())


def stage_metrics(stage: int, spans: np.ndarray, t_start_ns: int, t_end_ns: int) -> StageMetrics:
    """Busy, lock-idle and comm fractions of one stage over [t_start_ns, t_end_ns).

    Spans straddling an edge count only their part inside the window, so
    adjacent windows add up exactly. Microbatches are FORWARD spans that
    *start* in the window, so each is counted in exactly one window.
    """
    if t_end_ns <= t_start_ns:
        raise ValueError(f"empty window [{t_start_ns}, {t_end_ns}) for stage {stage}")
    arr = _as_spans(spans)
    window_ns = t_end_ns - t_start_ns
    busy_ns = _covered_ns(arr, SpanKind.COMPUTE, t_start_ns, t_end_ns)
    wait_act_ns = _covered_ns(arr, (SpanKind.WAIT_ACTIVATION,), t_start_ns, t_end_ns)
    wait_grad_ns = _covered_ns(arr, (SpanKind.WAIT_GRADIENT,), t_start_ns, t_end_ns)
    comm_ns = _covered_ns(arr, SpanKind.COMM, t_start_ns, t_end_ns)
    fwd = (arr[:, 0] == SpanKind.FORWARD) & (arr[:, 1] > LATER_VIRTUAL_STAGE)
    starts = arr[fwd, T0]
    microbatches = int(np.count_nonzero((starts >= t_start_ns) & (starts < t_end_ns)))
    busy_s = busy_ns / _NS
    return StageMetrics(
        stage=stage,
        window_s=window_ns / _NS,
        busy_s=busy_s,
        busy_fraction=busy_ns / window_ns,
        wait_activation_fraction=wait_act_ns / window_ns,
        wait_gradient_fraction=wait_grad_ns / window_ns,
        comm_fraction=comm_ns / window_ns,
        microbatches=microbatches,
        busy_per_microbatch_s=busy_s / microbatches if microbatches else float("nan"),
    )


def _step_spans(spans_by_stage: Sequence[np.ndarray]) -> list[np.ndarray]:
    """STEP rows of each stage in start order: row i is step i."""
    steps = []
    for arr in spans_by_stage:
        rows = arr[arr[:, 0] == SpanKind.STEP]
        steps.append(rows[np.argsort(rows[:, T0], kind="stable")])
    return steps


def pipeline_metrics(
    spans_by_stage: list[np.ndarray],
    samples_per_step: int,
    warmup_steps: int,
    steps_per_window: int = 1,
) -> PipelineMetrics:
    """Throughput, ideal throughput, efficiency and per-stage metrics of a run.

    ``spans_by_stage[k]`` holds stage k's spans on a common clock. Steps are
    delimited by STEP spans: the i-th STEP span (by start time) of every stage
    is step i, and a step counts only if every stage recorded it (a rank that
    died early limits the run to the steps all ranks finished).

    - A step ends at the *latest* end of its STEP span over stages: the
      pipeline has finished step i only when its last stage has.
    - The measured window runs from the end of step ``warmup_steps - 1`` (or
      from the earliest start of step 0 when there is no warm-up) to the end
      of the last step.
    - It is cut into windows of ``steps_per_window`` consecutive steps; window
      j runs from the end of the step before it to the end of its last step,
      and its throughput is ``samples_per_step * steps_per_window / duration``.
      ``throughput`` is the median over windows (robust to a stray slow
      window), ``throughput_iqr`` their spread. Steps left over after the last
      full window count only towards ``throughput_mean``, the aggregate
      samples / seconds over the whole measured window.
    - Per-stage metrics are taken over the whole measured window.
      Microbatches per step = stage 0's FORWARD count in the window / steps
      in it; microbatch samples = ``samples_per_step`` / that.
    - ``ideal_throughput`` = microbatch samples / max over stages of busy
      time per microbatch (docs/metrics.md: 1 / max busy time per microbatch, in
      samples); ``efficiency`` = ``throughput_mean`` / ``ideal_throughput``.
    """
    if not spans_by_stage:
        raise ValueError("pipeline_metrics needs spans from at least one stage")
    if samples_per_step < 1:
        raise ValueError(f"samples_per_step must be >= 1, got {samples_per_step}")
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
    if steps_per_window < 1:
        raise ValueError(f"steps_per_window must be >= 1, got {steps_per_window}")
    arrays = [_as_spans(a) for a in spans_by_stage]
    steps = _step_spans(arrays)
    n_steps = min(len(s) for s in steps)
    measured_steps = n_steps - warmup_steps
    if measured_steps < steps_per_window:
        counts = ", ".join(f"stage {k}: {len(s)}" for k, s in enumerate(steps))
        raise ValueError(
            f"need at least warmup_steps + steps_per_window = "
            f"{warmup_steps + steps_per_window} steps on every stage, got {counts}"
        )
    step_end = np.max(np.stack([s[:n_steps, T1] for s in steps]), axis=0)
    first_start = int(min(s[0, T0] for s in steps))

    def boundary(step: int) -> int:
        """End of ``step``; step -1 'ends' when the first step starts."""
        return first_start if step < 0 else int(step_end[step])

    t_start = boundary(warmup_steps - 1)
    t_end = boundary(n_steps - 1)
    if t_end <= t_start:
        raise ValueError(f"measured window is empty: [{t_start}, {t_end}) ns")

    windows: list[float] = []
    window_samples = samples_per_step * steps_per_window
    for j in range(measured_steps // steps_per_window):
        first = warmup_steps + j * steps_per_window
        w0 = boundary(first - 1)
        w1 = boundary(first + steps_per_window - 1)
        windows.append(window_samples * _NS / (w1 - w0) if w1 > w0 else float("inf"))

    samples = samples_per_step * measured_steps
    window_ns = t_end - t_start
    throughput_mean = samples * _NS / window_ns
    stages = [stage_metrics(k, arr, t_start, t_end) for k, arr in enumerate(arrays)]

    fwd0 = stages[0].microbatches
    if fwd0 > 0:
        microbatch_samples = samples_per_step * measured_steps / fwd0
        slowest = max(s.busy_per_microbatch_s for s in stages)
        ideal = microbatch_samples / slowest if slowest > 0 else float("inf")
    else:
        ideal = float("nan")
    efficiency = throughput_mean / ideal if np.isfinite(ideal) and ideal > 0 else float("nan")

    q25, q75 = np.percentile(windows, [25, 75])
    return PipelineMetrics(
        throughput=float(np.median(windows)),
        throughput_windows=windows,
        throughput_iqr=float(q75 - q25),
        throughput_mean=throughput_mean,
        ideal_throughput=ideal,
        efficiency=efficiency,
        stages=stages,
        samples=samples,
        window_s=window_ns / _NS,
    )


def gpipe_bubble(K: int, m: int) -> float:
    """GPipe bubble fraction (K-1)/(m+K-1) for K stages and m microbatches.

    The idle share of an ideal flushed pipeline with equal stages; reports
    print it next to the measured lock idle so the gap to theory shows.
    """
    if K < 1 or m < 1:
        raise ValueError(f"need K >= 1 stages and m >= 1 microbatches, got K={K}, m={m}")
    return (K - 1) / (m + K - 1)
