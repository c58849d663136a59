"""Run one stage's action list: the one interpreter every runtime uses.

The driver turns a stage's schedule actions (``F3``, ``B3``, ``D3``, ``W3``,
``S3``, ``G3``, ``I3``, ``U``) into calls on the runtime-independent
:class:`~dnibench.regimes.stage.Stage`, moves tensors through a
:class:`~dnibench.runtimes.transport.Transport` and records a span for each
piece of work and each wait in a :class:`~dnibench.runtimes.transport.SpanSink`.
The ``dist`` runtime supplies a transport over torch.distributed messages
and the host clock; ``streams`` one over CUDA-stream hand-offs and events.
Both therefore run exactly this code, and a fix here is a fix in both.

Lock idle is measured where it happens: a forward-locked ``F`` blocked on
its input is ``wait_activation``; a ``B`` or ``D`` blocked on its gradient, or a
``G`` forced by the staleness bound to wait for its delta, is
``wait_gradient``. An unlocked stage regresses its SG (or SI) on any delta
(or real activation) that has already arrived before each forward, skips
the listed ``G`` (``I``) later, and blocks only when the schedule's
staleness deadline is reached.

Each op has one handler in :attr:`StageDriver.handlers`; a new action is
one new handler there, plus membership of :data:`BACKWARD_OPS` if it
completes a microbatch's backward. The zero-bubble halves are two such
handlers: ``D`` (input gradient, sent upstream at once, a
``backward_input`` span) and ``W`` (weight gradient, a ``backward_weight``
span); a microbatch whose backward is split is told so at its forward, so
the stage keeps what ``W`` needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from torch import Tensor

from dnibench.instrument import SpanKind
from dnibench.regimes.stage import Stage
from dnibench.runtimes.straggler import straggle
from dnibench.runtimes.transport import SpanSink, Transport, What
from dnibench.schedules import Action, Op

MicrobatchData = Callable[[int], tuple[Tensor, Tensor]]
"""Global microbatch id -> (x, y) on the stage's device."""

StepHook = Callable[[int], None]
"""Called with the number of steps done as each training step ends (fault injection)."""

BACKWARD_OPS = frozenset({Op.BACKWARD, Op.SYNTH_BACKWARD, Op.BACKWARD_WEIGHT, Op.LOCAL_BACKWARD})
"""Ops that finish a microbatch's backward: a step ends at the ``U`` after m of them.
A split backward finishes at its W (its D only sends the delta)."""


@dataclass
class StageLog:
    """What a stage observed besides its spans.

    Everything stays a 0-d tensor until the run ends, so logging never
    synchronises a device mid-run; :meth:`floats` converts afterwards.
    """

    losses: list[Tensor] = field(default_factory=list)  # scaled, as the stage returned them
    sg_loss: list[Tensor] = field(default_factory=list)
    sg_cosine: list[Tensor] = field(default_factory=list)
    si_loss: list[Tensor] = field(default_factory=list)
    stage: dict[str, list[float]] = field(default_factory=dict)  # Stage.report() at the end

    def floats(self, loss_scale: float) -> dict[str, list[float]]:
        """The log as plain floats, losses unscaled (what results and reports read)."""
        return {
            "losses": [float(t) / loss_scale for t in self.losses],
            "sg_loss": [float(v) for v in self.sg_loss],
            "sg_cosine": [float(v) for v in self.sg_cosine],
            "si_loss": [float(v) for v in self.si_loss],
            **self.stage,
        }


class StageDriver:
    """Executes ``stage``'s actions over ``transport``; microbatch ids are global across steps.

    ``slow_factor`` > 1 makes the stage a straggler: every forward and
    backward is followed, inside its span, by a sleep of ``slow_factor - 1``
    times its own duration (:mod:`~dnibench.runtimes.straggler`).
    """

    def __init__(
        self,
        stage: Stage,
        transport: Transport,
        spans: SpanSink,
        *,
        loss_scale: float,
        forward_locked: bool,
        microbatches_per_step: int,
        slow_factor: float = 1.0,
        after_update: Callable[[int], None] | None = None,
    ) -> None:
        self.stage = stage
        self.transport = transport
        self.spans = spans
        self.loss_scale = loss_scale
        self.forward_locked = forward_locked
        self.per_step = microbatches_per_step
        self.slow_factor = slow_factor
        # Called after each optimiser step with the microbatches consumed (evaluation snapshots).
        self.after_update = after_update
        self.log = StageLog()
        self.handlers: dict[Op, Callable[[int], None]] = {
            Op.FORWARD: self._forward,
            Op.BACKWARD: self._backward,
            Op.SYNTH_BACKWARD: self._synthetic_backward,
            Op.BACKWARD_INPUT: self._backward_input,
            Op.BACKWARD_WEIGHT: self._backward_weight,
            Op.LOCAL_BACKWARD: self._local_backward,
            Op.SG_UPDATE: self._listed_sg_update,
            Op.SI_UPDATE: self._listed_si_update,
        }
        self._data: MicrobatchData | None = None
        self._early: set[Action] = set()
        self._forwarded: set[int] = set()
        self._synthesised: set[int] = set()
        self._split: frozenset[int] = frozenset()

    # -- moving tensors ---------------------------------------------------
    def _receive(self, what: What, mb: int, kind: SpanKind) -> Tensor:
        transport = self.transport
        if not transport.times_ready_receives and transport.ready(what, mb):
            return transport.receive(what, mb)
        with self.spans.span(kind, mb):
            return transport.receive(what, mb)

    def _send(self, what: What, mb: int, tensor: Tensor) -> None:
        with self.spans.span(SpanKind.SEND, mb):
            self.transport.send(what, mb, tensor)

    def _compute(self, kind: SpanKind, mb: int, work: Callable[[], Tensor | None]) -> Tensor | None:
        with self.spans.span(kind, mb):
            started = time.perf_counter()
            result = work()
            straggle(self.slow_factor, started)
        return result

    # -- actions ----------------------------------------------------------
    def _forward(self, mb: int) -> None:
        stage = self.stage
        if stage.sg is not None or stage.si is not None:
            self._consume_arrived()
        assert self._data is not None
        x, y = self._data(mb)
        if stage.is_first:
            inp = x
        elif self.forward_locked:
            inp = self._receive("activation", mb, SpanKind.WAIT_ACTIVATION)
        else:
            with self.spans.span(SpanKind.SI_FORWARD, mb):
                inp = stage.synthetic_input(mb, x)
        if mb in self._split:
            out = self._compute(
                SpanKind.FORWARD,
                mb,
                lambda: stage.forward(mb, inp, y, loss_scale=self.loss_scale, split_backward=True),
            )
        else:
            out = self._compute(
                SpanKind.FORWARD, mb, lambda: stage.forward(mb, inp, y, loss_scale=self.loss_scale)
            )
        assert out is not None
        if not self.forward_locked:
            self._forwarded.add(mb)
        if stage.is_last:
            self.log.losses.append(out)
        else:
            self._send("activation", mb, out)

    def _send_up(self, grad: Tensor | None, mb: int) -> None:
        if grad is not None and not self.stage.is_first:
            self._send("gradient", mb, grad)

    def _backward(self, mb: int) -> None:
        grad = None
        if not self.stage.is_last:
            grad = self._receive("gradient", mb, SpanKind.WAIT_GRADIENT)
        grad_in = self._compute(SpanKind.BACKWARD, mb, lambda: self.stage.backward(mb, grad))
        self._send_up(grad_in, mb)

    def _backward_input(self, mb: int) -> None:
        grad = None
        if not self.stage.is_last:
            grad = self._receive("gradient", mb, SpanKind.WAIT_GRADIENT)
        grad_in = self._compute(
            SpanKind.BACKWARD_INPUT, mb, lambda: self.stage.backward_input(mb, grad)
        )
        self._send_up(grad_in, mb)

    def _backward_weight(self, mb: int) -> None:
        self._compute(SpanKind.BACKWARD_WEIGHT, mb, lambda: self.stage.backward_weight(mb))

    def _local_backward(self, mb: int) -> None:
        """DGL: the stage's own loss only; nothing is received or sent."""
        self._compute(SpanKind.BACKWARD, mb, lambda: self.stage.local_backward(mb))

    def _synthetic_backward(self, mb: int) -> None:
        grad_in = self._compute(SpanKind.BACKWARD, mb, lambda: self.stage.synthetic_backward(mb))
        self._synthesised.add(mb)
        self._send_up(grad_in, mb)

    def _sg_update(self, mb: int) -> None:
        delta = self._receive("gradient", mb, SpanKind.WAIT_GRADIENT)
        with self.spans.span(SpanKind.SG_UPDATE, mb):
            stats = self.stage.update_synthetic_gradient(mb, delta)
        self.log.sg_loss.append(stats.loss)
        self.log.sg_cosine.append(stats.cosine)

    def _si_update(self, mb: int) -> None:
        real = self._receive("activation", mb, SpanKind.WAIT_ACTIVATION)
        with self.spans.span(SpanKind.SI_UPDATE, mb):
            self.log.si_loss.append(self.stage.update_synthetic_input(mb, real))

    def _listed_sg_update(self, mb: int) -> None:
        """A ``G`` where the schedule lists it: the staleness deadline, so it may block."""
        self._synthesised.discard(mb)
        self._sg_update(mb)

    def _listed_si_update(self, mb: int) -> None:
        self._forwarded.discard(mb)
        self._si_update(mb)

    def _consume_arrived(self) -> None:
        """Regress on deltas / real inputs that have already arrived (no waiting)."""
        for mb in sorted(self._synthesised):
            if self.transport.ready("gradient", mb):
                self._synthesised.discard(mb)
                self._early.add(Action(Op.SG_UPDATE, mb))
                self._sg_update(mb)
        if self.forward_locked or self.stage.is_first:
            return
        for mb in sorted(self._forwarded):
            if self.transport.ready("activation", mb):
                self._forwarded.discard(mb)
                self._early.add(Action(Op.SI_UPDATE, mb))
                self._si_update(mb)

    # -- the loop ---------------------------------------------------------
    def run(
        self, actions: Sequence[Action], data: MicrobatchData, on_step: StepHook | None = None
    ) -> None:
        """Execute ``actions`` in order; a STEP span covers each step's microbatches.

        ``on_step(step)`` is called as each step ends (fault injection uses it).
        """
        self._data = data
        self._split = frozenset(
            a.mb for a in actions if a.op is Op.BACKWARD_INPUT and a.mb is not None
        )
        step_start = None
        backwards_done = 0
        step = 0
        for action in actions:
            self.transport.check_abort()
            if action in self._early:
                self._early.discard(action)
                continue
            op, mb = action.op, action.mb
            if mb is not None:
                self.transport.post(mb)
            if step_start is None:
                step_start = self.spans.mark()
            if op is Op.UPDATE:  # the optimiser, and the end of a step once m backwards are done
                with self.spans.span(SpanKind.OPTIMIZER):
                    self.stage.step()
                if self.after_update is not None:
                    self.after_update(backwards_done)
                if backwards_done >= (step + 1) * self.per_step:
                    self.spans.add(SpanKind.STEP, step, step_start, self.spans.mark())
                    step += 1
                    step_start = None
                    if on_step is not None:
                        on_step(step)
                continue
            assert mb is not None
            self.handlers[op](mb)
            if op in BACKWARD_OPS:
                backwards_done += 1
        self.transport.flush()
        self.log.stage = self.stage.report()
        self.stage.discard()
        self._data = None


__all__ = ["BACKWARD_OPS", "MicrobatchData", "StageDriver", "StageLog", "StepHook"]
