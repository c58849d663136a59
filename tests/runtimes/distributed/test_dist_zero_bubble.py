"""dnibench's ZB-H1 over real gloo process groups reproduces the unsplit reference bit for bit.

The reference runtime runs the fused backward (GPipe order); the zb ranks
run the split one (D, W deferred). Equal parameters therefore show both that
the split backward computes the fused gradients and that the driver's
deferral loses, repeats or mis-pairs no microbatch.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from dnibench.instrument import SpanKind
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec

SpecOf = Callable[..., BenchSpec]
MatchesReference = Callable[[BenchSpec, list[RankResult]], None]


@pytest.mark.parametrize(("stages", "microbatches"), [(2, 4), (3, 4), (3, 2)])
def test_zb_matches_the_reference(
    stages: int, microbatches: int, spec_of: SpecOf, matches_reference: MatchesReference
) -> None:
    spec = spec_of("zb", stages, microbatches=microbatches)
    ranks = sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)
    matches_reference(spec, ranks)
    for rank in ranks:
        kinds = rank.spans[:, 0].astype(int).tolist()
        # Every microbatch's backward ran split: one D and one W span each, no fused B.
        assert kinds.count(int(SpanKind.BACKWARD_INPUT)) == spec.steps * microbatches
        assert kinds.count(int(SpanKind.BACKWARD_WEIGHT)) == spec.steps * microbatches
        assert int(SpanKind.BACKWARD) not in kinds


def test_the_zb_comparison_would_catch_a_lost_weight_pass(
    spec_of: SpecOf, matches_reference: MatchesReference
) -> None:
    """Guard on the check itself: zb with one step fewer than the reference differs."""
    spec = spec_of("zb", 2, microbatches=4)
    ranks = sorted(launch_local(spec.with_(steps=2), deadline_s=240), key=lambda r: r.rank)
    with pytest.raises(AssertionError):
        matches_reference(spec, ranks)
    assert all(torch.isfinite(v).all() for r in ranks for v in r.parameters.values())
