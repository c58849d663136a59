"""One stage's actions issued onto its stream: the streams analogue of the dist executor.

A :class:`StreamStageWorker` walks its stage's schedule actions (``F3``,
``B3``, ``S3``, ``G3``, ``I3``, ``U``) on its own host thread and calls the
same :class:`~dnibench.regimes.stage.Stage` operations as every other
runtime, inside its stream, so on CUDA the work is queued on that stream
and the thread runs ahead of the GPU. Hand-offs go through
:mod:`~dnibench.runtimes.streams.handoff`: the producer posts a tensor with
an event recorded after the work that made it; the consumer's stream waits
on that event and adopts the tensor. Spans are event-timed
(:mod:`~dnibench.runtimes.streams.timeline`), so lock idle is the time the
*stream* was blocked on a neighbour.

As in the dist executor, an unlocked stage regresses its SG (or SI) on any
delta (or real activation) that has already arrived before each forward, and
blocks only when the schedule's staleness deadline is reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from dnibench.instrument import SpanKind
from dnibench.regimes.stage import Stage
from dnibench.runtimes.straggler import straggle
from dnibench.runtimes.streams.handoff import Abort, Handoff, Inbox, StageAborted, What
from dnibench.runtimes.streams.stream import StageStream
from dnibench.runtimes.streams.timeline import EventTimeline
from dnibench.schedules import Action, Op

MicrobatchData = Callable[[int], tuple[Tensor, Tensor]]


@dataclass
class StreamStageLog:
    """What a stage observed besides its spans. Losses stay tensors until the run ends,
    so reading them never stalls the stream mid-run."""

    loss_tensors: list[Tensor] = field(default_factory=list)
    sg_loss: list[Tensor] = field(default_factory=list)  # 0-d, converted after the run
    sg_cosine: list[Tensor] = field(default_factory=list)  # 0-d, converted after the run
    si_loss: list[Tensor] = field(default_factory=list)  # 0-d, converted after the run


@dataclass(frozen=True)
class Neighbour:
    """Where a stage posts what it sends one way: the neighbour's inbox and device."""

    inbox: Inbox
    device: torch.device


class StreamStageWorker:
    """Issues ``stage``'s actions on ``stream``; microbatch ids are global across steps.

    ``down`` receives activations, ``up`` receives gradients (``None`` at the
    ends of the pipeline). ``slow_factor`` > 1 (CPU stand-in only) makes the
    stage a straggler: each forward and backward sleeps ``slow_factor - 1``
    times its own duration inside its span.
    """

    def __init__(
        self,
        stage: Stage,
        stream: StageStream,
        inbox: Inbox,
        abort: Abort,
        *,
        up: Neighbour | None,
        down: Neighbour | None,
        loss_scale: float,
        forward_locked: bool,
        microbatches_per_step: int,
        spans: bool = True,
        slow_factor: float = 1.0,
    ) -> None:
        if slow_factor > 1.0 and not stream.executes_inline:
            raise ValueError(
                "slow_factor needs the CPU stand-in: a host sleep does not slow a CUDA stream"
            )
        self.stage = stage
        self.stream = stream
        self.inbox = inbox
        self.abort = abort
        self.up = up
        self.down = down
        self.loss_scale = loss_scale
        self.forward_locked = forward_locked
        self.per_step = microbatches_per_step
        self.slow_factor = slow_factor
        self.timeline = EventTimeline(stream, enabled=spans)
        self.log = StreamStageLog()
        self._early: set[Action] = set()
        self._forwarded: set[int] = set()
        self._synthesised: set[int] = set()

    # -- hand-offs --------------------------------------------------------
    def _receive(self, what: What, mb: int, kind: SpanKind) -> Tensor:
        with self.timeline.span(kind, mb):
            handoff = self.inbox.take(what, mb)
            self.stream.wait(handoff.event)
            self.stream.adopt(handoff.tensor)
        return handoff.tensor

    def _post(self, to: Neighbour, what: What, mb: int, tensor: Tensor) -> None:
        with self.timeline.span(SpanKind.SEND, mb):
            if tensor.device != to.device:
                tensor = tensor.to(to.device, non_blocking=True)
            event = self.stream.record()
        to.inbox.post(what, mb, Handoff(tensor, event, self.stage.index))

    def _compute(self, kind: SpanKind, mb: int, work: Callable[[], Tensor | None]) -> Tensor | None:
        with self.timeline.span(kind, mb):
            started = time.perf_counter()
            result = work()
            straggle(self.slow_factor, started)
        return result

    # -- actions ----------------------------------------------------------
    def _forward(self, mb: int, data: MicrobatchData) -> None:
        x, y = data(mb)
        stage = self.stage
        if stage.is_first:
            inp = x
        elif self.forward_locked:
            inp = self._receive("activation", mb, SpanKind.WAIT_ACTIVATION)
        else:
            with self.timeline.span(SpanKind.SI_FORWARD, mb):
                inp = stage.synthetic_input(mb, x)
        out = self._compute(
            SpanKind.FORWARD, mb, lambda: stage.forward(mb, inp, y, loss_scale=self.loss_scale)
        )
        assert out is not None
        if not self.forward_locked:
            self._forwarded.add(mb)
        if stage.is_last:
            self.log.loss_tensors.append(out)
        else:
            assert self.down is not None
            self._post(self.down, "activation", mb, out)

    def _send_up(self, grad: Tensor | None, mb: int) -> None:
        if grad is not None and self.up is not None:
            self._post(self.up, "gradient", mb, grad)

    def _backward(self, mb: int) -> None:
        grad = None
        if not self.stage.is_last:
            grad = self._receive("gradient", mb, SpanKind.WAIT_GRADIENT)
        grad_in = self._compute(SpanKind.BACKWARD, mb, lambda: self.stage.backward(mb, grad))
        self._send_up(grad_in, mb)

    def _synthetic_backward(self, mb: int) -> None:
        grad_in = self._compute(SpanKind.BACKWARD, mb, lambda: self.stage.synthetic_backward(mb))
        self._synthesised.add(mb)
        self._send_up(grad_in, mb)

    def _sg_update(self, mb: int) -> None:
        delta = self._receive("gradient", mb, SpanKind.WAIT_GRADIENT)
        with self.timeline.span(SpanKind.SG_UPDATE, mb):
            stats = self.stage.update_synthetic_gradient(mb, delta)
        self.log.sg_loss.append(stats.loss)
        self.log.sg_cosine.append(stats.cosine)

    def _si_update(self, mb: int) -> None:
        real = self._receive("activation", mb, SpanKind.WAIT_ACTIVATION)
        with self.timeline.span(SpanKind.SI_UPDATE, mb):
            self.log.si_loss.append(self.stage.update_synthetic_input(mb, real))

    def _consume_arrived(self) -> None:
        """Regress on deltas / real inputs whose events have completed (no stalling)."""
        for mb in sorted(self._synthesised):
            if self.inbox.ready("gradient", mb):
                self._synthesised.discard(mb)
                self._early.add(Action(Op.SG_UPDATE, mb))
                self._sg_update(mb)
        if self.forward_locked or self.stage.is_first:
            return
        for mb in sorted(self._forwarded):
            if self.inbox.ready("activation", mb):
                self._forwarded.discard(mb)
                self._early.add(Action(Op.SI_UPDATE, mb))
                self._si_update(mb)

    # -- the loop ---------------------------------------------------------
    def run(
        self,
        actions: Sequence[Action],
        data: MicrobatchData,
        on_step: Callable[[int], None] | None = None,
    ) -> None:
        """Issue ``actions`` in order inside the stage's stream; a STEP span covers each step.

        ``on_step(step)`` is called as each step's work has been issued.
        """
        with self.stream.activate():
            self._run(actions, data, on_step)

    def _run(
        self,
        actions: Sequence[Action],
        data: MicrobatchData,
        on_step: Callable[[int], None] | None,
    ) -> None:
        step_start = None
        backwards_done = 0
        step = 0
        for action in actions:
            if self.abort.raised:
                raise StageAborted(
                    f"stage {self.stage.index} stopped: stage {self.abort.stage} failed"
                )
            if action in self._early:
                self._early.discard(action)
                continue
            if step_start is None:
                step_start = self.timeline.mark()
            op, mb = action.op, action.mb
            if op is Op.UPDATE:
                with self.timeline.span(SpanKind.OPTIMIZER):
                    self.stage.step()
                if backwards_done >= (step + 1) * self.per_step:
                    self.timeline.add(SpanKind.STEP, step, step_start, self.timeline.mark())
                    step += 1
                    step_start = None
                    if on_step is not None:
                        on_step(step)
                continue
            assert mb is not None
            if op is Op.FORWARD:
                if self.stage.sg is not None or self.stage.si is not None:
                    self._consume_arrived()
                self._forward(mb, data)
            elif op is Op.BACKWARD:
                self._backward(mb)
                backwards_done += 1
            elif op is Op.SYNTH_BACKWARD:
                self._synthetic_backward(mb)
                backwards_done += 1
            elif op is Op.SG_UPDATE:
                self._synthesised.discard(mb)
                self._sg_update(mb)
            elif op is Op.SI_UPDATE:
                self._forwarded.discard(mb)
                self._si_update(mb)
