"""One rank of a ``dist`` benchmark: set up, run its stage, report.

The same function runs in a process spawned by :mod:`launch` and in a
process started by ``torchrun`` (on one node or several): only the way the
process group is initialised differs. Every rank builds the whole model from
the same seed and keeps its own stage, and draws the same batches from the
same seeded stream, so no parameters or inputs need to be sent at start.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from dnibench.instrument import (
    NvmlSampler,
    SpanRecorder,
    cpu_times,
    estimate_offset,
    peak_rss_bytes,
)
from dnibench.modes import Family
from dnibench.precision import torch_dtype
from dnibench.runtimes.distributed.links import NeighbourLinks
from dnibench.runtimes.distributed.transport import LinkTransport, RecorderSpans
from dnibench.runtimes.driver import StageDriver
from dnibench.runtimes.harness import (
    RankResult,
    Watchdog,
    action_stream,
    build_for_rank,
    describe_last_span,
    fault_hook,
    loss_scale,
    microbatch_source,
    parameter_snapshot,
    place_stage,
    wait_timeout_s,
)
from dnibench.runtimes.snapshots import snapshot_taker
from dnibench.runtimes.spec import BenchSpec
from dnibench.runtimes.straggler import slow_factor_of


def init_group(spec: BenchSpec, rank: int, world: int, store_path: Path | None) -> None:
    """Join the process group: a FileStore when spawned locally, env:// under torchrun.

    Its collectives wait as long as a receive, longer than a stage's watchdog.
    """
    timeout = timedelta(seconds=wait_timeout_s(spec.timeout_s))
    if store_path is not None:
        store = dist.FileStore(str(store_path), world)
        dist.init_process_group(
            spec.backend, store=store, rank=rank, world_size=world, timeout=timeout
        )
    else:
        dist.init_process_group(spec.backend, timeout=timeout)


def _device(spec: BenchSpec, rank: int) -> torch.device:
    if spec.backend == "nccl":
        index = int(os.environ.get("LOCAL_RANK", rank)) % torch.cuda.device_count()
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device("cpu")


def _clock_offset(rank: int, world: int, device: torch.device) -> tuple[int, int]:
    """Offset of this rank's perf_counter clock to rank 0's, by ping-pong.

    The stamp lives on the rank's device: nccl sends only CUDA tensors.
    """
    if world == 1:
        return 0, 0
    stamp = torch.zeros(1, dtype=torch.int64, device=device)
    result = (0, 0)
    for peer in range(1, world):
        if rank == 0:
            for _ in range(8):
                dist.recv(stamp, src=peer)
                stamp[0] = time.perf_counter_ns()
                dist.send(stamp, dst=peer)
        elif rank == peer:

            def ping() -> tuple[int, int, int]:
                sent = time.perf_counter_ns()
                dist.send(stamp, dst=0)
                dist.recv(stamp, src=0)
                return sent, int(stamp[0]), time.perf_counter_ns()

            result = estimate_offset(ping, rounds=8)
    return result


class _NoGpu:
    """Stands in for the NVML sampler on a CPU rank, and says why nothing was sampled."""

    def __init__(self, reason: str = "CPU rank: no GPU to sample") -> None:
        self.reason = reason

    def start(self) -> None:
        pass

    def stop(self) -> dict[str, object]:
        return {"available": False, "reason": self.reason}


def _nvml_sampler(device: torch.device) -> NvmlSampler | _NoGpu:
    """An NVML sampler for this rank's GPU; NVML missing is reported by the sampler itself."""
    if device.type != "cuda":
        return _NoGpu()
    return NvmlSampler(device_index=device.index or 0)


def _abort(message: str) -> None:
    """End a hung rank from its watchdog thread: the message, then exit status 1."""
    print(message, file=sys.stderr, flush=True)
    os._exit(1)


def run_rank(
    spec: BenchSpec, rank: int, world: int, abort: Callable[[str], None] | None = None
) -> list[RankResult] | None:
    """Run this rank's part of ``spec`` in an initialised group; rank 0 gets all results.

    The stage loop is watched: no progress for ``spec.timeout_s``, other than
    waiting on a neighbour, calls ``abort(message)`` from the watchdog thread
    (default: print it, exit 1); a neighbour's receive waits longer, so the
    stage that hung is the one named.
    """
    torch.set_num_threads(spec.threads)
    device = _device(spec, rank)
    pipeline, stream = build_for_rank(spec)
    stage = pipeline.stages[rank]
    place_stage(stage, device)
    recorder = SpanRecorder(capacity=64 * spec.steps * spec.microbatches + 1024, enabled=spec.spans)
    data = microbatch_source(spec, stream, device)
    offset, rtt = _clock_offset(rank, world, device)
    sampler = _nvml_sampler(device) if spec.nvml else _NoGpu("NVML sampling switched off")
    taker = snapshot_taker(spec, pipeline.stages, rank, world)
    dist.barrier()
    sampler.start()
    cpu0, wall0 = cpu_times(), time.perf_counter()

    def hung(seconds: float) -> None:
        last = describe_last_span(recorder.spans())
        (abort or _abort)(
            f"stage {rank} hung: no progress for {seconds:.0f} s (timeout_s "
            f"{spec.timeout_s:g}), stopped {last}"
        )

    if taker is not None:
        taker.start()
    after_update = taker.after_update if taker is not None else None
    if spec.mode_row.family is Family.PEER:
        from dnibench.runtimes.distributed.peers import run_peer

        log = run_peer(spec, pipeline, rank, world, recorder, data, device, hung, after_update)
    else:
        shapes = pipeline.activation_shapes
        mb_size = spec.microbatch_size
        wait_s = wait_timeout_s(spec.timeout_s)
        transport = LinkTransport(
            NeighbourLinks(rank, world, wait_s, device, torch_dtype(spec.dtype))
            if world > 1
            else None,
            in_shape=(mb_size, *shapes[rank - 1]) if rank > 0 else None,
            out_shape=(mb_size, *shapes[rank]) if rank < world - 1 else None,
            microbatches_per_step=spec.microbatches,
            total_microbatches=spec.steps * spec.microbatches,
        )
        scale = loss_scale(spec)
        driver = StageDriver(
            stage,
            transport,
            RecorderSpans(recorder),
            loss_scale=scale,
            forward_locked=not spec.regime.synthetic_inputs,
            microbatches_per_step=spec.microbatches,
            slow_factor=slow_factor_of(spec.slow_stage, spec.slow_factor, rank),
            after_update=after_update,
        )

        def waiting() -> bool:
            """Waiting on a neighbour is not a hang of this stage (its watchdog sees it)."""
            return transport.waiting

        with Watchdog(spec.timeout_s, lambda: transport.actions, hung, waiting):
            driver.run(action_stream(spec, rank), data, on_step=fault_hook(spec, rank))
        log = driver.log.floats(scale)
    nvml = sampler.stop()
    result = RankResult(
        rank=rank,
        nvml=nvml,
        spans=recorder.spans(),
        offset_ns=offset,
        rtt_ns=rtt,
        peak_rss_bytes=peak_rss_bytes(),
        cpu_s=cpu_times() - cpu0,
        wall_s=time.perf_counter() - wall0,
        dropped_spans=recorder.dropped,
        log=log,
    )
    if spec.keep_parameters:
        result.parameters = parameter_snapshot(stage)
    if taker is not None:
        result.snapshots = taker.snapshots
    gathered: list[Any] | None = [None] * world if rank == 0 else None
    dist.gather_object(result, gathered, dst=0)
    return gathered if rank == 0 else None
