"""Per-stage spans timed by stream events, turned into span arrays after the run.

A span on a stream is a pair of events recorded around the work it covers,
so it measures when the *stream* ran that work (on CUDA: when the GPU did),
not when the host issued it. Event times are read only after the streams
have been synchronised, through a :class:`~dnibench.runtimes.streams.stream.Timebase`,
and come out as the ``(kind, microbatch, t0_ns, t1_ns)`` arrays of
:mod:`dnibench.instrument.spans`, so :func:`~dnibench.instrument.pipeline_metrics`
computes busy time, lock idle and efficiency exactly as for the other runtimes.

Lock idle on a stream: an event recorded *before* the stream waits on a
neighbour's event, and one recorded right after the wait, bound the time the
stream sat blocked on that hand-off (the second event completes only once
the neighbour's work is done).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from dnibench.instrument import SpanKind
from dnibench.runtimes.streams.stream import StageStream, StreamEvent, Timebase


class EventTimeline:
    """Event-timed spans of one stage; ``enabled=False`` keeps only STEP spans."""

    def __init__(self, stream: StageStream, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self._spans: list[tuple[int, int, StreamEvent, StreamEvent]] = []

    def __len__(self) -> int:
        return len(self._spans)

    def last(self) -> tuple[int, int] | None:
        """(kind, microbatch) of the latest span, read while the run goes (a hang's headline)."""
        spans = self._spans
        return (spans[-1][0], spans[-1][1]) if spans else None

    def mark(self) -> StreamEvent:
        """An event at this point of the stage's stream (start of a span)."""
        return self.stream.record()

    def add(self, kind: SpanKind, mb: int, start: StreamEvent, end: StreamEvent) -> None:
        """A span of ``kind`` between two events of this stage's stream."""
        if self.enabled or kind is SpanKind.STEP:
            self._spans.append((int(kind), mb, start, end))

    @contextlib.contextmanager
    def span(self, kind: SpanKind, mb: int = -1) -> Iterator[None]:
        """Time the work issued in the body as one span of ``kind``."""
        if not self.enabled:
            yield
            return
        start = self.stream.record()
        yield
        self.add(kind, mb, start, self.stream.record())

    def to_array(self, timebase: Timebase) -> np.ndarray:
        """The spans as an ``(n, 4)`` int64 array on the host clock (after synchronising)."""
        rows = [
            (kind, mb, timebase.ns(start), timebase.ns(end)) for kind, mb, start, end in self._spans
        ]
        return np.array(rows, dtype=np.int64).reshape(len(rows), 4)
