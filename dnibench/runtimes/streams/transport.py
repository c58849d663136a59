"""The streams runtime's transport: tensors handed between stage streams with their events.

In one process, stage k does not *send* h_k(i) to stage k+1: it records an
event on its stream after the work that made the tensor and posts
``(tensor, event)`` to stage k+1's :class:`~dnibench.runtimes.streams.handoff.Inbox`.
The consumer takes it (blocking its host thread only until the producer has
*issued* the work), makes its own stream wait on the event and adopts the
tensor for the allocator, so on CUDA the host thread runs ahead of the GPU
and cross-stream order is kept by events alone. A stage's spans are
event-timed (:mod:`~dnibench.runtimes.streams.timeline`), so every receive
gets a wait span: its length is the time the *stream* was blocked on a
neighbour, zero when the event had completed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from dnibench.runtimes.streams.handoff import Abort, Handoff, Inbox, StageAborted
from dnibench.runtimes.streams.stream import StageStream
from dnibench.runtimes.transport import What


@dataclass(frozen=True)
class Neighbour:
    """Where a stage posts what it sends one way: the neighbour's inbox and device."""

    inbox: Inbox
    device: torch.device


class HandoffTransport:
    """Stage ``index``'s hand-offs on ``stream``: ``down`` takes activations, ``up`` gradients.

    ``down`` / ``up`` are ``None`` at the ends of the pipeline.
    """

    times_ready_receives = True  # event-timed: the span shows the stream did not stall

    def __init__(
        self,
        index: int,
        stream: StageStream,
        inbox: Inbox,
        abort: Abort,
        *,
        up: Neighbour | None,
        down: Neighbour | None,
    ) -> None:
        self.index = index
        self.stream = stream
        self.inbox = inbox
        self.abort = abort
        self.up = up
        self.down = down
        self.actions = 0
        """Actions begun: the progress the stage's watchdog watches."""
        self.waiting = False
        """Whether the stage waits on a neighbour's hand-off (the watchdog does not count that)."""

    def post(self, mb: int) -> None:
        """Nothing to post ahead: a neighbour's hand-off lands in the inbox whenever it is made."""

    def ready(self, what: What, mb: int) -> bool:
        return self.inbox.ready(what, mb)

    def receive(self, what: What, mb: int) -> Tensor:
        self.waiting = True  # on a neighbour: not this stage's own hang
        try:
            handoff = self.inbox.take(what, mb)
        finally:
            self.waiting = False
        self.stream.wait(handoff.event)
        self.stream.adopt(handoff.tensor)
        return handoff.tensor

    def send(self, what: What, mb: int, tensor: Tensor) -> None:
        to = self.down if what == "activation" else self.up
        assert to is not None, f"stage {self.index} has no neighbour to hand its {what} to"
        if tensor.device != to.device:
            tensor = tensor.to(to.device, non_blocking=True)
        event = self.stream.record()
        to.inbox.post(what, mb, Handoff(tensor, event, self.index))

    def flush(self) -> None:
        """Nothing in flight on the host: the engine synchronises the streams after the run."""

    def check_abort(self) -> None:
        """Count the action (progress); stop if another stage failed."""
        self.actions += 1
        if self.abort.raised:
            raise StageAborted(f"stage {self.index} stopped: stage {self.abort.stage} failed")


__all__ = ["HandoffTransport", "Neighbour"]
