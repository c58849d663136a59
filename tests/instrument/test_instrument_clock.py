"""NTP-style offset estimation against fake pings with a known offset."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from dnibench.instrument import estimate_offset

TRUE_OFFSET = -987_654_321_012  # reference = local + TRUE_OFFSET


def fake_ping(seed: int) -> tuple[Callable[[], tuple[int, int, int]], list[int]]:
    """A ping with random, asymmetric one-way delays; also returns the rtts it produced."""
    rng = random.Random(seed)
    clock = [1_000_000_000]
    rtts: list[int] = []

    def ping() -> tuple[int, int, int]:
        clock[0] += rng.randint(1_000, 100_000)  # time passes between rounds
        t_send = clock[0]
        there = rng.randint(2_000, 500_000)
        back = rng.randint(2_000, 500_000)
        t_remote = t_send + there + TRUE_OFFSET
        t_recv = t_send + there + back
        clock[0] = t_recv
        rtts.append(t_recv - t_send)
        return t_send, t_remote, t_recv

    return ping, rtts


@pytest.mark.parametrize("seed", range(5))
def test_estimate_within_half_best_rtt(seed: int) -> None:
    ping, rtts = fake_ping(seed)
    offset, rtt = estimate_offset(ping, rounds=16)
    assert len(rtts) == 16
    assert rtt == min(rtts)
    assert abs(offset - TRUE_OFFSET) <= rtt / 2 + 1  # +1: integer halving


def test_symmetric_delay_is_exact_and_smallest_rtt_wins() -> None:
    rounds = iter(
        [
            (0, 500 + TRUE_OFFSET, 1_000),  # rtt 1000, symmetric
            (2_000, 2_010 + TRUE_OFFSET, 2_020),  # rtt 20, symmetric: the one kept
            (3_000, 3_001 + TRUE_OFFSET, 3_400),  # rtt 400, asymmetric
        ]
    )
    assert estimate_offset(lambda: next(rounds), rounds=3) == (TRUE_OFFSET, 20)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="rounds"):
        estimate_offset(lambda: (0, 0, 0), rounds=0)
    with pytest.raises(ValueError, match="monotonic"):
        estimate_offset(lambda: (10, 0, 5), rounds=1)
