"""A CPU stand-in for CUDA streams, so the ``streams`` engine runs in CPU tests.

Work issued "on" a stand-in stream runs at once on the issuing thread: a CPU
has no queue to defer torch ops to, and intercepting every op to replay it
later would test a copy of torch instead of the engine. Concurrency is not
lost, because the engine gives every stage its own host thread in both modes:
on CPU those threads run the stages' work side by side, exactly as on CUDA
they enqueue it side by side. What the stand-in adds is checking:

- an event is recorded (and timestamped) when it is made, since everything
  issued before it has already run;
- :meth:`StandInStream.wait` on an event that was never recorded raises
  :class:`~dnibench.runtimes.streams.stream.StreamOrderError` (on CUDA it
  would silently not wait);
- an optional shared :class:`OrderLog` keeps every record and wait in the
  order they happened, so tests can prove that each consumer waited on an
  event its producer had recorded before the consumer's work began.

Timing is host time (``perf_counter_ns``): stand-in spans are CPU timings of
the engine, never GPU numbers.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor

from dnibench.runtimes.streams.stream import StreamEvent, StreamOrderError

_ids = itertools.count()


@dataclass
class StandInEvent:
    """A stand-in event: complete as soon as it is recorded."""

    stream: str = ""
    id: int = field(default_factory=lambda: next(_ids))
    time_ns: int | None = None

    @property
    def recorded(self) -> bool:
        return self.time_ns is not None

    def query(self) -> bool:
        return self.recorded


@dataclass(frozen=True)
class OrderEntry:
    """One record or wait, as it happened: ``op`` is ``"record"`` or ``"wait"``."""

    op: str
    stream: str
    event: int
    event_stream: str
    time_ns: int


class OrderLog:
    """Thread-safe, append-only log of every record and wait on a set of stand-in streams."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[OrderEntry] = []

    def add(self, op: str, stream: str, event: StandInEvent) -> None:
        with self._lock:
            self._entries.append(
                OrderEntry(op, stream, event.id, event.stream, time.perf_counter_ns())
            )

    def entries(self) -> list[OrderEntry]:
        with self._lock:
            return list(self._entries)


class StandInStream:
    """A stage's stream on CPU: inline execution, checked waits, host timing."""

    executes_inline = True

    def __init__(self, name: str, log: OrderLog | None = None) -> None:
        self.name = name
        self.device = torch.device("cpu")
        self.log = log

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        yield

    def record(self) -> StandInEvent:
        event = StandInEvent(stream=self.name, time_ns=time.perf_counter_ns())
        if self.log is not None:
            self.log.add("record", self.name, event)
        return event

    def wait(self, event: StreamEvent) -> None:
        if not isinstance(event, StandInEvent):
            raise StreamOrderError(
                f"stream {self.name}: cannot wait on {type(event).__name__}, not a stand-in event"
            )
        if not event.recorded:
            raise StreamOrderError(
                f"stream {self.name} waits on event {event.id} of stream "
                f"{event.stream or '?'} before it was recorded: its producer has not "
                "issued the work this stream depends on"
            )
        if self.log is not None:
            self.log.add("wait", self.name, event)

    def adopt(self, tensor: Tensor) -> None:
        """Nothing to tell a CPU allocator: tensors are freed when no one refers to them."""

    def synchronize(self) -> None:
        """Nothing to wait for: stand-in work has already run."""


class HostTimebase:
    """Stand-in events carry their host timestamps already."""

    def ns(self, event: StreamEvent) -> int:
        if not isinstance(event, StandInEvent) or event.time_ns is None:
            raise StreamOrderError(f"event {event!r} was never recorded, so it has no time")
        return event.time_ns
