"""Run one pipeline benchmark on its runtime.

``dist`` spawns one process per stage on this machine; ``streams`` runs
every stage on its own stream in this process. Both return a
:class:`~dnibench.runtimes.pipeline_result.BenchResult` (re-exported here
with :func:`summarise`, its constructor from per-stage results).
"""

from __future__ import annotations

import time

from dnibench.errors import NotApplicable
from dnibench.runtimes.async_applicable import require_async_applicable
from dnibench.runtimes.distributed.launch import launch_local
from dnibench.runtimes.peer_schedules import require_applicable
from dnibench.runtimes.pipeline_result import BenchResult, align_spans, summarise
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.streams.runner import run_streams


def require_gpus(spec: BenchSpec, available: int | None = None) -> None:
    """NCCL takes one rank per GPU: fail a dist/nccl benchmark that needs more GPUs than exist.

    The :class:`NotApplicable` is recorded as ``not_applicable`` in status.csv
    (the suite goes on, and it is not a failure), with the need and the way out named.
    """
    if spec.backend != "nccl":
        return
    if available is None:
        import torch

        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if spec.world_size > available:
        raise NotApplicable(
            f"{spec.name}: the dist runtime on nccl runs one rank per GPU, so this "
            f"{spec.world_size}-stage benchmark needs {spec.world_size} GPUs; this machine has "
            f"{available}. Run it where {spec.world_size} GPUs are visible, or use "
            'runtime = "streams" (one CUDA stream per stage on one GPU)'
        )


def run_benchmark(spec: BenchSpec, *, deadline_s: float | None = None) -> BenchResult:
    """Run ``spec`` on its runtime: local processes (dist) or CUDA streams in this process."""
    if spec.runtime == "streams":
        return run_streams(spec, deadline_s=deadline_s)
    require_gpus(spec)
    require_applicable(spec.name, spec.mode)
    require_async_applicable(spec)
    started = time.perf_counter()
    ranks = launch_local(spec, deadline_s=deadline_s)
    return summarise(spec, ranks, time.perf_counter() - started)


__all__ = ["BenchResult", "align_spans", "require_gpus", "run_benchmark", "summarise"]
