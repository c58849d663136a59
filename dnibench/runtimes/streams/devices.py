"""Where a streams run puts its stages: real CUDA streams, or the CPU stand-in.

``device`` in a benchmark says which: ``"cuda"`` needs a GPU and fails with a
clear message without one (a GPU suite must never quietly report CPU
numbers), ``"cpu"`` always uses the stand-in (CI smoke tests), ``"auto"``
takes CUDA when there is one. On CUDA every stage gets its own stream; with
at least as many GPUs as stages, stage k runs on GPU k (hand-offs are then
device-to-device copies), otherwise all stages share the current GPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from dnibench.errors import NotApplicable, UserError
from dnibench.runtimes.streams.standin import HostTimebase, OrderLog, StandInStream
from dnibench.runtimes.streams.stream import StageStream, Timebase

DEVICE_CHOICES = ("auto", "cuda", "cpu")

STANDIN_NOTE = (
    "CPU stand-in for CUDA streams: stage threads on the host, spans timed by the host "
    "clock; these are not GPU numbers"
)


@dataclass(frozen=True)
class Placement:
    """The device of every stage and whether its streams are CUDA streams."""

    cuda: bool
    devices: tuple[torch.device, ...]

    @property
    def device_indices(self) -> tuple[int, ...]:
        """The distinct CUDA device indices used, in order (empty on the stand-in)."""
        if not self.cuda:
            return ()
        return tuple(sorted({d.index or 0 for d in self.devices}))

    @property
    def note(self) -> str:
        """What the run ran on, in words, for reports."""
        if not self.cuda:
            return STANDIN_NOTE
        gpus = len(self.device_indices)
        layout = "one stage per GPU" if gpus > 1 else "every stage on one GPU"
        return f"CUDA streams, one per stage, {layout} ({gpus} GPU{'s' if gpus > 1 else ''})"


def resolve_placement(
    device: str,
    stages: int,
    *,
    cuda_available: bool | None = None,
    device_count: int | None = None,
) -> Placement:
    """The placement of ``stages`` stages for ``device`` (``auto``, ``cuda`` or ``cpu``).

    ``cuda_available`` / ``device_count`` default to what torch sees; tests pass them.
    """
    if device not in DEVICE_CHOICES:
        raise UserError(
            f"device {device!r} is not one of {', '.join(DEVICE_CHOICES)} for the streams runtime"
        )
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if device == "cuda" and not cuda_available:
        raise NotApplicable(
            'this benchmark needs a CUDA GPU (device = "cuda") but none is visible '
            "(torch.cuda.is_available() is False): run it on a GPU machine, or set "
            'device = "cpu" to run the CPU stand-in for CUDA streams'
        )
    if device == "cpu" or not cuda_available:
        return Placement(cuda=False, devices=tuple(torch.device("cpu") for _ in range(stages)))
    if device_count is None:
        device_count = torch.cuda.device_count()
    if stages > 1 and device_count >= stages:
        return Placement(cuda=True, devices=tuple(torch.device("cuda", k) for k in range(stages)))
    current = torch.cuda.current_device() if device_count else 0
    return Placement(cuda=True, devices=tuple(torch.device("cuda", current) for _ in range(stages)))


def nvml_index(cuda_index: int, visible: str | None = None) -> int:
    """The NVML index of CUDA device ``cuda_index``.

    CUDA numbers only the GPUs in ``CUDA_VISIBLE_DEVICES``; NVML numbers every
    GPU in the machine. With a list of indices the two differ
    (``CUDA_VISIBLE_DEVICES=3`` makes cuda:0 NVML's GPU 3); with UUIDs, or
    unset, the CUDA index is used as is.
    """
    if visible is None:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if not visible:
        return cuda_index
    entries = [entry.strip() for entry in visible.split(",")]
    if cuda_index < len(entries) and all(entry.isdigit() for entry in entries):
        return int(entries[cuda_index])
    return cuda_index


def make_streams(placement: Placement, log: OrderLog | None = None) -> list[StageStream]:
    """One stream per stage; ``log`` records the stand-in's order of records and waits."""
    if not placement.cuda:
        return [StandInStream(f"stage-{k}", log) for k in range(len(placement.devices))]
    from dnibench.runtimes.streams.cuda import CudaStream

    return [CudaStream(f"stage-{k}", device) for k, device in enumerate(placement.devices)]


def make_timebase(placement: Placement) -> Timebase:
    """The clock the stage spans are read on; make it right before issuing any work."""
    if not placement.cuda:
        return HostTimebase()
    from dnibench.runtimes.streams.cuda import CudaTimebase

    return CudaTimebase(placement.device_indices)
