"""What the stage driver needs from a runtime: a transport and a span sink.

The driver (:mod:`dnibench.runtimes.driver`) knows the schedule's actions
and the regime's rules; a runtime knows only how tensors travel between
neighbouring stages (messages over torch.distributed, events between CUDA
streams) and how time is measured (the host clock, stream events). Keeping
that split in two small protocols means one interpreter serves every
runtime, and a transport never needs to know what an action is: it moves an
``activation`` down or a ``gradient`` up for a microbatch, nothing more.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

from torch import Tensor

from dnibench.instrument import SpanKind

What = Literal["activation", "gradient"]
"""What travels: an activation h_k goes down to k+1, a gradient dL/dh_k comes up to k."""


class Transport(Protocol):
    """How one stage exchanges tensors with its neighbours.

    Every blocking call has a timeout and raises an error naming the
    neighbour it waited on, so a dead neighbour fails the run instead of
    hanging it.
    """

    times_ready_receives: bool
    """Whether a receive that is already :meth:`ready` still gets a wait span.

    On the host clock such a wait is instant and its span only costs a
    record; on an event-timed stream the span is what shows that the stream
    itself did not stall, so streams keeps it."""

    def post(self, mb: int) -> None:
        """Called before every action on ``mb``: post receives ahead if the transport needs to."""

    def ready(self, what: What, mb: int) -> bool:
        """Whether ``what`` of ``mb`` has arrived, so receiving it now would not block."""

    def receive(self, what: What, mb: int) -> Tensor:
        """``what`` of ``mb`` from the neighbour, blocking until it arrives (with a timeout)."""

    def send(self, what: What, mb: int, tensor: Tensor) -> None:
        """Hand ``what`` of ``mb`` to the neighbour (down for activations, up for gradients)."""

    def flush(self) -> None:
        """Block until everything sent has left (end of a run)."""

    def check_abort(self) -> None:
        """Raise if the run was stopped elsewhere (another stage failed); called per action."""


class SpanSink(Protocol):
    """Where a stage's spans go: the host-clock recorder, or event-timed stream spans."""

    def span(self, kind: SpanKind, mb: int = -1) -> AbstractContextManager[object]:
        """Time the body as one span of ``kind``."""

    def mark(self) -> Any:
        """A point in time to start a span that does not fit a ``with`` (a training step)."""

    def add(self, kind: SpanKind, mb: int, start: Any, end: Any) -> None:
        """Record a span between two :meth:`mark` points."""


__all__ = ["SpanSink", "Transport", "What"]
