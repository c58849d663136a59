"""Run a :class:`~dnibench.runtimes.spec.BenchSpec` on the streams runtime.

Everything around the engine is shared with the dist runtime so the two
measure the same thing (:mod:`~dnibench.runtimes.harness`): the pipeline is
built from the same seed, every stage gets the same per-stage action list
and the same stage driver, and the result is one ``RankResult`` per stage,
which :mod:`dnibench.bench.run` turns into the same rows, traces and reports
whichever runtime made them. Differences, on purpose:

- the input batches of the whole run are staged on each stage's device
  before the clock starts, so host-to-device copies and shuffling are not
  charged to any stage (stages run in one process and share them);
- GPU telemetry is one NVML sampler per GPU used, reported on the first
  stage placed on it (stages sharing a GPU share its utilisation and energy);
- RSS and CPU time are the process's, reported on every stage;
- on the CPU stand-in the rows say so (``stream_gpus`` = 0) and the NVML
  note names the stand-in: its timings are never GPU numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from dnibench.data import BatchStream
from dnibench.errors import UserError
from dnibench.instrument import NvmlSampler, cpu_times, peak_rss_bytes
from dnibench.precision import cast_input, torch_dtype
from dnibench.regimes.stage import Stage
from dnibench.runtimes.driver import MicrobatchData
from dnibench.runtimes.harness import (
    RankFailure,
    RankResult,
    action_stream,
    build_for_rank,
    fault_hook,
    loss_scale,
    parameter_snapshot,
    place_stage,
)
from dnibench.runtimes.pipeline_result import BenchResult, summarise
from dnibench.runtimes.snapshots import snapshot_taker
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.streams.devices import (
    Placement,
    make_streams,
    make_timebase,
    nvml_index,
    resolve_placement,
)
from dnibench.runtimes.streams.engine import EngineConfig, StageOutcome, StreamEngine
from dnibench.runtimes.streams.standin import OrderLog


@dataclass
class StreamsBenchResult(BenchResult):
    """A streams benchmark: the shared result plus where it ran."""

    placement_note: str = ""
    gpus: int = 0
    cuda_peak_bytes: dict[int, int] | None = None

    def rows(self, repeat: int = 0) -> list[dict[str, object]]:
        """The shared rows, plus ``stream_gpus`` (0: the CPU stand-in) and CUDA peak memory."""
        rows = super().rows(repeat)
        keep = ("benchmark", "mode", "stages", "microbatches", "repeat")
        template = {key: rows[0][key] for key in keep}
        rows.append({**template, "metric": "stream_gpus", "stage": -1,
                     "value": float(self.gpus), "unit": "GPUs"})  # fmt: skip
        for stage, peak in (self.cuda_peak_bytes or {}).items():
            rows.append({**template, "metric": "cuda_memory_peak", "stage": stage,
                         "value": peak / 2**20, "unit": "MiB"})  # fmt: skip
        return rows


def staged_microbatches(
    spec: BenchSpec, stream: BatchStream, placement: Placement
) -> list[MicrobatchData]:
    """Per stage, global microbatch id -> (x, y) on that stage's device, made before the run."""
    m = spec.microbatches
    devices = list(dict.fromkeys(placement.devices))
    per_device: dict[torch.device, list[tuple[Tensor, Tensor]]] = {d: [] for d in devices}
    for step in range(spec.steps):
        x, y = stream.batch(step)
        for device in devices:
            xs = cast_input(x.to(device), torch_dtype(spec.dtype)).chunk(m)
            ys = y.to(device).chunk(m)
            per_device[device].extend(zip(xs, ys, strict=True))

    def source(device: torch.device) -> MicrobatchData:
        chunks = per_device[device]
        return lambda mb: chunks[mb]

    return [source(device) for device in placement.devices]


def _samplers(spec: BenchSpec, placement: Placement) -> dict[int, NvmlSampler]:
    if not (placement.cuda and spec.nvml):
        return {}
    indices = placement.device_indices
    return {index: NvmlSampler(device_index=nvml_index(index)) for index in indices}


def _nvml_reports(
    spec: BenchSpec, placement: Placement, reports: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per stage: its GPU's NVML summary on the first stage of each GPU, ``{}`` elsewhere."""
    rest: list[dict[str, Any]] = [{} for _ in placement.devices[1:]]
    if not placement.cuda:
        return [{"available": False, "reason": placement.note}, *rest]
    if not spec.nvml:
        return [{"available": False, "reason": "NVML sampling switched off (nvml = false)"}, *rest]
    result: list[dict[str, Any]] = []
    seen: set[int] = set()
    for device in placement.devices:
        index = device.index or 0
        result.append(reports[index] if index not in seen else {})
        seen.add(index)
    return result


def run_streams(
    spec: BenchSpec, *, deadline_s: float | None = None, order_log: OrderLog | None = None
) -> StreamsBenchResult:
    """Run ``spec`` with one stream (and host thread) per stage in this process.

    ``order_log`` (CPU stand-in only) receives every event record and wait, for tests.
    """
    try:
        placement = resolve_placement(spec.device, spec.world_size)
    except UserError as error:  # NotApplicable stays NotApplicable
        raise type(error)(f"{spec.name}: {error}") from None
    if placement.cuda and spec.slow_stage is not None:
        raise UserError(
            f"{spec.name}: slow_stage needs the CPU stand-in or the dist runtime; a host sleep "
            "cannot slow a CUDA stream"
        )
    threads_before = torch.get_num_threads()
    torch.set_num_threads(spec.threads)
    try:
        return _run(spec, placement, deadline_s, order_log)
    except RankFailure:
        raise
    except (RuntimeError, MemoryError) as error:  # building or placing it: out of memory, say
        raise RankFailure(
            f"{spec.name}: the streams run failed before its stages started: "
            f"{type(error).__name__}: {error}",
            stage=-1,
        ) from error
    finally:
        torch.set_num_threads(threads_before)
        if placement.cuda:
            torch.cuda.empty_cache()


def _run(
    spec: BenchSpec, placement: Placement, deadline_s: float | None, order_log: OrderLog | None
) -> StreamsBenchResult:
    pipeline, batches = build_for_rank(spec)
    for stage, device in zip(pipeline.stages, placement.devices, strict=True):
        place_stage(stage, device)
    data = staged_microbatches(spec, batches, placement)
    for index in placement.device_indices:
        torch.cuda.reset_peak_memory_stats(index)
    streams = make_streams(placement, order_log)
    config = EngineConfig(
        forward_locked=not spec.regime.synthetic_inputs,
        loss_scale=loss_scale(spec),
        microbatches_per_step=spec.microbatches,
        timeout_s=spec.timeout_s,
        spans=spec.spans,
        slow_stage=spec.slow_stage,
        slow_factor=spec.slow_factor,
    )
    actions = [action_stream(spec, k) for k in range(spec.world_size)]
    samplers = _samplers(spec, placement)
    engine = StreamEngine(pipeline.stages, streams, make_timebase(placement), config)
    takers = [
        snapshot_taker(spec, pipeline.stages, k, spec.world_size) for k in range(spec.world_size)
    ]
    for driver, taker in zip(engine.drivers, takers, strict=True):
        driver.after_update = taker.after_update if taker is not None else None
    for sampler in samplers.values():
        sampler.start()
    cpu0, wall0 = cpu_times(), time.perf_counter()
    for taker in takers:
        if taker is not None:
            taker.start()
    try:
        outcomes = engine.run(
            actions,
            data,
            on_step=[fault_hook(spec, k) for k in range(spec.world_size)],
            deadline_s=deadline_s,
        )
    finally:
        reports = {index: sampler.stop() for index, sampler in samplers.items()}
        for sampler in samplers.values():
            sampler.close()
    wall = time.perf_counter() - wall0
    cpu = cpu_times() - cpu0
    nvml = _nvml_reports(spec, placement, reports)
    ranks = [
        _rank_result(spec, outcome, stage, report, cpu, wall)
        for outcome, stage, report in zip(outcomes, pipeline.stages, nvml, strict=True)
    ]
    for rank, taker in zip(ranks, takers, strict=True):
        rank.snapshots = taker.snapshots if taker is not None else []
    base = summarise(spec, ranks, wall)
    return StreamsBenchResult(
        spec=base.spec,
        ranks=base.ranks,
        metrics=base.metrics,
        wall_s=base.wall_s,
        placement_note=placement.note,
        gpus=len(placement.device_indices),
        cuda_peak_bytes=_cuda_peaks(placement),
    )


def _rank_result(
    spec: BenchSpec,
    outcome: StageOutcome,
    stage: Stage,
    nvml: dict[str, Any],
    cpu_s: float,
    wall_s: float,
) -> RankResult:
    """A stage's result in the dist runtime's shape; process figures are shared by all stages."""
    result = RankResult(
        rank=outcome.stage,
        spans=outcome.spans,
        peak_rss_bytes=peak_rss_bytes(),
        cpu_s=cpu_s,
        wall_s=wall_s,
        log=outcome.log,
        nvml=nvml,
    )
    if spec.keep_parameters:
        result.parameters = parameter_snapshot(stage)
    return result


def _cuda_peaks(placement: Placement) -> dict[int, int] | None:
    """Peak CUDA memory allocated per GPU, keyed by the first stage placed on it."""
    if not placement.cuda:
        return None
    first: dict[int, int] = {}
    for k, device in enumerate(placement.devices):
        first.setdefault(device.index or 0, k)
    return {k: torch.cuda.max_memory_allocated(index) for index, k in first.items()}


__all__ = ["StreamsBenchResult", "run_streams"]
