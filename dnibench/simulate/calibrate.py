"""Per-stage costs measured from a run directory's spans, for the simulator.

Each launch of a pipeline benchmark leaves a merged Chrome trace
(``traces/NAME.json.gz``, or ``traces/NAME-r{k}.json.gz`` for several launches;
see :func:`dnibench.rundir.reader.trace_paths`)
with every stage's spans on one clock. Over the steady-state window (after
the benchmark's warm-up steps, as the runtime measures) this module takes,
per stage and per span kind, the mean (or median) duration: forward, backward (the
synthetic backward on an unlocked stage that is not last), the input and
weight halves of a split (zero-bubble) backward, SG update, SI forward and
update, optimiser, send.

Two things the runtime does that no compute span shows are measured too,
never fitted to the measured throughput:

- overhead per action: the part of the window that no span of the stage
  covers (Python between operations, posting receives, fetching a batch),
  divided by the actions the stage executed in it;
- link delay: for every wait that began before the matching send on the
  neighbour ended, the wait's end (the message's arrival) minus that send's
  end; the median is the
  link's latency (bandwidth is left infinite: one message size cannot
  separate the two).

PyTorch's pipelining peers record no waits or sends, so their uncovered time
is mostly waiting; :func:`calibrate_trace` flags that (``peer=True``) and the
caller borrows overhead, send cost and link delay from dnibench's own run of
the same schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from dnibench.errors import UserError
from dnibench.instrument.spans import SpanKind
from dnibench.rundir.reader import load_trace, trace_paths
from dnibench.simulate.costs import LinkModel, PipelineCosts, StageCosts

__all__ = [
    "STATISTICS",
    "Calibration",
    "borrow_runtime_costs",
    "calibrate_trace",
    "read_trace",
    "trace_paths",
]

_KIND, _MB, _T0, _T1 = range(4)
_ACTION_KINDS = (
    SpanKind.FORWARD,
    SpanKind.BACKWARD,
    SpanKind.BACKWARD_INPUT,
    SpanKind.BACKWARD_WEIGHT,
    SpanKind.SG_UPDATE,
    SpanKind.SI_UPDATE,
    SpanKind.OPTIMIZER,
)


@dataclass(frozen=True)
class Calibration:
    """Costs measured from one launch's trace, and how much evidence stood behind them."""

    costs: PipelineCosts
    #: Compute spans per stage in the window (0: the launch recorded step markers only).
    spans: tuple[int, ...]
    #: Blocked waits whose matching send was found, used for the link delay.
    link_samples: int
    window_s: float
    steps: int

    @property
    def has_spans(self) -> bool:
        return all(n > 0 for n in self.spans)


def read_trace(path: Path) -> list[np.ndarray]:
    """Per stage, an (n, 4) float array: kind, microbatch, start and end in seconds."""
    try:
        doc: Any = load_trace(Path(path))
        events = doc["traceEvents"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(
            f"{path} is not a readable dnibench trace ({err}); re-run the benchmark or delete "
            "the file"
        ) from None
    rows: dict[int, list[tuple[float, float, float, float]]] = {}
    for event in events:
        if not isinstance(event, dict) or event.get("ph") != "X":
            continue
        try:
            kind = SpanKind[str(event["name"]).split(" ")[0].upper()]
            stage = int(event["pid"])
            t0 = float(event["ts"]) / 1e6
            t1 = t0 + float(event["dur"]) / 1e6
        except (KeyError, ValueError, TypeError):
            continue  # a kind newer than this reader, or a malformed event: not a cost
        mb = float(event.get("args", {}).get("mb", -1))
        rows.setdefault(stage, []).append((float(kind), mb, t0, t1))
    if not rows:
        raise UserError(f"{path} holds no spans; re-run the benchmark with spans on")
    stages = range(max(rows) + 1)
    return [np.asarray(rows.get(k, []), dtype=float).reshape(-1, 4) for k in stages]


def _of(spans: np.ndarray, kind: SpanKind) -> np.ndarray:
    return spans[spans[:, _KIND] == kind]


def _window(spans_by_stage: list[np.ndarray], warmup: int) -> tuple[float, float, int]:
    """Steady-state window: end of the last warm-up step to the end of the last step."""
    steps = [np.sort(_of(s, SpanKind.STEP)[:, _T1]) for s in spans_by_stage]
    n = min(len(s) for s in steps)
    if n <= warmup:
        raise UserError(f"trace has {n} steps, not more than its {warmup} warm-up steps")
    ends = np.max(np.stack([s[:n] for s in steps]), axis=0)
    start = float(ends[warmup - 1]) if warmup > 0 else min(float(s[0]) for s in steps)
    return start, float(ends[n - 1]), n - warmup


def _covered(spans: np.ndarray, start: float, end: float) -> float:
    """Length of the union of ``spans`` clipped to [start, end)."""
    t0 = np.clip(spans[:, _T0], start, end)
    t1 = np.clip(spans[:, _T1], start, end)
    order = np.argsort(t0)
    t0, t1 = t0[order], t1[order]
    reach = np.maximum.accumulate(t1) if len(t1) else t1
    before = np.concatenate(([start], reach[:-1])) if len(t1) else t1
    return float(np.maximum(t1 - np.maximum(t0, before), 0).sum())


STATISTICS = ("mean", "median")


def _typical(spans: np.ndarray, kind: SpanKind, statistic: str) -> float:
    rows = _of(spans, kind)
    if not len(rows):
        return 0.0
    durations = rows[:, _T1] - rows[:, _T0]
    return float(np.mean(durations) if statistic == "mean" else np.median(durations))


def _sends_after(spans: np.ndarray, kinds: tuple[float, ...]) -> dict[int, float]:
    """Microbatch -> end of the send that follows a span of ``kinds`` on this stage."""
    ordered = spans[np.argsort(spans[:, _T0])]
    out: dict[int, float] = {}
    previous = -1.0
    for kind, mb, _, t1 in ordered.tolist():
        if kind == SpanKind.SEND and previous in kinds:
            out[int(mb)] = t1
        if kind in SpanKind.COMPUTE:
            previous = kind
    return out


def _link_delays(spans_by_stage: list[np.ndarray], start: float, end: float) -> list[float]:
    """Arrival (end of a blocked wait) minus the matching send's end, over the window."""
    delays: list[float] = []
    last = len(spans_by_stage) - 1
    for k, spans in enumerate(spans_by_stage):
        pairs = []
        if k > 0:
            forward = (float(SpanKind.FORWARD),)
            sent = _sends_after(spans_by_stage[k - 1], forward)
            pairs.append((SpanKind.WAIT_ACTIVATION, sent))
        if k < last:
            senders = (float(SpanKind.BACKWARD), float(SpanKind.BACKWARD_INPUT))
            sent = _sends_after(spans_by_stage[k + 1], senders)
            pairs.append((SpanKind.WAIT_GRADIENT, sent))
        for kind, sent in pairs:
            for _, mb, t0, t1 in _of(spans, kind).tolist():
                # Only a wait that began before the message left measures its arrival.
                if start <= t0 < end and t0 < sent.get(int(mb), math.inf) <= t1:
                    delays.append(t1 - sent[int(mb)])
    return delays


def calibrate_trace(
    spans_by_stage: list[np.ndarray], *, warmup: int, statistic: str = "mean"
) -> Calibration:
    """Per-stage costs from one launch's spans: ``statistic`` (mean or median) per kind.

    The mean is the default: a step lasts the sum of its spans, so its
    expected length is the sum of their means; the median drops the tail that
    a busy machine adds (preempted spans) and predicts a quiet machine.

    The runtime records a synthetic backward as a BACKWARD span too, so a
    stage's one backward median serves as both its true and synthetic cost
    (a stage runs only one of the two in any regime). A run without split
    backwards leaves the halves at half its backward each, so the costs
    stay consistent (D + W = B) for a what-if simulation of ``zb``.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, got {statistic!r}")
    start, end, steps = _window(spans_by_stage, warmup)
    window = end - start
    stages: list[StageCosts] = []
    counts: list[int] = []
    for all_spans in spans_by_stage:
        inside = all_spans[(all_spans[:, _T0] >= start) & (all_spans[:, _T0] < end)]
        actions = int(np.isin(inside[:, _KIND], [float(x) for x in _ACTION_KINDS]).sum())
        counts.append(actions)
        not_step = all_spans[all_spans[:, _KIND] != SpanKind.STEP]
        uncovered = window - _covered(not_step, start, end)
        backward = _typical(inside, SpanKind.BACKWARD, statistic)
        split = len(_of(inside, SpanKind.BACKWARD_INPUT)) > 0
        backward_input = _typical(inside, SpanKind.BACKWARD_INPUT, statistic)
        backward_weight = _typical(inside, SpanKind.BACKWARD_WEIGHT, statistic)
        if not split:
            backward_input = backward_weight = backward / 2
        stages.append(
            StageCosts(
                forward=_typical(inside, SpanKind.FORWARD, statistic),
                backward=backward,
                synth_backward=backward,
                backward_input=backward_input,
                backward_weight=backward_weight,
                sg_update=_typical(inside, SpanKind.SG_UPDATE, statistic),
                si_forward=_typical(inside, SpanKind.SI_FORWARD, statistic),
                si_update=_typical(inside, SpanKind.SI_UPDATE, statistic),
                optimizer=_typical(inside, SpanKind.OPTIMIZER, statistic),
                send=_typical(inside, SpanKind.SEND, statistic),
                overhead=max(uncovered, 0.0) / actions if actions else 0.0,
            )
        )
    delays = _link_delays(spans_by_stage, start, end)
    latency = float(np.median(delays)) if delays else 0.0
    link = LinkModel(latency=max(latency, 0.0))
    return Calibration(PipelineCosts.of(stages, link), tuple(counts), len(delays), window, steps)


def borrow_runtime_costs(peer: Calibration, own: Calibration) -> Calibration:
    """A peer's compute costs with overhead, send and link taken from dnibench's own run.

    PyTorch's schedules hide their waits and sends, so what their spans leave
    uncovered is mostly waiting: it cannot be read as overhead.
    """
    if peer.costs.num_stages != own.costs.num_stages:
        raise ValueError("peer and own runs differ in stage count")
    stages = tuple(
        replace(p, overhead=o.overhead, send=o.send)
        for p, o in zip(peer.costs.stages, own.costs.stages, strict=True)
    )
    return replace(peer, costs=PipelineCosts(stages, own.costs.link))
