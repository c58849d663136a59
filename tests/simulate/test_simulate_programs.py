"""The shared per-stage streams are exactly the lists the runtime builds for every stage."""

from __future__ import annotations

import pytest

from dnibench.errors import UserError
from dnibench.modes import SCHEDULE_NAMES, Family, build_schedule, get_mode, is_unlocked, mode_names
from dnibench.simulate.programs import run_programs

_CODES = "FBSGIUDWL"  # op codes 0..8 in programs.py order


def runtime_stream(name: str, K: int, k: int, m: int, steps: int, staleness: int) -> list:
    """What dist's worker.action_stream executes on stage k (same rule, no torch)."""
    if is_unlocked(name):
        actions = build_schedule(name, K, steps * m, staleness, m).stage_actions(k)
        return [(a.op.value, -1 if a.mb is None else a.mb) for a in actions]
    one = build_schedule(name, K, m).stage_actions(k)
    return [(a.op.value, -1 if a.mb is None else a.mb + s * m) for s in range(steps) for a in one]


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("K", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("m", [1, 2, 5])
def test_shared_streams_match_every_stage_of_the_full_schedule(name: str, K: int, m: int) -> None:
    programs = run_programs(name, K, m, 2, staleness=1)
    for k in range(K):
        got = [(_CODES[op], mb) for op, mb in programs.stream(k)]
        assert got == runtime_stream(name, K, k, m, 2, 1), f"{name} K={K} m={m} stage {k}"


@pytest.mark.parametrize("name", mode_names(Family.ASYNC))
@pytest.mark.parametrize("K", [1, 2, 3, 7])
@pytest.mark.parametrize("m", [1, 2, 5])
def test_asynchronous_streams_are_the_whole_run_lists(name: str, K: int, m: int) -> None:
    programs = run_programs(name, K, m, 2)
    full = get_mode(name).build_schedule(K, m, steps=2)
    for k in range(K):
        got = [(_CODES[op], mb) for op, mb in programs.stream(k)]
        want = [(a.op.value, -1 if a.mb is None else a.mb) for a in full.stage_actions(k)]
        assert got == want, f"{name} K={K} m={m} stage {k}"
    assert len(run_programs(name, 1024, 4, 3).lists) <= 13


def test_large_pipelines_share_a_few_lists() -> None:
    assert len(run_programs("dni", 1024, 4, 3).lists) == 3
    assert len(run_programs("gpipe", 1024, 4, 3).lists) == 1
    assert len(run_programs("1f1b", 1024, 4, 3).lists) == 5
    assert len(run_programs("zb", 1024, 4, 3).lists) == 5


def test_unknown_schedule_is_a_user_error() -> None:
    with pytest.raises(UserError, match="gpipe"):
        run_programs("gpipe2", 2, 2, 2)
