"""Timing PyTorch's pipeline waits, so a peer's lock idle is measured, not guessed.

``torch.distributed.pipelining`` posts its point-to-point messages through
the module functions ``_batch_p2p`` (post a batch of sends/receives) and
``_wait_batch_p2p`` (block on them), which every schedule calls by name. For
the duration of a peer's run they are replaced by timed wrappers:

- posting a batch is a SEND span when it holds a send, else RECV
  (communication, neither busy nor idle);
- waiting on a batch is WAIT_ACTIVATION when it holds a forward receive,
  WAIT_GRADIENT when it holds a backward receive (1F1B's combined
  "send activation, receive gradient" batch counts as a gradient wait: the
  backward lock is what holds the stage), and SEND when it holds sends only.

Which receive is which is known only to the stage, so :func:`tag_messages`
marks the P2P ops its ``get_*_ops`` methods return. Where the installed
torch lacks these functions nothing is wrapped, :func:`timed_waits` says so,
and the report shows the peer's lock idle as not measured.

The wrapped wait also tells the rank's watchdog when the rank is waiting on
a neighbour (:class:`PeerProgress`), so a hang is blamed on the rank that
stopped making progress, not on the ones waiting for it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dnibench.instrument import SpanKind, SpanRecorder

_TAG = "_dnibench_message"
_OP_TAGS = {
    "get_fwd_recv_ops": "activation",
    "get_bwd_recv_ops": "gradient",
    "get_fwd_send_ops": "send",
    "get_bwd_send_ops": "send",
}


def tag_messages(stage: Any) -> None:
    """Mark the P2P ops a PipelineStage builds with what they carry."""
    for name, tag in _OP_TAGS.items():
        method = getattr(stage, name, None)
        if method is None:
            continue

        def tagged(*args: Any, _method: Callable = method, _tag: str = tag, **kwargs: Any) -> Any:
            ops = _method(*args, **kwargs)
            for op in ops:
                setattr(op, _TAG, _tag)
            return ops

        setattr(stage, name, functools.wraps(method)(tagged))


class PeerProgress:
    """What a peer rank's watchdog reads: compute calls begun; whether it waits on a neighbour."""

    def __init__(self) -> None:
        self.actions = 0
        self.waiting = False


class _Works(list):
    """The works of one posted batch, with the span kind a wait on them is."""

    kind: SpanKind = SpanKind.RECV


def wait_kind(tags: set[str | None], desc: str | None = None) -> SpanKind:
    """The span kind of a wait on a batch holding messages with ``tags``."""
    text = desc or ""
    if "gradient" in tags or "bwd_recv" in text:
        return SpanKind.WAIT_GRADIENT
    if "activation" in tags or "fwd_recv" in text:
        return SpanKind.WAIT_ACTIVATION
    if tags == {"send"} or text.endswith("send"):
        return SpanKind.SEND
    return SpanKind.RECV


@contextmanager
def timed_waits(
    recorder: SpanRecorder | None, progress: PeerProgress | None = None
) -> Iterator[bool]:
    """Wrap PyTorch's batch post / wait while the block runs; yields whether it could.

    ``recorder`` gets the spans (none when it is None); ``progress.waiting`` is
    true while the rank waits on a batch.
    """
    if recorder is None and progress is None:
        yield False
        return
    from torch.distributed.pipelining import schedules

    post = getattr(schedules, "_batch_p2p", None)
    wait = getattr(schedules, "_wait_batch_p2p", None)
    if post is None or wait is None:
        yield False
        return

    def timed_post(p2p_ops: list, desc: str | None = None) -> list:
        t0 = time.perf_counter_ns()
        works = _Works(post(p2p_ops, desc))
        tags = {getattr(op, _TAG, None) for op in p2p_ops}
        if p2p_ops and recorder is not None:
            posted = SpanKind.SEND if "send" in tags else SpanKind.RECV
            recorder.record(posted, -1, t0, time.perf_counter_ns())
        works.kind = wait_kind(tags, desc)
        return works

    def timed_wait(work: list) -> None:
        t0 = time.perf_counter_ns()
        if progress is not None:
            progress.waiting = True
        try:
            wait(work)
        finally:
            if progress is not None:
                progress.waiting = False
            if work and recorder is not None:
                kind = getattr(work, "kind", SpanKind.RECV)
                recorder.record(kind, -1, t0, time.perf_counter_ns())

    schedules._batch_p2p = timed_post
    schedules._wait_batch_p2p = timed_wait
    try:
        yield True
    finally:
        schedules._batch_p2p = post
        schedules._wait_batch_p2p = wait


__all__ = ["PeerProgress", "tag_messages", "timed_waits", "wait_kind"]
