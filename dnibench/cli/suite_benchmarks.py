"""Run a suite under pytest-benchmark, one test per benchmark.

Usage (the suite comes from ``DNIBENCH_SUITE``, default ``quick``)::

    DNIBENCH_SUITE=quick pytest --pyargs dnibench.cli.suite_benchmarks --benchmark-autosave
    DNIBENCH_SUITE=quick pytest --pyargs dnibench.cli.suite_benchmarks \\
        --benchmark-compare --benchmark-compare-fail=median:10%

pytest-benchmark times whole calls, so each round is one complete benchmark
(process start-up included) with a fixed number of steps, repeated as the
suite says; the throughput measured inside the run goes into ``extra_info``.
The statistical gate on in-run samples is ``dnibench check``; this entry is
for teams whose CI already gates on pytest-benchmark's storage.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from dnibench.studies.registry import benchmark_kind
from dnibench.suites import load_suite

if TYPE_CHECKING:
    from pytest_benchmark.fixture import BenchmarkFixture

    from dnibench.studies.item import Item

SUITE = os.environ.get("DNIBENCH_SUITE", "quick")
ITEMS = load_suite(SUITE).items


@pytest.mark.parametrize("item", ITEMS, ids=[item.name for item in ITEMS])
def test_suite_benchmark(item: Item, benchmark: BenchmarkFixture) -> None:
    """One suite benchmark; fails if the run itself fails."""
    benchmark.group = f"dnibench-{SUITE}"
    outcomes: list[object] = []
    kind = benchmark_kind(item.kind)

    def run() -> None:
        outcomes.append(kind.compute(item, len(outcomes), 600))

    benchmark.pedantic(run, rounds=item.repeats, iterations=1)
    figures = kind.figures(outcomes[-1])
    benchmark.extra_info.update(figures)
    assert next(iter(figures.values())) > 0
