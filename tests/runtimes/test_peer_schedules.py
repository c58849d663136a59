"""Where PyTorch's schedules put their virtual stages, and what they refuse, without processes."""

from __future__ import annotations

import pytest

from dnibench.errors import UserError
from dnibench.runtimes.peer_schedules import PEERS, stages_per_rank, why_not_applicable
from dnibench.runtimes.spec import BenchSpec


def test_loop_and_v_placements_cover_every_virtual_stage_once() -> None:
    assert PEERS["torch-interleaved-1f1b"].local_stages(0, 2) == [0, 2]
    assert PEERS["torch-interleaved-1f1b"].local_stages(1, 2) == [1, 3]
    assert PEERS["torch-zbv"].local_stages(0, 2) == [0, 3]
    assert PEERS["torch-zbv"].local_stages(1, 2) == [1, 2]
    for peer in PEERS.values():
        held = sorted(i for rank in range(4) for i in peer.local_stages(rank, 4))
        assert held == list(range(peer.virtual_stages(4)))


def _spec(mode: str, microbatches: int, stages: int = 2) -> BenchSpec:
    return BenchSpec(name="x", mode=mode, depth=4, stages=stages, microbatches=microbatches,
                     batch_size=48)  # fmt: skip


def test_rules_follow_torch_constructors_and_are_refused_when_the_spec_is_built() -> None:
    with pytest.raises(UserError, match="at least as many microbatches as stages: 2 micro"):
        _spec("torch-dualpipev", 2)  # 2 ranks hold 4 virtual stages
    _spec("torch-dualpipev", 4)
    with pytest.raises(UserError, match="Schedule1F1B"):
        _spec("torch-1f1b", 1)
    _spec("torch-gpipe", 1)  # ScheduleGPipe takes any m
    _spec("torch-interleaved-zb", 6)  # 3 rounds of 2
    with pytest.raises(UserError, match="multiple of its rounds"):
        BenchSpec(name="x", mode="torch-interleaved-zb", depth=4, microbatches=5, batch_size=40)
    with pytest.raises(UserError, match="at least 2 stages"):
        _spec("torch-gpipe", 4, stages=1)
    # What is left for run time depends on the installed torch only.
    assert why_not_applicable("torch-dualpipev") is None
    assert why_not_applicable("1f1b") is None  # not a peer


@pytest.mark.parametrize("mode", ["torch-zbv", "torch-interleaved-1f1b"])
def test_virtual_peers_split_the_model_into_two_stages_per_rank(mode: str) -> None:
    spec = BenchSpec(name="x", mode=mode, depth=4, stages=2, balance=(2, 3), microbatches=4,
                     batch_size=16)  # fmt: skip
    assert stages_per_rank(mode) == 2 and spec.virtual_stages == 4
    assert spec.pipeline_config.stages == 4
    assert spec.pipeline_config.balance is None  # the ranks' balance cannot place 4 stages
    named = spec.with_(balance=(1, 1, 1, 2))
    assert named.pipeline_config.balance == (1, 1, 1, 2)
    assert BenchSpec(name="y", mode="1f1b", stages=2, balance=(2, 2)).pipeline_config.stages == 2
