"""PyTorch's schedules as peers, on real 2-rank gloo groups.

Each peer trains the tiny shared model for two steps; the stage each rank
snapshots (global stage ``rank``, which every placement puts on that rank)
must have the single-process reference's parameters within float tolerance
(PyTorch accumulates and scales gradients in its own order, so not bit for
bit; BatchNorm's running statistics are left out, see peers.py).
The same launch checks the spans: every forward, input-gradient and
weight-gradient call is timed, a rank's later virtual stages are not counted
as new microbatches, and the wrapped receive waits show up as lock idle.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from dnibench.bench.run import run_benchmark
from dnibench.errors import NotApplicable, UserError
from dnibench.instrument import SpanKind
from dnibench.instrument.metrics import LATER_VIRTUAL_STAGE
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.distributed.peer_waits import wait_kind
from dnibench.runtimes.peer_schedules import (
    PEERS,
    SPLIT_BACKWARD_PEERS,
    require_applicable,
    why_not_applicable,
)
from dnibench.runtimes.spec import BenchSpec

NEW_PEERS = [
    "torch-zb", "torch-interleaved-1f1b", "torch-looped-bfs", "torch-interleaved-zb",
    "torch-zbv", "torch-dualpipev",
]  # fmt: skip
M, STEPS = 4, 2
SpecOf = Callable[..., BenchSpec]


def _parameter_names(spec: BenchSpec, stage: int) -> set[str]:
    """Trainable parameters only: PyTorch's shape-inference forward moves BatchNorm's
    running statistics (buffers) once more than dnibench does, a known peer quirk."""
    from dnibench.runtimes.harness import build_for_rank

    pipeline, _ = build_for_rank(spec)
    return {name for name, _ in pipeline.stages[stage].module.named_parameters()}


def _count(spans: np.ndarray, kind: SpanKind) -> int:
    return int((spans[:, 0] == int(kind)).sum())


@pytest.mark.parametrize("mode", NEW_PEERS)
def test_peer_trains_like_the_reference_and_times_every_call(
    mode: str, spec_of: SpecOf, reference_of: Callable
) -> None:
    spec = spec_of(mode, 2, M, steps=STEPS)  # depth 3: 4 blocks, one per virtual stage
    assert why_not_applicable(mode) is None
    ranks = launch_local(spec, deadline_s=180)
    expected = reference_of(spec)
    assert len(expected) == PEERS[mode].virtual_stages(2)
    for rank in ranks:
        reference = expected[rank.rank]
        assert rank.parameters.keys() == reference.keys()
        trained = [name for name in reference if name in _parameter_names(spec, rank.rank)]
        assert trained
        for name in trained:
            torch.testing.assert_close(rank.parameters[name], reference[name], rtol=1e-4, atol=1e-5)
    per_rank = PEERS[mode].stages_per_rank
    for rank in ranks:
        spans = rank.spans
        forwards = spans[spans[:, 0] == int(SpanKind.FORWARD)]
        assert len(forwards) == STEPS * M * per_rank
        assert int((forwards[:, 1] > LATER_VIRTUAL_STAGE).sum()) == STEPS * M
        backwards = _count(spans, SpanKind.BACKWARD) + _count(spans, SpanKind.BACKWARD_INPUT)
        assert backwards == STEPS * M * per_rank
        if mode in SPLIT_BACKWARD_PEERS:
            assert _count(spans, SpanKind.BACKWARD_WEIGHT) > 0
        waits = _count(spans, SpanKind.WAIT_ACTIVATION) + _count(spans, SpanKind.WAIT_GRADIENT)
        assert waits > 0, f"rank {rank.rank} recorded no wait"
        assert _count(spans, SpanKind.SEND) > 0
    # Stage 0 of rank 0 takes no activation from anyone but (V placement aside) waits for
    # gradients; the last rank of a 1-stage-per-rank schedule waits for activations.
    assert _count(ranks[0].spans, SpanKind.WAIT_GRADIENT) > 0
    assert _count(ranks[1].spans, SpanKind.WAIT_ACTIVATION) > 0


def test_metrics_count_each_microbatch_once_per_rank(spec_of: SpecOf) -> None:
    # No warm-up: the window opens at the first step's start, so every forward is in it.
    spec = spec_of("torch-interleaved-1f1b", 2, M, steps=3, keep_parameters=False)
    result = run_benchmark(spec, deadline_s=180)
    for stage in result.metrics.stages:
        assert stage.microbatches == 3 * M  # not 2 * 3 * M: two virtual stages per rank


def test_dualpipev_below_its_stage_count_is_refused_before_launch(spec_of: SpecOf) -> None:
    with pytest.raises(UserError, match="at least as many microbatches as stages"):
        spec_of("torch-dualpipev", 2, 2)  # refused when the spec is built, as a suite loads it


def test_a_schedule_missing_from_torch_is_not_applicable(monkeypatch: pytest.MonkeyPatch) -> None:
    from torch.distributed import pipelining

    monkeypatch.delattr(pipelining, "ScheduleZBVZeroBubble")
    reason = why_not_applicable("torch-zbv")
    assert reason is not None and torch.__version__ in reason
    assert why_not_applicable("torch-zb") is None
    with pytest.raises(NotApplicable, match=r"has no torch\.distributed\.pipelining"):
        require_applicable("x", "torch-zbv")


def test_wait_kinds_follow_what_the_batch_receives() -> None:
    assert wait_kind({"send", "gradient"}) is SpanKind.WAIT_GRADIENT
    assert wait_kind({"activation"}) is SpanKind.WAIT_ACTIVATION
    assert wait_kind({"send"}) is SpanKind.SEND
    assert wait_kind({None}, "fwd_recv") is SpanKind.WAIT_ACTIVATION
    assert wait_kind({None}) is SpanKind.RECV
