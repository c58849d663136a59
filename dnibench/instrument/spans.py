"""Per-rank span recording: what each worker was doing, and when.

Every stage writes ``(kind, microbatch, t0_ns, t1_ns)`` rows into a buffer it
allocates once, so that recording costs a few hundred nanoseconds and never
allocates or syncs inside the timed loop. Times come from
:func:`time.perf_counter_ns` (monotonic, per process); ranks are aligned later
with :mod:`dnibench.instrument.clock` offsets.

Span kinds fall into four groups (docs/metrics.md):

- compute (:attr:`SpanKind.COMPUTE`): the worker is busy;
- waits (:attr:`SpanKind.WAITS`): lock idle, blocked on an activation (forward
  lock) or a gradient (update/backward lock);
- ``SEND``/``RECV``: communication overhead, neither busy nor lock idle;
- ``STEP``: one whole training step on this rank, a marker that delimits steps
  so throughput can be computed even when every other span is switched off.
"""

from __future__ import annotations

import enum
import time
from types import TracebackType
from typing import ClassVar

import numpy as np

__all__ = ["SpanKind", "SpanRecorder"]

#: Columns of a span array.
KIND, MB, T0, T1 = 0, 1, 2, 3


class SpanKind(enum.IntEnum):
    """What a span measures; stored as its integer value in span arrays."""

    FORWARD = 0
    BACKWARD = 1
    SG_FORWARD = 2
    SG_UPDATE = 3
    SI_FORWARD = 4
    SI_UPDATE = 5
    OPTIMIZER = 6
    SEND = 7
    RECV = 8
    WAIT_ACTIVATION = 9
    WAIT_GRADIENT = 10
    STEP = 11
    BACKWARD_INPUT = 12
    """Zero-bubble split backward, first half: dL/dh_{k-1} only (sent upstream)."""
    BACKWARD_WEIGHT = 13
    """Zero-bubble split backward, second half: the parameter gradients only."""

    # Annotations only: assigned below, so the enum does not turn them into members.
    COMPUTE: ClassVar[frozenset[SpanKind]]
    WAITS: ClassVar[frozenset[SpanKind]]
    COMM: ClassVar[frozenset[SpanKind]]


SpanKind.COMPUTE = frozenset(
    {
        SpanKind.FORWARD,
        SpanKind.BACKWARD,
        SpanKind.BACKWARD_INPUT,
        SpanKind.BACKWARD_WEIGHT,
        SpanKind.SG_FORWARD,
        SpanKind.SG_UPDATE,
        SpanKind.SI_FORWARD,
        SpanKind.SI_UPDATE,
        SpanKind.OPTIMIZER,
    }
)
SpanKind.WAITS = frozenset({SpanKind.WAIT_ACTIVATION, SpanKind.WAIT_GRADIENT})
SpanKind.COMM = frozenset({SpanKind.SEND, SpanKind.RECV})


class _Span:
    """Reusable context manager behind :meth:`SpanRecorder.span`.

    The recorder keeps one per nesting depth and rearms it on each call, so a
    ``with recorder.span(...)`` in a hot loop allocates nothing.
    """

    __slots__ = ("_kind", "_mb", "_recorder", "_t0")

    def __init__(self, recorder: SpanRecorder) -> None:
        self._recorder = recorder
        self._kind = 0
        self._mb = -1
        self._t0 = 0

    def __enter__(self) -> _Span:
        self._recorder._depth += 1
        self._t0 = time.perf_counter_ns()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        t1 = time.perf_counter_ns()
        recorder = self._recorder
        recorder._depth -= 1
        # SpanRecorder.record inlined: a method call is a large share of the cost here.
        n = recorder._n
        if n >= recorder._capacity:
            recorder.dropped += 1
            return
        flat = recorder._flat
        i = 4 * n
        flat[i] = self._kind
        flat[i + 1] = self._mb
        flat[i + 2] = self._t0
        flat[i + 3] = t1
        recorder._n = n + 1


class _NullSpan:
    """Shared do-nothing context manager returned while recording is off."""

    __slots__ = ()

    def __enter__(self) -> _NullSpan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


_NULL_SPAN = _NullSpan()
_STEP = int(SpanKind.STEP)  # plain int: comparing to an IntEnum member is slower


class SpanRecorder:
    """Fixed-capacity buffer of spans for one rank (one thread).

    Rows are written through a flat memoryview of a preallocated ``int64``
    array, which is about twice as fast as assigning a numpy row. A full buffer
    counts ``dropped`` instead of raising: losing the tail of a trace must not
    kill a long benchmark. With ``enabled=False`` only ``STEP`` spans are kept,
    so throughput with instrumentation off can be compared with it on.

    Not thread-safe: give each thread that records its own recorder.
    """

    def __init__(self, capacity: int = 1 << 16, enabled: bool = True) -> None:
        if capacity < 1:
            raise ValueError(f"SpanRecorder capacity must be >= 1, got {capacity}")
        self.enabled = enabled
        self.dropped = 0
        self._capacity = capacity
        self._buffer = np.zeros((capacity, 4), dtype=np.int64)
        self._flat = self._buffer.reshape(-1).data  # a memoryview: fast scalar stores
        self._n = 0
        self._depth = 0
        self._pool: list[_Span] = [_Span(self) for _ in range(4)]

    @property
    def capacity(self) -> int:
        """Rows the buffer holds before spans are dropped."""
        return self._capacity

    def __len__(self) -> int:
        return self._n

    @staticmethod
    def now() -> int:
        """Current time on the recorder's clock (``perf_counter_ns``)."""
        return time.perf_counter_ns()

    def record(self, kind: int, mb: int, t0: int, t1: int) -> None:
        """Store one span measured by the caller (times in ``perf_counter_ns``)."""
        if not self.enabled and kind != _STEP:
            return
        n = self._n
        if n >= self._capacity:
            self.dropped += 1
            return
        flat = self._flat
        i = 4 * n
        flat[i] = kind
        flat[i + 1] = mb
        flat[i + 2] = t0
        flat[i + 3] = t1
        self._n = n + 1

    def span(self, kind: SpanKind, mb: int = -1) -> _Span | _NullSpan:
        """Context manager timing its body as one span of ``kind``.

        Nested spans (a STEP around forwards) each get their own pooled object,
        so nesting is safe; nothing is allocated after the first use of a depth.
        """
        if not self.enabled and kind != _STEP:
            return _NULL_SPAN
        depth = self._depth
        pool = self._pool
        if depth >= len(pool):
            pool.extend(_Span(self) for _ in range(depth + 1 - len(pool)))
        s = pool[depth]
        s._kind = kind
        s._mb = mb
        return s

    def begin(self) -> int:
        """Start time for a later :meth:`end`; for spans that do not fit a ``with``."""
        return time.perf_counter_ns()

    def end(self, kind: SpanKind, mb: int, t0: int) -> None:
        """Record a span from ``t0`` (from :meth:`begin`) to now."""
        self.record(kind, mb, t0, time.perf_counter_ns())

    def spans(self) -> np.ndarray:
        """Copy of the filled rows, shape (n, 4): kind, microbatch, t0_ns, t1_ns.

        A copy, so that clearing and refilling the recorder cannot change an
        array already handed to metrics or a trace writer.
        """
        return self._buffer[: self._n].copy()

    def clear(self) -> None:
        """Forget all spans and the dropped count; keeps the buffer."""
        self._n = 0
        self.dropped = 0
