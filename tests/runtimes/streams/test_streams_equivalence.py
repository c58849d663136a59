"""The streams engine on the CPU stand-in: the single-stream baseline and a guard on the check
(the schedules' bit-for-bit equivalence with the reference runtime is
tests/runtimes/test_runtime_equivalence.py, shared with dist)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.streams.runner import run_streams

SpecOf = Callable[..., BenchSpec]
ReferenceOf = Callable[[BenchSpec], list[dict[str, torch.Tensor]]]
MatchesReference = Callable[[BenchSpec, list[RankResult]], None]


def _assert_same(spec: BenchSpec, matches_reference: MatchesReference) -> None:
    matches_reference(spec, run_streams(spec).ranks)


def test_single_runs_the_whole_model_on_one_stream(
    spec_of: SpecOf, matches_reference: MatchesReference
) -> None:
    spec = spec_of("single", 1, microbatches=2)
    assert spec.world_size == 1
    _assert_same(spec, matches_reference)


def test_the_comparison_would_catch_a_wrong_trajectory(
    spec_of: SpecOf, reference_of: ReferenceOf
) -> None:
    """Guard on the check itself: one step fewer than the reference gives other parameters."""
    spec = spec_of("gpipe", 2, microbatches=2)
    result = run_streams(spec.with_(steps=2))
    expected = reference_of(spec)
    assert any(
        not torch.allclose(rank.parameters[name], value)
        for rank, reference in zip(result.ranks, expected, strict=True)
        for name, value in reference.items()
    )
