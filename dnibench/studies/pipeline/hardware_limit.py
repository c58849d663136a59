"""Efficiency against the hardware limit: what K single-threaded processes could do.

A pipeline's own efficiency (throughput over its slowest stage's busy rate)
says how well it keeps its stages busy, not whether pipelining pays: on a
small machine one process using every core can beat every pipeline. The
hardware-limit efficiency of a benchmark is

    throughput / (cores used x throughput of the same model in one process, one thread, same m)

with cores used = processes x threads per process (K for a pipeline of K
single-threaded ranks; the core count for the all-cores single-process
baseline). The baseline is the run's own ``single-1t-m{m}`` benchmark of the
benchmark's model group (``gpt-single-1t-m{m}`` for ``gpt-dni-m8``, see
:mod:`model_groups`), and only when the run's config says it trained the
same model on the same batch; otherwise the figure is missing (shown as a
dash), never guessed.
"""

from __future__ import annotations

import math
from typing import Any

from dnibench.rundir.reader import RunData
from dnibench.studies.pipeline.model_groups import group_of, prefixes

#: Spec fields that must agree for single-1t-m{m} to be the same model's baseline.
SAME_MODEL = ("model", "width", "depth", "input_shape", "batch_size", "data")


def benchmark_specs(run: RunData) -> dict[str, dict[str, Any]]:
    """Each benchmark's spec from the run's config (every shape it has had)."""
    return {name: spec.as_dict() for name, spec in run.config.specs().items()}


def _spec(run: RunData, bench: str) -> dict[str, Any]:
    return benchmark_specs(run).get(bench, {})


def baseline_name(microbatches: int, prefix: str = "") -> str:
    """The one-thread single process of the model group ``prefix`` at ``microbatches``."""
    return f"{prefix}single-1t-m{microbatches}"


def cores_used(run: RunData, bench: str) -> float:
    """Processes x threads per process, from the run's config (NaN when it cannot say)."""
    spec = _spec(run, bench)
    rows = run.results[run.results["benchmark"] == bench]
    if rows.empty:
        return math.nan
    processes = int(rows["stages"].max())
    threads = spec.get("threads", 1)
    if not isinstance(threads, int):  # "all" resolved only at run time: use the machine's cores
        cores = run.fingerprint.get("cores")
        threads = int(cores) if isinstance(cores, int | float) and cores else math.nan
    return processes * threads


def hardware_limit_efficiency(run: RunData, bench: str) -> float:
    """``bench``'s throughput / (cores used x same-m single-thread throughput); NaN: no base."""
    rows = run.results[run.results["benchmark"] == bench]
    if rows.empty:
        return math.nan
    m = int(rows["microbatches"].max())
    prefix = group_of(bench, prefixes(run))
    base = baseline_name(m, prefix)
    base_spec, spec = _spec(run, base), _spec(run, bench)
    if base_spec and spec and any(base_spec.get(k) != spec.get(k) for k in SAME_MODEL):
        return math.nan
    single = run.value(base, "throughput")
    cores = cores_used(run, bench)
    if math.isnan(single) or single <= 0 or math.isnan(cores):
        return math.nan
    return run.value(bench, "throughput") / (cores * single)


__all__ = [
    "SAME_MODEL",
    "baseline_name",
    "benchmark_specs",
    "cores_used",
    "hardware_limit_efficiency",
]
