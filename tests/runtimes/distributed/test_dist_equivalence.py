"""The dist runtime over real gloo process groups reproduces the reference runtime."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dnibench.optim import OptimConfig
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec

SpecOf = Callable[..., BenchSpec]
ReferenceOf = Callable[[BenchSpec], list[dict[str, torch.Tensor]]]
MatchesReference = Callable[[BenchSpec, list[RankResult]], None]


def _assert_same(spec: BenchSpec, matches_reference: MatchesReference) -> None:
    matches_reference(spec, sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank))


@pytest.mark.parametrize("mode", ["gpipe", "1f1b", "sequential"])
@pytest.mark.parametrize("stages", [2, 4])
def test_backprop_schedules_match_the_reference(
    mode: str, stages: int, spec_of: SpecOf, matches_reference: MatchesReference
) -> None:
    _assert_same(spec_of(mode, stages, microbatches=4), matches_reference)


@pytest.mark.parametrize("mode", ["dni", "cdni", "unlock"])
@pytest.mark.parametrize("stages", [2, 4])
def test_unlocked_schedules_with_staleness_0_match_the_reference(
    mode: str, stages: int, spec_of: SpecOf, matches_reference: MatchesReference
) -> None:
    _assert_same(spec_of(mode, stages, microbatches=2), matches_reference)


@pytest.mark.parametrize("mode", ["dni", "unlock"])
def test_per_microbatch_updates_match_the_reference(
    mode: str, spec_of: SpecOf, matches_reference: MatchesReference
) -> None:
    spec = spec_of(mode, 4, microbatches=4, update_per_microbatch=True)
    _assert_same(spec, matches_reference)


def test_a_dist_run_actually_trains(spec_of: SpecOf, reference_of: ReferenceOf) -> None:
    spec = spec_of("gpipe", 2, microbatches=2)
    initial = reference_of(spec.with_(steps=1, optim=OptimConfig(name="sgd", lr=1e-12)))
    ranks = sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)
    moved = [
        not torch.allclose(ranks[k].parameters[name], value)
        for k in range(2)
        for name, value in initial[k].items()
        if name.endswith("weight")
    ]
    assert all(moved)
