"""The asynchronous modes on both runtimes reproduce their textbook loops bit for bit.

dist (gloo processes) and streams (the CPU stand-in) run each mode's
schedule through the one stage driver; :mod:`async_reference` runs the
same rule as a plain single-process loop with every weight version an
explicit copy. Parameters (and BatchNorm buffers) must be ``torch.equal``,
and each stage must have used the versions the loop used.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from async_reference import reference_run

from dnibench.modes import Family, mode_names
from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec

ASYNC_MODES = mode_names(Family.ASYNC)


def run_ranks(spec: BenchSpec) -> list[RankResult]:
    """Every rank's result of ``spec`` on its runtime, in rank order."""
    if spec.runtime == "streams":
        from dnibench.runtimes.streams.runner import run_streams

        return run_streams(spec).ranks
    from dnibench.runtimes.distributed.launch import launch_local

    return sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)


@pytest.mark.parametrize("runtime", ["dist", "streams"])
@pytest.mark.parametrize("mode", ASYNC_MODES)
@pytest.mark.parametrize("stages", [2, 3])
def test_asynchronous_mode_matches_its_textbook_loop(
    runtime: str, mode: str, stages: int, runtime_spec_of: Callable[..., BenchSpec]
) -> None:
    spec = runtime_spec_of(runtime, mode, stages, microbatches=4, steps=3)
    ranks = run_ranks(spec)
    expected, forwards, backwards = reference_run(spec)
    assert [rank.rank for rank in ranks] == list(range(stages))
    for rank, reference, forward, backward in zip(
        ranks, expected, forwards, backwards, strict=True
    ):
        assert rank.parameters.keys() == reference.keys()
        for name, value in reference.items():
            assert torch.equal(rank.parameters[name], value), f"{mode} stage {rank.rank} {name}"
        assert rank.log["forward_version"] == [float(forward[mb]) for mb in sorted(forward)]
        assert rank.log["backward_version"] == [float(backward[mb]) for mb in sorted(backward)]
