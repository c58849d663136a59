"""dnibench's ZB-H1 on the streams CPU stand-in reproduces the unsplit reference bit for bit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dnibench.instrument import SpanKind
from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.streams.runner import run_streams

SpecOf = Callable[..., BenchSpec]
MatchesReference = Callable[[BenchSpec, list[RankResult]], None]


@pytest.mark.parametrize(("stages", "microbatches"), [(2, 4), (3, 4), (4, 2)])
def test_zb_matches_the_reference(
    stages: int, microbatches: int, spec_of: SpecOf, matches_reference: MatchesReference
) -> None:
    spec = spec_of("zb", stages, microbatches=microbatches)
    ranks = run_streams(spec).ranks
    matches_reference(spec, ranks)
    for rank in ranks:
        kinds = rank.spans[:, 0].astype(int).tolist()
        assert kinds.count(int(SpanKind.BACKWARD_INPUT)) == spec.steps * microbatches
        assert kinds.count(int(SpanKind.BACKWARD_WEIGHT)) == spec.steps * microbatches
