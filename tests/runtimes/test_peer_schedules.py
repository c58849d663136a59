"""Where PyTorch's schedules put their virtual stages, and what they refuse, without processes."""

from __future__ import annotations

import pytest

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


def test_rules_follow_torch_constructors() -> None:
    assert why_not_applicable("torch-dualpipev", 2, 2) is not None
    assert why_not_applicable("torch-dualpipev", 2, 4) is None
    assert why_not_applicable("torch-interleaved-zb", 2, 6) is None  # 3 rounds of 2
    assert "multiple of its rounds" in (why_not_applicable("torch-interleaved-zb", 2, 5) or "")
    assert why_not_applicable("1f1b", 2, 1) is None  # not a peer


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
