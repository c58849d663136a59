"""The ``dist`` runtime's transport: tagged messages to neighbouring ranks, host-clock spans.

:class:`LinkTransport` adapts :class:`~dnibench.runtimes.distributed.links.NeighbourLinks`
to the stage driver. Receives are posted a step ahead (this step and the
next, in microbatch order), so deltas land while the stage computes and an
unlocked stage can see that one has arrived without blocking on it.
:class:`RecorderSpans` gives the driver the host-clock
:class:`~dnibench.instrument.SpanRecorder` as a span sink.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from torch import Tensor

from dnibench.instrument import SpanKind, SpanRecorder
from dnibench.runtimes.distributed.links import NeighbourLinks, PendingRecv
from dnibench.runtimes.transport import What


class LinkTransport:
    """Stage ``links.rank``'s messages; ``links`` is ``None`` for a one-stage pipeline.

    ``in_shape`` / ``out_shape`` are the per-microbatch shapes this stage
    receives (``None`` on the first stage) and sends (``None`` on the last).
    """

    times_ready_receives = False  # a completed receive costs nothing to wait on

    def __init__(
        self,
        links: NeighbourLinks | None,
        *,
        in_shape: tuple[int, ...] | None,
        out_shape: tuple[int, ...] | None,
        microbatches_per_step: int,
        total_microbatches: int,
    ) -> None:
        self.links = links
        self.in_shape = in_shape
        self.out_shape = out_shape
        self.per_step = microbatches_per_step
        self.total = total_microbatches
        self._pending: dict[What, dict[int, PendingRecv]] = {"activation": {}, "gradient": {}}
        self._posted_until = 0
        self.actions = 0
        """Actions begun: the progress the stage's watchdog watches."""
        self.waiting = False
        """Whether the stage is waiting on a neighbour (the watchdog does not count that time)."""

    def post(self, mb: int) -> None:
        """Post receives for ``mb``'s step and the next, once each, in microbatch order."""
        if self.links is None:
            return
        until = min(self.total, (mb // self.per_step + 2) * self.per_step)
        for g in range(self._posted_until, until):
            if self.in_shape is not None:
                self._pending["activation"][g] = self.links.recv_activation(self.in_shape, g)
            if self.out_shape is not None:
                self._pending["gradient"][g] = self.links.recv_gradient(self.out_shape, g)
        self._posted_until = max(self._posted_until, until)

    def ready(self, what: What, mb: int) -> bool:
        pending = self._pending[what].get(mb)
        return pending is not None and pending.ready()

    def receive(self, what: What, mb: int) -> Tensor:
        assert self.links is not None, f"a one-stage pipeline receives no {what}"
        self.waiting = True  # on a neighbour: not this stage's own hang
        try:
            return self.links.wait(self._pending[what].pop(mb))
        finally:
            self.waiting = False

    def send(self, what: What, mb: int, tensor: Tensor) -> None:
        assert self.links is not None, f"a one-stage pipeline sends no {what}"
        if what == "activation":
            self.links.send_activation(tensor, mb)
        else:
            self.links.send_gradient(tensor, mb)

    def flush(self) -> None:
        if self.links is not None:
            self.waiting = True
            try:
                self.links.flush()
            finally:
                self.waiting = False

    def check_abort(self) -> None:
        """Count the action (progress); a failed neighbour shows up as a receive timing out."""
        self.actions += 1


class RecorderSpans:
    """A :class:`SpanRecorder` as the driver's span sink (times in ``perf_counter_ns``)."""

    def __init__(self, recorder: SpanRecorder) -> None:
        self.recorder = recorder

    def span(self, kind: SpanKind, mb: int = -1) -> AbstractContextManager[object]:
        return self.recorder.span(kind, mb)

    def mark(self) -> int:
        return self.recorder.now()

    def add(self, kind: SpanKind, mb: int, start: int, end: int) -> None:
        self.recorder.record(kind, mb, start, end)


__all__ = ["LinkTransport", "RecorderSpans"]
