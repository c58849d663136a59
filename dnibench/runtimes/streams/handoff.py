"""Tensors handed from one stage's stream to a neighbour's, with their events.

In one process, stage k does not *send* h_k(i) to stage k+1: it records an
event on its stream after the work that made the tensor and posts
``(tensor, event)`` to stage k+1's :class:`Inbox`. The consumer takes it
(blocking its host thread only until the producer has *issued* the work),
makes its own stream wait on the event, and adopts the tensor for the
allocator. Every post is keyed by what it is and its global microbatch id,
so a stage may take deltas in any order its schedule asks for, and may
peek whether one has arrived (its event completed) without blocking.

Every blocking take has a timeout and watches a shared :class:`Abort`: when
one stage fails, its neighbours stop waiting at once and the run ends with
the failing stage named, instead of every other thread hanging.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from torch import Tensor

from dnibench.runtimes.streams.stream import StreamEvent
from dnibench.runtimes.transport import What


class StageAborted(RuntimeError):
    """Another stage failed, so this one stopped waiting."""


class HandoffTimeout(RuntimeError):
    """A neighbour did not post what this stage waits for within the timeout."""


@dataclass(frozen=True)
class Handoff:
    """A tensor and the producer-stream event after which it is valid."""

    tensor: Tensor
    event: StreamEvent
    producer: int


class Abort:
    """Shared stop flag of one run; remembers the first failure."""

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._lock = threading.Lock()
        self.stage: int | None = None
        self.error: BaseException | None = None
        self._listeners: list[Inbox] = []

    def listen(self, inbox: Inbox) -> None:
        self._listeners.append(inbox)

    @property
    def raised(self) -> bool:
        return self._flag.is_set()

    def trip(self, stage: int, error: BaseException) -> None:
        """Record ``error`` of ``stage`` if it is the first, and wake every waiter."""
        with self._lock:
            if self.error is None:
                self.stage, self.error = stage, error
        self._flag.set()
        for inbox in self._listeners:
            inbox.wake()


class Inbox:
    """What stage ``owner`` has been handed, keyed by ``(what, microbatch)``."""

    def __init__(self, owner: int, abort: Abort, timeout_s: float) -> None:
        self.owner = owner
        self.timeout_s = timeout_s
        self._abort = abort
        self._items: dict[tuple[What, int], Handoff] = {}
        self._cond = threading.Condition()
        abort.listen(self)

    def post(self, what: What, mb: int, handoff: Handoff) -> None:
        with self._cond:
            key = (what, mb)
            if key in self._items:
                raise RuntimeError(
                    f"stage {self.owner} was handed the {what} of microbatch {mb} twice"
                )
            self._items[key] = handoff
            self._cond.notify_all()

    def ready(self, what: What, mb: int) -> bool:
        """Posted and its event complete: taking it now would not stall the stream."""
        with self._cond:
            handoff = self._items.get((what, mb))
        return handoff is not None and handoff.event.query()

    def take(self, what: What, mb: int) -> Handoff:
        """Remove and return the ``what`` of ``mb``, waiting for its post if need be."""
        key = (what, mb)
        deadline = time.monotonic() + self.timeout_s
        with self._cond:
            while key not in self._items:
                if self._abort.raised:
                    raise StageAborted(
                        f"stage {self.owner} stopped waiting for the {what} of microbatch {mb}: "
                        f"stage {self._abort.stage} failed"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    neighbour = self.owner - 1 if what == "activation" else self.owner + 1
                    raise HandoffTimeout(
                        f"stage {self.owner}: no {what} of microbatch {mb} from stage "
                        f"{neighbour} within {self.timeout_s:g} s (stage {neighbour} hung "
                        "or is far behind)"
                    )
                self._cond.wait(left)
            return self._items.pop(key)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
