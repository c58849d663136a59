"""Run one stage's action list: the same code under every process layout.

The executor turns a stage's schedule actions (``F3``, ``B3``, ``S3``,
``G3``, ``I3``, ``U``) into calls on the runtime-independent
:class:`~dnibench.regimes.stage.Stage` and messages over
:class:`NeighbourLinks`, and records a span for each piece of work and each
wait. Lock idle is measured where it happens: a forward-locked ``F`` blocked
on its input is ``wait_activation``; a ``B`` blocked on its gradient, or a
``G`` forced by the staleness bound to wait for its delta, is
``wait_gradient``.

Receives are posted a step ahead, so deltas land while the stage computes;
an unlocked stage regresses its SG (or SI) on any delta (or real activation)
that has already arrived before each forward, and blocks only when the
schedule's staleness deadline is reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from torch import Tensor

from dnibench.runtimes.straggler import straggle
from dnibench.instrument import SpanKind, SpanRecorder
from dnibench.regimes.stage import Stage
from dnibench.runtimes.dist.links import NeighbourLinks, PendingRecv
from dnibench.schedules import Action, Op

MicrobatchData = Callable[[int], tuple[Tensor, Tensor]]


@dataclass
class StageRunLog:
    """What a stage observed besides its spans: losses and SG/SI quality."""

    losses: list[float] = field(default_factory=list)
    sg_loss: list[Tensor] = field(default_factory=list)  # 0-d, converted after the run
    sg_cosine: list[Tensor] = field(default_factory=list)  # 0-d, converted after the run
    si_loss: list[Tensor] = field(default_factory=list)  # 0-d, converted after the run


class StageExecutor:
    """Executes ``actions`` for ``stage``; microbatch ids are global across steps.

    ``in_shape`` / ``out_shape`` are the per-microbatch shapes of the tensors
    this stage receives and sends. ``slow_factor`` > 1 makes the stage a
    straggler: every forward and backward is followed, inside its span, by a
    sleep of ``(slow_factor - 1)`` times its own duration.
    """

    def __init__(
        self,
        stage: Stage,
        links: NeighbourLinks | None,
        recorder: SpanRecorder,
        *,
        in_shape: tuple[int, ...] | None,
        out_shape: tuple[int, ...] | None,
        loss_scale: float,
        forward_locked: bool,
        microbatches_per_step: int,
        slow_factor: float = 1.0,
    ) -> None:
        self.stage = stage
        self.links = links
        self.recorder = recorder
        self.in_shape = in_shape
        self.out_shape = out_shape
        self.loss_scale = loss_scale
        self.forward_locked = forward_locked
        self.per_step = microbatches_per_step
        self.slow_factor = slow_factor
        self.log = StageRunLog()
        self._activations: dict[int, PendingRecv] = {}
        self._gradients: dict[int, PendingRecv] = {}
        self._posted_until = 0
        self._early: set[Action] = set()
        self._forwarded: set[int] = set()
        self._synthesised: set[int] = set()

    # -- receives ---------------------------------------------------------
    def _post_receives(self, mb: int, total: int) -> None:
        """Post receives for this step and the next, once, in microbatch order."""
        step = mb // self.per_step
        until = min(total, (step + 2) * self.per_step)
        if self.links is None:
            return
        for g in range(self._posted_until, until):
            if not self.stage.is_first:
                assert self.in_shape is not None
                self._activations[g] = self.links.recv_activation(self.in_shape, g)
            if not self.stage.is_last:
                assert self.out_shape is not None
                self._gradients[g] = self.links.recv_gradient(self.out_shape, g)
        self._posted_until = max(self._posted_until, until)

    def _wait(self, pending: PendingRecv, kind: SpanKind, mb: int) -> Tensor:
        assert self.links is not None
        if pending.ready():
            return self.links.wait(pending)
        with self.recorder.span(kind, mb):
            return self.links.wait(pending)

    def _compute(self, kind: SpanKind, mb: int, work: Callable[[], Tensor | None]) -> Tensor | None:
        with self.recorder.span(kind, mb):
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
            inp = self._wait(self._activations.pop(mb), SpanKind.WAIT_ACTIVATION, mb)
        else:
            with self.recorder.span(SpanKind.SI_FORWARD, mb):
                inp = stage.synthetic_input(mb, x)
        out = self._compute(
            SpanKind.FORWARD, mb, lambda: stage.forward(mb, inp, y, loss_scale=self.loss_scale)
        )
        assert out is not None
        if not self.forward_locked:
            self._forwarded.add(mb)
        if stage.is_last:
            self.log.losses.append(float(out) / self.loss_scale)
        else:
            assert self.links is not None
            with self.recorder.span(SpanKind.SEND, mb):
                self.links.send_activation(out, mb)

    def _send_up(self, grad: Tensor | None, mb: int) -> None:
        if grad is not None and self.links is not None and not self.stage.is_first:
            with self.recorder.span(SpanKind.SEND, mb):
                self.links.send_gradient(grad, mb)

    def _backward(self, mb: int) -> None:
        grad = None
        if not self.stage.is_last:
            grad = self._wait(self._gradients.pop(mb), SpanKind.WAIT_GRADIENT, mb)
        grad_in = self._compute(SpanKind.BACKWARD, mb, lambda: self.stage.backward(mb, grad))
        self._send_up(grad_in, mb)

    def _synthetic_backward(self, mb: int) -> None:
        grad_in = self._compute(SpanKind.BACKWARD, mb, lambda: self.stage.synthetic_backward(mb))
        self._synthesised.add(mb)
        self._send_up(grad_in, mb)

    def _sg_update(self, mb: int) -> None:
        delta = self._wait(self._gradients.pop(mb), SpanKind.WAIT_GRADIENT, mb)
        with self.recorder.span(SpanKind.SG_UPDATE, mb):
            stats = self.stage.update_synthetic_gradient(mb, delta)
        self.log.sg_loss.append(stats.loss)
        self.log.sg_cosine.append(stats.cosine)

    def _si_update(self, mb: int) -> None:
        real = self._wait(self._activations.pop(mb), SpanKind.WAIT_ACTIVATION, mb)
        with self.recorder.span(SpanKind.SI_UPDATE, mb):
            self.log.si_loss.append(self.stage.update_synthetic_input(mb, real))

    def _consume_arrived(self) -> None:
        """Regress on deltas / real inputs that have already arrived (no waiting)."""
        for mb in sorted(self._synthesised):
            pending = self._gradients.get(mb)
            if pending is not None and pending.ready():
                self._synthesised.discard(mb)
                self._early.add(Action(Op.SG_UPDATE, mb))
                self._sg_update(mb)
        if self.forward_locked or self.stage.is_first:
            return
        for mb in sorted(self._forwarded):
            pending = self._activations.get(mb)
            if pending is not None and pending.ready():
                self._forwarded.discard(mb)
                self._early.add(Action(Op.SI_UPDATE, mb))
                self._si_update(mb)

    # -- the loop ---------------------------------------------------------
    def run(
        self,
        actions: Sequence[Action],
        data: MicrobatchData,
        total_microbatches: int,
        on_step: Callable[[int], None] | None = None,
    ) -> None:
        """Execute ``actions`` in order; a STEP span covers each step's microbatches.

        ``on_step(step)`` is called as each step ends (fault injection uses it).
        """
        step_started: int | None = None
        backwards_done = 0
        step = 0
        for action in actions:
            if action in self._early:
                self._early.discard(action)
                continue
            op, mb = action.op, action.mb
            if mb is not None:
                self._post_receives(mb, total_microbatches)
            if step_started is None:
                step_started = time.perf_counter_ns()
            if op is Op.FORWARD:
                assert mb is not None
                if self.stage.sg is not None or self.stage.si is not None:
                    self._consume_arrived()
                self._forward(mb, data)
            elif op is Op.BACKWARD:
                assert mb is not None
                self._backward(mb)
                backwards_done += 1
            elif op is Op.SYNTH_BACKWARD:
                assert mb is not None
                self._synthetic_backward(mb)
                backwards_done += 1
            elif op is Op.SG_UPDATE:
                assert mb is not None
                self._synthesised.discard(mb)
                self._sg_update(mb)
            elif op is Op.SI_UPDATE:
                assert mb is not None
                self._forwarded.discard(mb)
                self._si_update(mb)
            elif op is Op.UPDATE:
                with self.recorder.span(SpanKind.OPTIMIZER):
                    self.stage.step()
                if backwards_done >= (step + 1) * self.per_step:
                    self.recorder.record(SpanKind.STEP, step, step_started, time.perf_counter_ns())
                    step += 1
                    step_started = None
                    if on_step is not None:
                        on_step(step)
        if self.links is not None:
            self.links.flush()
        self.stage.discard()
