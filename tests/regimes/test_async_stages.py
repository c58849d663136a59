"""The asynchronous stages follow the run's precision (dnibench/precision.py), as every stage does.

At bf16 the model is built in bf16; the stage classes of the asynchronous
modes must then cast real-valued inputs to it, and what they keep besides
the live weights (PipeDream's stashed versions, PipeMare's velocity, DGL's
heads) must be bf16 too, or a bf16 run would fail on its first input or
quietly hold float32 copies.
"""

from __future__ import annotations

import pytest
import torch

from dnibench.modes import Family, mode_names
from dnibench.regimes.local_loss import LocalLossStage
from dnibench.regimes.pipemare import PipeMareStage
from dnibench.regimes.weight_versions import VersionedStage
from dnibench.runtimes.harness import build_for_rank
from dnibench.runtimes.streams.runner import run_streams
from tests.runtimes.conftest import RUNTIME_CHANGES, small_spec

ASYNC_MODES = mode_names(Family.ASYNC)


def _params_and_kept(stage: object) -> list[torch.Tensor]:
    """The stage's parameters and every tensor it keeps besides them."""
    assert isinstance(stage, VersionedStage | PipeMareStage | LocalLossStage)
    kept = list(stage.module.parameters())
    if isinstance(stage, VersionedStage):
        kept += [t for version in stage._stash.values() for t in version.values()]
    if isinstance(stage, PipeMareStage):
        kept += list(stage._velocity.values())
    if isinstance(stage, LocalLossStage) and stage.head is not None:
        kept += list(stage.head.parameters())
    return kept


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_asynchronous_stages_compute_and_keep_in_bf16(mode: str) -> None:
    spec = small_spec(mode, 2, 2, dtype="bf16")
    pipeline, stream = build_for_rank(spec)
    stage = pipeline.stages[0]
    assert stage.dtype == torch.bfloat16
    x, y = stream.batch(0)
    assert x.dtype == torch.float32  # the data set's own; the stage casts it
    xs, ys = x.chunk(2), y.chunk(2)
    outs = [stage.forward(mb, xs[mb], ys[mb]) for mb in range(2)]
    assert all(out.dtype == torch.bfloat16 for out in outs)
    if mode == "dgl":  # synchronous: both local backwards, then the step's update
        stage.local_backward(0)
        stage.local_backward(1)
    else:
        stage.backward(0, torch.ones_like(outs[0]))
    stage.step()  # microbatch 1 in flight (but DGL): pipedream stashes, pipemare keeps a velocity
    kept = _params_and_kept(stage)
    if mode in ("pipedream", "pipemare"):
        assert len(kept) > len(list(stage.module.parameters()))
    assert kept and all(t.dtype == torch.bfloat16 for t in kept)
    for param in stage.module.parameters():
        assert param.grad is None  # cleared by the step
    if mode != "dgl":
        stage.backward(1, torch.ones_like(outs[1]))
    assert all(p.grad is None or p.grad.dtype == torch.bfloat16 for p in stage.module.parameters())


@pytest.mark.parametrize("mode", ["pipedream", "pipemare", "dgl"])
def test_a_bf16_asynchronous_pipeline_trains_in_bf16(mode: str) -> None:
    spec = small_spec(mode, 2, 2, steps=2, dtype="bf16", **RUNTIME_CHANGES["streams"])
    ranks = run_streams(spec).ranks
    for rank in ranks:
        assert rank.parameters
        for name, value in rank.parameters.items():
            if value.is_floating_point():
                assert value.dtype == torch.bfloat16, name
                assert torch.isfinite(value.float()).all(), name


@pytest.mark.parametrize("mode", ASYNC_MODES)
def test_asynchronous_stages_refuse_a_split_backward_and_a_microbatch_twice(mode: str) -> None:
    pipeline, stream = build_for_rank(small_spec(mode, 2, 2))
    stage = pipeline.stages[0]
    assert not stage.splits_backward
    x, y = stream.batch(0)
    with pytest.raises(ValueError, match="does not split its backward"):
        stage.forward(0, x, y, split_backward=True)
    assert stage.in_flight == 0
    stage.forward(0, x, y)
    with pytest.raises(RuntimeError, match="microbatch 0 already in flight"):
        stage.forward(0, x, y)
