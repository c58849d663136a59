"""PyTorch's own pipeline schedules as peers of dnibench's.

The same model, seed and batches go through ``torch.distributed.pipelining``
(the schedules of :mod:`dnibench.runtimes.peer_schedules`: GPipe, 1F1B, the
looped and V schedules with two virtual stages per rank, and the zero-bubble
ones), timed the way dnibench's own stages are timed so that busy time, lock
idle and pipeline efficiency mean the same thing:

- a STEP span per training step;
- FORWARD spans around every ``forward_one_chunk``; BACKWARD around a full
  ``backward_one_chunk``, BACKWARD_INPUT around an input-only one (the
  zero-bubble split) and BACKWARD_WEIGHT around ``backward_weight_one_chunk``;
- the waits, by :mod:`peer_waits`, which wraps PyTorch's ``_batch_p2p`` /
  ``_wait_batch_p2p`` when the installed torch has them.

A peer rank is watched as dnibench's own ranks are
(:class:`~dnibench.runtimes.harness.Watchdog`): its compute calls are its
progress and its waits on a batch are not counted, so a rank that hangs is
caught within ``timeout_s`` and named, while its neighbours' receives wait
longer. Where the waits cannot be wrapped, no watchdog is armed (a waiting
rank would look hung) and the process group's timeout ends a hang. The
fault hook (``--fault``) fires as each step ends, as in the stage driver.

A rank holding several virtual stages records the forwards of its later
ones with a microbatch id of :data:`~dnibench.instrument.metrics.LATER_VIRTUAL_STAGE`
minus the chunk, so metrics count each microbatch once per rank while the
busy time holds both stages' work.

PyTorch infers the stages' shapes with one extra forward per stage before
the first step (on ranks > 0 on uninitialised memory), so BatchNorm's
running statistics of a peer differ from dnibench's; the parameters, which
training reads, do not (tests/runtimes/distributed/test_dist_peers.py).
Giving the shapes up front (``input_args``/``output_args``) avoids that
forward but breaks the backward on torch 2.13, so it is not done.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

from dnibench.instrument import SpanKind, SpanRecorder
from dnibench.instrument.metrics import LATER_VIRTUAL_STAGE
from dnibench.pipeline import Pipeline
from dnibench.runtimes.distributed.peer_waits import PeerProgress, tag_messages, timed_waits
from dnibench.runtimes.harness import Watchdog, fault_hook
from dnibench.runtimes.peer_schedules import PEERS
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.straggler import slow_factor_of, straggle


def _timed(
    recorder: SpanRecorder | None,
    kind: Callable[..., SpanKind],
    method: Callable[..., Any],
    slow_factor: float,
    mb_of: Callable[[int], int],
    progress: PeerProgress,
) -> Callable:
    """``method`` recorded as a span (kind from its arguments) and slowed by ``slow_factor``.

    The first positional argument of PyTorch's chunk methods is the chunk
    (microbatch) id; ``mb_of`` turns it into the id the span records. Each
    call counts as progress for the watchdog.
    """

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        progress.actions += 1
        t0 = time.perf_counter_ns()
        try:
            return method(*args, **kwargs)
        finally:
            straggle(slow_factor, t0 / 1e9)  # perf_counter_ns is perf_counter's clock in ns
            if recorder is not None:
                chunk = args[0] if args else kwargs.get("fwd_chunk_id", kwargs.get("bwd_chunk_id"))
                mb = mb_of(int(chunk)) if isinstance(chunk, int) else -1
                recorder.record(kind(*args, **kwargs), mb, t0, time.perf_counter_ns())

    return wrapper


def _backward_kind(*args: Any, **kwargs: Any) -> SpanKind:
    """BACKWARD for a full backward, BACKWARD_INPUT for the zero-bubble input-only half."""
    full = kwargs.get("full_backward", args[2] if len(args) > 2 else True)
    return SpanKind.BACKWARD if full else SpanKind.BACKWARD_INPUT


def _instrument(
    stage: Any, recorder: SpanRecorder | None, slow: float, later: bool, progress: PeerProgress
) -> None:
    """Wrap one PipelineStage's compute methods with timing, progress and the straggler's delay."""

    def own(chunk: int) -> int:
        return chunk

    def virtual(chunk: int) -> int:
        return LATER_VIRTUAL_STAGE - chunk

    wrapped = (
        ("forward_one_chunk", lambda *a, **k: SpanKind.FORWARD, virtual if later else own),
        ("backward_one_chunk", _backward_kind, own),
        ("backward_weight_one_chunk", lambda *a, **k: SpanKind.BACKWARD_WEIGHT, own),
    )
    for name, kind, mb_of in wrapped:
        method = getattr(stage, name, None)
        if method is not None:
            setattr(stage, name, _timed(recorder, kind, method, slow, mb_of, progress))


def _keep_buffers_through_inference(stage: Any) -> None:
    """Undo what PyTorch's metadata inference does to the module's buffers.

    Its extra forward per stage (on uninitialised memory past the first
    stage) moves BatchNorm's running statistics, even to NaN, which the
    evaluation of a peer's snapshots reads. The buffers are saved when the
    inference starts and put back once it is cleaned up (torch >= 2.13: its
    backward inference still needs the forward's graph), or right after it
    (older torch's ``_shape_inference``).
    """
    submod = stage.submod
    saved: dict[str, Tensor] = {}

    def save() -> None:
        saved.update({key: value.detach().clone() for key, value in submod.named_buffers()})

    def restore() -> None:
        with torch.no_grad():
            for key, value in submod.named_buffers():
                if key in saved:
                    value.copy_(saved[key])
        saved.clear()

    def wrap(name: str, before: Callable[[], None] | None, after: Callable[[], None]) -> None:
        method = getattr(stage, name)

        @functools.wraps(method)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if before is not None:
                before()
            try:
                return method(*args, **kwargs)
            finally:
                after()

        setattr(stage, name, wrapper)

    if hasattr(stage, "_forward_metadata_inference") and hasattr(
        stage, "_post_metadata_inference_cleanup"
    ):
        wrap("_forward_metadata_inference", save, lambda: None)
        wrap("_post_metadata_inference_cleanup", None, restore)
    elif hasattr(stage, "_shape_inference"):
        wrap("_shape_inference", save, restore)


def run_peer(
    spec: BenchSpec,
    pipeline: Pipeline,
    rank: int,
    world: int,
    recorder: SpanRecorder,
    data: Callable[[int], tuple[Tensor, Tensor]],
    device: torch.device,
    hung: Callable[[float], None],
    after_update: Callable[[int], None] | None = None,
) -> dict[str, list[float]]:
    """Train ``spec.steps`` steps of this rank's virtual stages under a torch schedule.

    ``hung(seconds)`` is called from the watchdog thread when the rank makes no
    progress for ``spec.timeout_s`` while not waiting on a neighbour.
    ``after_update`` is called after each step's optimiser with the microbatches consumed.
    """
    from torch.distributed import pipelining

    peer = PEERS[spec.mode]
    progress = PeerProgress()
    on_step = fault_hook(spec, rank)
    slow_factor = slow_factor_of(spec.slow_stage, spec.slow_factor, rank)
    total = peer.virtual_stages(world)
    indices = peer.local_stages(rank, world)
    stages = [pipeline.stages[i] for i in indices]
    peer_stages = []
    for position, (index, stage) in enumerate(zip(indices, stages, strict=True)):
        stage.module.to(device)
        peer_stage = pipelining.PipelineStage(
            stage.module,
            stage_index=index,
            num_stages=total,
            device=device,
        )
        tag_messages(peer_stage)
        _keep_buffers_through_inference(peer_stage)
        later = position > 0
        _instrument(peer_stage, recorder if spec.spans else None, slow_factor, later, progress)
        peer_stages.append(peer_stage)
    schedule_class = getattr(pipelining, peer.class_name)
    schedule = schedule_class(
        peer_stages if peer.multi else peer_stages[0],
        n_microbatches=spec.microbatches,
        loss_fn=pipeline.model.loss,
    )
    holds_first, holds_last = 0 in indices, total - 1 in indices
    losses: list[float] = []
    m = spec.microbatches
    with (
        timed_waits(recorder if spec.spans else None, progress) as watched,
        _watchdog(watched, spec.timeout_s, progress, hung),
    ):
        for step in range(spec.steps):
            xs = [data(step * m + i) for i in range(m)]
            x = torch.cat([pair[0] for pair in xs])
            y = torch.cat([pair[1] for pair in xs])
            t0 = time.perf_counter_ns()
            args = (x,) if holds_first else ()
            if holds_last:
                step_losses: list[Tensor] = []
                schedule.step(*args, target=y, losses=step_losses)
                losses.append(float(torch.stack(step_losses).detach().mean()))
            else:
                schedule.step(*args)
            with recorder.span(SpanKind.OPTIMIZER):
                for stage in stages:
                    stage.step()
            if after_update is not None:
                after_update((step + 1) * m)
            recorder.record(SpanKind.STEP, step, t0, time.perf_counter_ns())
            progress.actions += 1
            if on_step is not None:
                on_step(step + 1)
    return {"losses": losses}


@contextmanager
def _watchdog(
    armed: bool, timeout_s: float, progress: PeerProgress, hung: Callable[[float], None]
) -> Iterator[None]:
    """The rank's watchdog while the block runs, when its waits could be told apart."""
    if not armed:
        yield
        return
    with Watchdog(timeout_s, lambda: progress.actions, hung, lambda: progress.waiting):
        yield
