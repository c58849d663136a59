"""Every runtime reproduces the reference runtime's parameters bit for bit: one body per claim,
parametrised over the runtimes (dist over real gloo process groups, streams on the CPU
stand-in), so both are held to exactly the same schedules, specs and comparison."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dnibench.runtimes.harness import RankResult
from dnibench.runtimes.spec import BenchSpec

RuntimeSpecOf = Callable[..., BenchSpec]
MatchesReference = Callable[[BenchSpec, list[RankResult]], None]
RUNTIMES = ("dist", "streams")


def run_ranks(spec: BenchSpec) -> list[RankResult]:
    """Every rank's result of ``spec`` on its runtime, in rank order."""
    if spec.runtime == "streams":
        from dnibench.runtimes.streams.runner import run_streams

        return run_streams(spec).ranks
    from dnibench.runtimes.distributed.launch import launch_local

    return sorted(launch_local(spec, deadline_s=240), key=lambda r: r.rank)


#: (mode, microbatches): backprop schedules at 4, the unlocked ones (staleness 0) at 2.
SCHEDULES = [
    *((mode, 4) for mode in ("sequential", "gpipe", "1f1b")),
    *((mode, 2) for mode in ("dni", "cdni", "unlock")),
]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(("mode", "microbatches"), SCHEDULES, ids=[m for m, _ in SCHEDULES])
@pytest.mark.parametrize("stages", [2, 4])
def test_every_schedule_matches_the_reference(
    runtime: str,
    mode: str,
    microbatches: int,
    stages: int,
    runtime_spec_of: RuntimeSpecOf,
    matches_reference: MatchesReference,
) -> None:
    spec = runtime_spec_of(runtime, mode, stages, microbatches=microbatches)
    matches_reference(spec, run_ranks(spec))


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("mode", ["dni", "unlock"])
def test_per_microbatch_updates_match_the_reference(
    runtime: str, mode: str, runtime_spec_of: RuntimeSpecOf, matches_reference: MatchesReference
) -> None:
    spec = runtime_spec_of(runtime, mode, 4, microbatches=4, update_per_microbatch=True)
    matches_reference(spec, run_ranks(spec))
