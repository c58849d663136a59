"""One rank of a ``dist`` benchmark: set up, run its stage, report.

The same function runs in a process spawned by :mod:`launch` and in a
process started by ``torchrun`` (on one node or several): only the way the
process group is initialised differs. Every rank builds the whole model from
the same seed and keeps its own stage, and draws the same batches from the
same seeded stream, so no parameters or inputs need to be sent at start.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor

from dnibench.bench.spec import PEER_MODES, SINGLE_MODE, BenchSpec, parse_fault
from dnibench.data import BatchStream, load_dataset
from dnibench.instrument import (
    NvmlSampler,
    SpanRecorder,
    cpu_times,
    estimate_offset,
    peak_rss_bytes,
)
from dnibench.pipeline import Pipeline, build_pipeline
from dnibench.runtimes.dist.executor import StageExecutor
from dnibench.runtimes.dist.links import NeighbourLinks
from dnibench.schedules import Action, build_schedule


@dataclass
class RankResult:
    """What one rank measured; rank 0 gathers one per stage."""

    rank: int
    spans: np.ndarray
    offset_ns: int = 0
    rtt_ns: int = 0
    peak_rss_bytes: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    dropped_spans: int = 0
    log: dict[str, list[float]] = field(default_factory=dict)
    parameters: dict[str, Tensor] = field(default_factory=dict)
    nvml: dict[str, Any] = field(default_factory=dict)


def init_group(spec: BenchSpec, rank: int, world: int, store_path: Path | None) -> None:
    """Join the process group: a FileStore when spawned locally, env:// under torchrun."""
    timeout = timedelta(seconds=spec.timeout_s)
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


#: Rows of real input that size the stages and price the split at build time:
#: enough for per-example shapes and FLOP ratios, without pushing a GPU-sized
#: batch through the whole model on one CPU thread before the run starts.
PROBE_ROWS = 64


def build_for_rank(spec: BenchSpec) -> tuple[Pipeline, BatchStream]:
    """The whole pipeline (same seed on every rank) and the shared batch stream."""
    dataset = load_dataset(spec.data, seed=spec.seed, synthetic_shape=spec.input_shape)
    sample = dataset.x_train[: min(spec.batch_size, PROBE_ROWS)]
    pipeline = build_pipeline(
        spec.pipeline_config, spec.regime, dataset.input_shape, dataset.num_classes, sample
    )
    stream = BatchStream(dataset.x_train, dataset.y_train, spec.batch_size, seed=spec.seed)
    return pipeline, stream


def action_stream(spec: BenchSpec, rank: int) -> list[Action]:
    """This rank's actions for the whole run, microbatch ids global across steps.

    Backprop schedules repeat one step's list; unlocked schedules are built
    over all ``steps * m`` microbatches so that deltas may stay outstanding
    across a step boundary, as the staleness bound allows.
    """
    m = spec.microbatches
    name = "gpipe" if spec.mode == SINGLE_MODE else spec.mode
    if spec.regime.synthetic_gradients:
        schedule = build_schedule(
            name, spec.world_size, spec.steps * m, spec.staleness, spec.update_every
        )
        return list(schedule.stage_actions(rank))
    one_step = build_schedule(name, spec.world_size, m).stage_actions(rank)
    actions: list[Action] = []
    for step in range(spec.steps):
        for action in one_step:
            mb = None if action.mb is None else action.mb + step * m
            actions.append(Action(action.op, mb))
    return actions


def microbatch_source(spec: BenchSpec, stream: BatchStream, device: torch.device):
    """Global microbatch id -> (x, y), cached per step."""
    cache: dict[int, tuple[tuple[Tensor, ...], tuple[Tensor, ...]]] = {}

    def data(mb: int) -> tuple[Tensor, Tensor]:
        step, index = divmod(mb, spec.microbatches)
        if step not in cache:
            cache.clear()
            x, y = stream.batch(step)
            x, y = x.to(device), y.to(device)
            cache[step] = (x.chunk(spec.microbatches), y.chunk(spec.microbatches))
        xs, ys = cache[step]
        return xs[index], ys[index]

    return data


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


def fault_injector(spec: BenchSpec, rank: int):
    """The ``on_step`` hook that makes this rank fail as ``spec.fault`` asks, if it names it."""
    if spec.fault is None:
        return None
    kind, stage, at_step = parse_fault(spec.fault)
    if stage != rank:
        return None

    def on_step(step: int) -> None:
        if step != at_step:
            return
        if kind == "raise":
            raise RuntimeError(f"injected fault at step {step}")
        if kind == "hang":
            while True:
                time.sleep(3600)
        os.kill(os.getpid(), signal.SIGKILL)

    return on_step


class _NoGpu:
    """Stands in for the NVML sampler on a CPU rank, and says why nothing was sampled."""

    def __init__(self, reason: str = "CPU rank: no GPU to sample") -> None:
        self.reason = reason

    def start(self) -> None:
        pass

    def stop(self) -> dict[str, Any]:
        return {"available": False, "reason": self.reason}


def _nvml_sampler(device: torch.device) -> NvmlSampler | _NoGpu:
    """An NVML sampler for this rank's GPU; NVML missing is reported by the sampler itself."""
    if device.type != "cuda":
        return _NoGpu()
    return NvmlSampler(device_index=device.index or 0)


def run_rank(spec: BenchSpec, rank: int, world: int) -> list[RankResult] | None:
    """Run this rank's part of ``spec`` in an initialised group; rank 0 gets all results."""
    torch.set_num_threads(spec.threads)
    device = _device(spec, rank)
    pipeline, stream = build_for_rank(spec)
    stage = pipeline.stages[rank]
    for module in (stage.module, stage.sg, stage.si):  # SG / SI too, or nccl DNI mixes devices
        if module is not None:
            module.to(device)
    recorder = SpanRecorder(capacity=64 * spec.steps * spec.microbatches + 1024, enabled=spec.spans)
    data = microbatch_source(spec, stream, device)
    offset, rtt = _clock_offset(rank, world, device)
    log: dict[str, list[float]] = {}
    sampler = _nvml_sampler(device) if spec.nvml else _NoGpu("NVML sampling switched off")
    dist.barrier()
    sampler.start()
    cpu0, wall0 = cpu_times(), time.perf_counter()
    if spec.mode in PEER_MODES:
        from dnibench.runtimes.dist.peers import run_peer

        log = run_peer(spec, pipeline, rank, world, recorder, data, device)
    else:
        links = NeighbourLinks(rank, world, spec.timeout_s, device) if world > 1 else None
        shapes = pipeline.activation_shapes
        mb_size = spec.microbatch_size
        executor = StageExecutor(
            stage,
            links,
            recorder,
            in_shape=(mb_size, *shapes[rank - 1]) if rank > 0 else None,
            out_shape=(mb_size, *shapes[rank]) if rank < world - 1 else None,
            loss_scale=1.0 / (
                spec.update_every if spec.regime.synthetic_gradients else spec.microbatches
            ),
            forward_locked=not spec.regime.synthetic_inputs,
            microbatches_per_step=spec.microbatches,
            slow_factor=spec.slow_factor if spec.slow_stage == rank else 1.0,
        )
        executor.run(
            action_stream(spec, rank),
            data,
            spec.steps * spec.microbatches,
            on_step=fault_injector(spec, rank),
        )
        # SG/SI statistics are kept as tensors during the run (no per-microbatch sync).
        log = {key: [float(v) for v in value] for key, value in asdict(executor.log).items()}
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
        result.parameters = {
            name: value.detach().cpu().clone() for name, value in stage.module.state_dict().items()
        }
    gathered: list[Any] | None = [None] * world if rank == 0 else None
    dist.gather_object(result, gathered, dst=0)
    return gathered if rank == 0 else None
