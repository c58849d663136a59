"""What every pipeline runtime does around the stage driver, written once.

``dist`` (a process per stage) and ``streams`` (a stream per stage) differ
only in how tensors travel and how time is taken. Everything else must be
the same for their numbers to mean the same thing, so it lives here: the
pipeline built from the same seed, each stage's action list, the loss
scale, where a stage's modules go, the microbatch source, the fault hook,
the parameter snapshot, and the result and failure types that
:mod:`~dnibench.runtimes.pipeline_result` turns into metrics and rows.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from dnibench.data import BatchStream, load_dataset
from dnibench.instrument import SpanKind
from dnibench.pipeline import Pipeline, build_pipeline
from dnibench.precision import cast_input, torch_dtype
from dnibench.regimes.async_stages import asynchronous_stages
from dnibench.regimes.local_loss import LocalLossStage
from dnibench.regimes.stage import Stage
from dnibench.runtimes.driver import MicrobatchData, StepHook
from dnibench.runtimes.snapshots import StageSnapshot
from dnibench.runtimes.spec import BenchSpec, parse_fault
from dnibench.schedules import Action


@dataclass
class RankResult:
    """What one stage measured (one rank of ``dist``, one stream of ``streams``)."""

    rank: int
    spans: np.ndarray
    offset_ns: int = 0
    rtt_ns: int = 0
    peak_rss_bytes: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    dropped_spans: int = 0
    log: dict[str, list[float]] = field(default_factory=dict)
    parameters: dict[str, Tensor] = field(default_factory=dict)
    nvml: dict[str, Any] = field(default_factory=dict)
    snapshots: list[StageSnapshot] = field(default_factory=list)


class RankFailure(RuntimeError):
    """A stage raised, hung or was killed; the message names the stage (-1: the whole run).

    ``output`` is what the run's processes wrote to stderr (their tracebacks): the
    session puts it in the run's error log, so the terminal shows only the one line.
    """

    def __init__(self, message: str, stage: int, output: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.output = output


WAIT_GRACE_S = 2.0
"""A receive waits this much (or half of ``timeout_s``, if more) past ``timeout_s``, so that
the hung stage's own watchdog speaks first and the blame goes to it, not to its neighbour."""


def wait_timeout_s(timeout_s: float) -> float:
    """How long a stage waits on a neighbour: longer than its watchdog's ``timeout_s``."""
    return timeout_s + max(WAIT_GRACE_S, timeout_s / 2)


class Watchdog:
    """Calls ``on_hang(seconds)`` once ``progress()`` has not changed for ``timeout_s`` seconds.

    ``progress`` is a counter the stage's loop advances (its actions); a
    daemon thread reads it, so the watchdog works while the loop itself is
    stuck. Time spent while ``idle()`` (waiting on a neighbour) does not
    count: the stage that stopped making progress is the one that hung, not
    the one waiting for it. So a one-process benchmark, which has no
    neighbour whose receive would time out, is caught within its timeout,
    and a pipeline blames the stage that hung. Use it as a ``with`` block
    around the loop.
    """

    def __init__(
        self,
        timeout_s: float,
        progress: Callable[[], int],
        on_hang: Callable[[float], None],
        idle: Callable[[], bool] = lambda: False,
    ) -> None:
        self.timeout_s = timeout_s
        self.progress = progress
        self.on_hang = on_hang
        self.idle = idle
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="dnibench-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        poll = min(1.0, self.timeout_s / 10)
        seen, since = self.progress(), time.monotonic()
        while not self._stop.wait(poll):
            now = self.progress()
            if now != seen or self.idle():
                seen, since = now, time.monotonic()
            elif time.monotonic() - since > self.timeout_s:
                self.on_hang(time.monotonic() - since)
                return


def describe_last_span(spans: np.ndarray) -> str:
    """What a stage last finished, from its span rows (kind, microbatch, t0, t1)."""
    if len(spans) == 0:
        return "before its first span"
    return describe_span(int(spans[-1, 0]), int(spans[-1, 1]))


def describe_span(kind_value: int, mb: int) -> str:
    """ "after the forward of microbatch 3", "after step 2 (its last span)": a hang's headline."""
    kind = SpanKind(kind_value)
    what = kind.name.lower().replace("_", " ")
    if kind is SpanKind.STEP:
        return f"after step {mb} (its last span)"
    return f"after the {what} of microbatch {mb}" if mb >= 0 else f"after its {what}"


#: Rows of real input that size the stages and price the split at build time:
#: enough for per-example shapes and FLOP ratios, without pushing a GPU-sized
#: batch through the whole model on one CPU thread before the run starts.
PROBE_ROWS = 64


def build_for_rank(spec: BenchSpec) -> tuple[Pipeline, BatchStream]:
    """The whole pipeline (same seed on every rank) and the shared batch stream."""
    seed = spec.seed if spec.data_seed is None else spec.data_seed
    dataset = load_dataset(
        spec.data, seed=seed, synthetic_shape=spec.input_shape, text_path=spec.text_path
    )
    sample = dataset.x_train[: min(spec.batch_size, PROBE_ROWS)]
    pipeline = build_pipeline(
        spec.pipeline_config, spec.regime, dataset.input_shape, dataset.num_classes, sample
    )
    stream = BatchStream(dataset.x_train, dataset.y_train, spec.batch_size, seed=spec.seed)
    rule = spec.mode_row.asynchronous
    if rule is not None:
        pipeline.stages = asynchronous_stages(
            pipeline.stages, rule, spec.microbatches, shapes=pipeline.activation_shapes,
            num_classes=dataset.num_classes, task=pipeline.model.task, seed=spec.seed,
        )  # fmt: skip
    return pipeline, stream


def action_stream(spec: BenchSpec, rank: int) -> list[Action]:
    """This rank's actions for the whole run, microbatch ids global across steps.

    Backprop schedules repeat one step's list; unlocked schedules are built
    over all ``steps * m`` microbatches so that deltas may stay outstanding
    across a step boundary, as the staleness bound allows.
    """
    m = spec.microbatches
    mode = spec.mode_row
    if mode.asynchronous is not None:  # no flush: one schedule over the whole run
        return list(mode.build_schedule(spec.world_size, m, steps=spec.steps).stage_actions(rank))
    if mode.unlocked:
        schedule = mode.build_schedule(
            spec.world_size, spec.steps * m, spec.staleness, spec.update_every
        )
        return list(schedule.stage_actions(rank))
    one_step = mode.build_schedule(spec.world_size, m).stage_actions(rank)
    actions: list[Action] = []
    for step in range(spec.steps):
        for action in one_step:
            mb = None if action.mb is None else action.mb + step * m
            actions.append(Action(action.op, mb))
    return actions


def loss_scale(spec: BenchSpec) -> float:
    """1 / microbatches per optimiser step: the accumulated gradient is the batch mean."""
    rule = spec.mode_row.asynchronous
    if rule is not None:
        return rule.loss_scale(spec.microbatches)
    per_update = spec.update_every if spec.regime.synthetic_gradients else spec.microbatches
    return 1.0 / per_update


def place_stage(stage: Stage, device: torch.device) -> None:
    """Move a stage's module and its SG / SI modules (parameter identity kept for optimisers).

    The SG / SI go too: on a GPU, a DNI stage would otherwise mix devices.
    """
    head = stage.head if isinstance(stage, LocalLossStage) else None
    for module in (stage.module, stage.sg, stage.si, head):
        if module is not None:
            module.to(device)


def parameter_snapshot(stage: Stage) -> dict[str, Tensor]:
    """The stage's parameters and buffers, on the CPU (for tests that compare runtimes)."""
    return {name: value.detach().cpu().clone() for name, value in stage.module.state_dict().items()}


def microbatch_source(spec: BenchSpec, stream: BatchStream, device: torch.device) -> MicrobatchData:
    """Global microbatch id -> (x, y) on ``device``, one step's batch cached at a time.

    Real-valued inputs come in the run's precision (ids and labels as they are).
    """
    cache: dict[int, tuple[tuple[Tensor, ...], tuple[Tensor, ...]]] = {}

    def data(mb: int) -> tuple[Tensor, Tensor]:
        step, index = divmod(mb, spec.microbatches)
        if step not in cache:
            cache.clear()
            x, y = stream.batch(step)
            x, y = cast_input(x.to(device), torch_dtype(spec.dtype)), y.to(device)
            cache[step] = (x.chunk(spec.microbatches), y.chunk(spec.microbatches))
        xs, ys = cache[step]
        return xs[index], ys[index]

    return data


def fault_hook(spec: BenchSpec, stage: int) -> StepHook | None:
    """The ``on_step`` hook that makes ``stage`` fail as ``spec.fault`` asks, if it names it.

    ``raise`` raises in the stage's loop; ``hang`` blocks it forever (its
    neighbours' timeouts must end the run); ``kill`` SIGKILLs the process,
    which only the one-process-per-stage runtime survives (the spec refuses
    it elsewhere).
    """
    if spec.fault is None:
        return None
    kind, faulty, at_step = parse_fault(spec.fault)
    if faulty != stage:
        return None

    def on_step(step: int) -> None:
        if step != at_step:
            return
        if kind == "raise":
            raise RuntimeError(f"injected fault at step {step}")
        if kind == "hang":
            while True:
                time.sleep(3600)
        os.kill(os.getpid(), signal.SIGKILL)

    return on_step


__all__ = [
    "PROBE_ROWS", "WAIT_GRACE_S", "RankFailure", "RankResult", "Watchdog", "action_stream",
    "build_for_rank", "describe_last_span", "describe_span", "fault_hook", "loss_scale",
    "microbatch_source", "parameter_snapshot", "place_stage", "wait_timeout_s",
]  # fmt: skip
