"""Clock alignment between ranks, NTP style.

Each rank times spans with its own ``perf_counter_ns``, whose zero is
arbitrary per process (and per machine), so merged traces need an offset per
rank. The estimate is pure arithmetic over a ``ping`` callable: the
torch.distributed runtime supplies a ping that exchanges timestamps with the
reference rank, and tests supply a fake one with a known offset.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["estimate_offset"]


def estimate_offset(ping: Callable[[], tuple[int, int, int]], rounds: int = 8) -> tuple[int, int]:
    """Offset of the reference clock from the local clock, from ``rounds`` pings.

    ``ping()`` returns ``(t_send_local, t_remote, t_recv_local)`` in ns: the
    local time the request left, the reference clock when it answered, and the
    local time the answer came back. Assuming the reference read its clock
    somewhere inside the round trip, ``t_remote - (t_send + t_recv) / 2`` is
    off by at most half the round-trip time, so the round with the smallest
    round trip (the one least disturbed by scheduling or queueing) is kept.

    Returns ``(offset_ns, rtt_ns)``: add ``offset_ns`` to local times to get
    reference times; ``rtt_ns`` is the best round trip, and ``rtt_ns / 2``
    bounds the error.
    """
    if rounds < 1:
        raise ValueError(f"estimate_offset needs rounds >= 1, got {rounds}")
    best: tuple[int, int] | None = None
    for _ in range(rounds):
        t_send, t_remote, t_recv = (int(t) for t in ping())
        rtt = t_recv - t_send
        if rtt < 0:
            raise ValueError(
                f"ping answered before it was sent (t_send={t_send}, t_recv={t_recv}): "
                "the local clock must be monotonic"
            )
        if best is None or rtt < best[1]:
            # Floor division keeps integer ns exact; the half-ns rounding is noise.
            best = (t_remote - (t_send + t_recv) // 2, rtt)
    assert best is not None  # rounds >= 1
    return best
