"""The version store: what it stashes is what the rules need, counted in bytes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dnibench.optim import OptimConfig
from dnibench.regimes.asynchronous import AsyncRule, Versions
from dnibench.regimes.stage import Stage
from dnibench.regimes.weight_versions import VersionedStage
from dnibench.runtimes.spec import BenchSpec

K, M = 3, 3


def _run(mode: str) -> list[dict[str, list[float]]]:
    from dnibench.runtimes.streams.runner import run_streams

    spec = BenchSpec(
        name=mode, mode=mode, width=16, depth=3, input_shape=(32,), stages=K, microbatches=M,
        batch_size=12, steps=3, warmup=0, optim=OptimConfig(name="sgd", lr=0.1),
        runtime="streams", device="cpu", timeout_s=30,
    )  # fmt: skip
    return [rank.log for rank in run_streams(spec).ranks]


def test_pipedream_stage_k_stashes_k_minus_k_minus_one_versions() -> None:
    for k, log in enumerate(_run("pipedream")):
        assert log["stash_bytes_peak"] == [(K - k - 1) * log["parameter_bytes"][0]]
        assert log["versions_held_peak"] == [float(K - k)]


def test_pipedream_2bw_holds_two_versions_on_every_stage() -> None:
    for log in _run("pipedream-2bw"):
        assert log["stash_bytes_peak"] == log["parameter_bytes"]
        assert log["versions_held_peak"] == [2.0]


def _stage(rule: AsyncRule) -> VersionedStage:
    torch.manual_seed(0)
    module = nn.Linear(3, 2)
    stage = Stage(
        0, 1, module, loss_fn=nn.functional.cross_entropy,
        optimizer=torch.optim.SGD(module.parameters(), lr=0.5),
    )  # fmt: skip
    return VersionedStage(stage, rule, microbatches=2)


def test_a_backward_after_an_update_uses_the_forward_weights() -> None:
    stage = _stage(AsyncRule(Versions.STASHED, update_every_microbatch=True))
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    stage.forward(0, x, y)
    stage.forward(1, x, y)
    stage.backward(0)
    weight_before = stage.module.weight.detach().clone()
    grad_0 = stage.module.weight.grad.clone()
    stage.step()  # version 1 is live; microbatch 1 still needs version 0
    assert stage.stash_bytes == stage.parameter_bytes
    stage.backward(1)
    # Same input, same version: microbatch 1's gradient is microbatch 0's.
    assert torch.equal(stage.module.weight.grad, grad_0)
    assert not torch.equal(stage.module.weight.detach(), weight_before)
    stage.step()
    assert stage.stash_bytes == 0
    assert stage.forward_versions == stage.backward_versions == {0: 0, 1: 0}


def test_a_version_the_store_dropped_is_refused() -> None:
    stage = _stage(AsyncRule(Versions.PREVIOUS_STEP, update_every_microbatch=False))
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    for mb in range(6):  # steps 0, 1, 2 at m = 2: versions 0, 0, 1
        stage.forward(mb, x, y)
        stage.backward(mb)
        if mb % 2:
            stage.step()
    assert stage.forward_versions == {0: 0, 1: 0, 2: 0, 3: 0, 4: 1, 5: 1}
    stage.planned_version = lambda mb: 0  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="no longer holds"):
        stage.forward(6, x, y)


def test_pipemare_counts_its_velocity_and_pipemare_plain_nothing() -> None:
    for log in _run("pipemare"):
        assert log["stash_bytes_peak"] == log["parameter_bytes"]
    for log in _run("pipemare-plain"):
        assert log["stash_bytes_peak"] == [0.0]
