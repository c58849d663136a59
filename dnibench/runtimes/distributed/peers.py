"""PyTorch's own pipeline schedules as peers of dnibench's.

The same stage modules, split and batches go through
``torch.distributed.pipelining`` (``ScheduleGPipe``, ``Schedule1F1B``), timed
the same way: a STEP span per training step, and FORWARD / BACKWARD spans by
wrapping the stage's ``forward_one_chunk`` / ``backward_one_chunk`` so busy
time and pipeline efficiency are comparable. PyTorch does not expose its
waits, so a peer's idle time is reported as what is left of the window, not
split by lock.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from dnibench.instrument import SpanKind, SpanRecorder
from dnibench.pipeline import Pipeline
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.straggler import straggle

PEER_SCHEDULES = {"torch-gpipe": "ScheduleGPipe", "torch-1f1b": "Schedule1F1B"}


def _timed(
    recorder: SpanRecorder | None, kind: SpanKind, method: Callable[..., Any], slow_factor: float
) -> Callable:
    """``method`` recorded as a ``kind`` span (when ``recorder``) and slowed by ``slow_factor``."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter_ns()
        try:
            return method(*args, **kwargs)
        finally:
            straggle(slow_factor, t0 / 1e9)  # perf_counter_ns is perf_counter's clock in ns
            if recorder is not None:
                recorder.record(kind, -1, t0, time.perf_counter_ns())

    return wrapper


def run_peer(
    spec: BenchSpec,
    pipeline: Pipeline,
    rank: int,
    world: int,
    recorder: SpanRecorder,
    data: Callable[[int], tuple[Tensor, Tensor]],
    device: torch.device,
) -> dict[str, list[float]]:
    """Train ``spec.steps`` steps of this rank's stage under a torch schedule."""
    slow_factor = spec.slow_factor if spec.slow_stage == rank else 1.0
    from torch.distributed import pipelining

    stage = pipeline.stages[rank]
    peer_stage = pipelining.PipelineStage(
        stage.module, stage_index=rank, num_stages=world, device=device
    )
    wrapped = (("forward_one_chunk", SpanKind.FORWARD), ("backward_one_chunk", SpanKind.BACKWARD))
    for name, kind in wrapped:
        method = getattr(peer_stage, name, None)
        if method is not None and (spec.spans or slow_factor > 1.0):
            timed_by = recorder if spec.spans else None
            setattr(peer_stage, name, _timed(timed_by, kind, method, slow_factor))
    schedule_class = getattr(pipelining, PEER_SCHEDULES[spec.mode])
    schedule = schedule_class(
        peer_stage, n_microbatches=spec.microbatches, loss_fn=pipeline.model.loss
    )
    losses: list[float] = []
    m = spec.microbatches
    for step in range(spec.steps):
        xs = [data(step * m + i) for i in range(m)]
        x = torch.cat([pair[0] for pair in xs])
        y = torch.cat([pair[1] for pair in xs])
        t0 = time.perf_counter_ns()
        if rank == 0:
            schedule.step(x)
        elif rank == world - 1:
            step_losses: list[Tensor] = []
            schedule.step(target=y, losses=step_losses)
            losses.append(float(torch.stack(step_losses).detach().mean()))
        else:
            schedule.step()
        with recorder.span(SpanKind.OPTIMIZER):
            stage.step()
        recorder.record(SpanKind.STEP, step, t0, time.perf_counter_ns())
    return {"losses": losses}
