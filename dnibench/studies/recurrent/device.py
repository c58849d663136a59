"""Where a recurrent run trains, and the clock its seconds are read on.

``device`` in a recurrent benchmark says where the core, the SG module and
the text live: ``"cpu"`` (the default, as every CPU study ran), ``"cuda"``
(needs a GPU: without one the benchmark is recorded as not applicable, with
its name and the way out, never quietly run on the CPU) or ``"auto"`` (CUDA
when there is one).

Why the clock depends on the device: on the CPU the training thread's CPU
seconds (``time.thread_time``) stay honest when ``dnibench run --jobs 2``
runs two benchmarks on shared cores, and the committed CPU studies count
them. On a GPU the thread's CPU time means nothing (kernels run
asynchronously on the device), so the run's seconds are wall seconds, with
the GPU synchronised at both ends of every timed chunk so no kernel of a
chunk leaks into the next interval (or into an evaluation). Both clocks are
always kept: wall seconds and CPU seconds are recorded beside the run's
seconds whatever the device.
"""

from __future__ import annotations

import time

import torch

from dnibench.errors import NotApplicable, UserError
from dnibench.studies.recurrent.config import RECURRENT_DEVICES


def resolve_device(
    name: str, requested: str, *, cuda_available: bool | None = None
) -> torch.device:
    """The torch device benchmark ``name`` trains on for ``requested`` (auto, cuda or cpu).

    ``cuda_available`` defaults to what torch sees; tests pass it.
    """
    if requested not in RECURRENT_DEVICES:
        raise UserError(
            f"benchmark {name!r}: device {requested!r} is not one of "
            f"{', '.join(RECURRENT_DEVICES)} for a recurrent benchmark"
        )
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if requested == "cuda" and not cuda_available:
        raise NotApplicable(
            f'benchmark {name!r} needs a CUDA GPU (device = "cuda") but none is visible '
            "(torch.cuda.is_available() is False): run it on a GPU machine, or set "
            'device = "cpu" (or "auto") to train on the CPU'
        )
    if requested == "cpu" or not cuda_available:
        return torch.device("cpu")
    return torch.device("cuda", torch.cuda.current_device())


class ChunkClock:
    """Wall and CPU seconds summed over timed intervals, synchronised on CUDA.

    Call :meth:`start` right before a timed interval and :meth:`stop` right
    after it; whatever runs between a stop and the next start (evaluation)
    is not counted. :attr:`seconds` is the run's figure: wall seconds on
    CUDA, the thread's CPU seconds elsewhere (see the module docstring).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.wall = 0.0
        self.cpu = 0.0
        self._started: tuple[float, float] | None = None

    @property
    def on_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def seconds(self) -> float:
        """Wall seconds on CUDA, CPU seconds of the training thread elsewhere."""
        return self.wall if self.on_cuda else self.cpu

    def synchronize(self) -> None:
        """Wait for the device's queued work (nothing to wait for on the CPU)."""
        if self.on_cuda:
            torch.cuda.synchronize(self.device)

    def start(self) -> None:
        """Open a timed interval, after the work queued before it has finished."""
        self.synchronize()
        self._started = (time.perf_counter(), time.thread_time())

    def stop(self) -> None:
        """Close the interval once its work has finished on the device, and add it up."""
        if self._started is None:
            raise RuntimeError("ChunkClock.stop() without start()")
        self.synchronize()
        wall, cpu = self._started
        self.wall += time.perf_counter() - wall
        self.cpu += time.thread_time() - cpu
        self._started = None


__all__ = ["ChunkClock", "resolve_device"]
