"""Fixtures of the streams tests: the shared tiny specs, run on the CPU stand-in."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dnibench.runtimes.spec import BenchSpec


@pytest.fixture
def spec_of(runtime_spec_of: Callable[..., BenchSpec]) -> Callable[..., BenchSpec]:
    """The shared tiny spec on the streams runtime's CPU stand-in (30 s timeout)."""

    def streams_spec(mode: str, stages: int, microbatches: int, steps: int = 3, **changes):
        return runtime_spec_of("streams", mode, stages, microbatches, steps, **changes)

    return streams_spec
