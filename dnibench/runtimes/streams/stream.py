"""The stream and event interface the ``streams`` engine is written against.

The engine never touches ``torch.cuda`` itself: it issues each stage's work
inside ``stream.activate()``, orders hand-offs with ``record()`` /
``wait(event)``, and times spans with events. Two implementations exist:
:mod:`~dnibench.runtimes.streams.cuda` (real CUDA streams and timing events)
and :mod:`~dnibench.runtimes.streams.standin` (a CPU stand-in with the same
interface), so the scheduling logic that runs on an H100 is the logic the
CPU tests run.

The one rule both enforce or rely on: a stream may only wait on an event that
has already been *recorded*. On CUDA, waiting on an event that was never
recorded is silently a no-op, so a consumer would read a tensor its producer
has not written; the stand-in raises :class:`StreamOrderError` instead, which
is how tests prove the engine never does it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

import torch
from torch import Tensor


class StreamOrderError(RuntimeError):
    """Work was ordered after an event that had not been recorded (a missing dependency)."""


class StreamEvent(Protocol):
    """A point in one stream's work; complete once everything before it has run."""

    def query(self) -> bool:
        """Whether the work before the event has completed (never blocks)."""
        ...


class StageStream(Protocol):
    """The queue of work of one pipeline stage."""

    name: str
    device: torch.device
    #: True when work has run by the time the call that issued it returns (the
    #: CPU stand-in): host clocks then time it, and a host sleep can slow it.
    executes_inline: bool

    def activate(self) -> AbstractContextManager[object]:
        """Make this stream current for torch ops issued by the calling thread."""
        ...

    def record(self) -> StreamEvent:
        """A new event marking everything issued on this stream so far."""
        ...

    def wait(self, event: StreamEvent) -> None:
        """Order all later work on this stream after ``event`` (without blocking the host)."""
        ...

    def adopt(self, tensor: Tensor) -> None:
        """``tensor`` was made on another stream and is used here from now on.

        On CUDA the caching allocator must learn this (``record_stream``) or it
        may hand the memory out again while this stream still reads it.
        """
        ...

    def synchronize(self) -> None:
        """Block the host until all work issued on this stream has run."""
        ...


class Timebase(Protocol):
    """Maps events to nanoseconds on the host's ``perf_counter_ns`` clock."""

    def ns(self, event: StreamEvent) -> int:
        """When ``event`` completed; only valid after the streams are synchronised."""
        ...
