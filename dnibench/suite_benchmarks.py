"""Run a suite under pytest-benchmark, one test per benchmark.

Usage (the suite comes from ``DNIBENCH_SUITE``, default ``quick``)::

    DNIBENCH_SUITE=quick pytest --pyargs dnibench.suite_benchmarks --benchmark-autosave
    DNIBENCH_SUITE=quick pytest --pyargs dnibench.suite_benchmarks \\
        --benchmark-compare --benchmark-compare-fail=median:10%

pytest-benchmark times whole calls, so each round is one complete benchmark
(process start-up included) with a fixed number of steps, repeated as the
suite says; the throughput measured inside the run goes into ``extra_info``.
The statistical gate on in-run samples is ``dnibench check``; this entry is
for teams whose CI already gates on pytest-benchmark's storage.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from dnibench.suites import load_suite

SUITE = os.environ.get("DNIBENCH_SUITE", "quick")
ITEMS = load_suite(SUITE).items


@pytest.mark.parametrize("item", ITEMS, ids=[item.name for item in ITEMS])
def test_suite_benchmark(item: Any, benchmark: Any) -> None:
    """One suite benchmark; fails if the run itself fails."""
    benchmark.group = f"dnibench-{SUITE}"
    outcomes: list[Any] = []
    if item.kind == "train":
        from dnibench.studies.train.run import run_training

        def run() -> None:
            outcomes.append(run_training(item.train, len(outcomes)))
    else:
        from dnibench.bench.run import run_benchmark

        spec = item.spec.with_(name=item.name)

        def run() -> None:
            outcomes.append(run_benchmark(spec, deadline_s=600))

    benchmark.pedantic(run, rounds=item.repeats, iterations=1)
    last = outcomes[-1]
    if item.kind == "train":
        benchmark.extra_info["test_accuracy"] = last.final.test_accuracy
        assert last.final.test_accuracy > 0
    else:
        benchmark.extra_info["throughput"] = last.metrics.throughput
        benchmark.extra_info["pipeline_efficiency"] = last.metrics.efficiency
        assert last.metrics.throughput > 0
