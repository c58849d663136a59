"""Real CUDA streams and timing events behind the engine's stream interface.

Only APIs present from torch 2.11 through 2.13 are used:
``torch.cuda.Stream``, ``torch.cuda.Event(enable_timing=True)``,
``Event.record`` / ``Stream.wait_event`` for cross-stream order,
``Tensor.record_stream`` for memory used on a stream other than the one it
was allocated on, and the ``torch.cuda.stream`` context (thread-local, so
each stage thread has its own current stream). Nothing here runs at import,
so the module imports on a machine without CUDA.

Span times: every event is recorded with timing enabled and converted, after
the run, to the host clock through one origin event per device
(:class:`CudaTimebase`): ``t = host_origin_ns + elapsed_time(origin, event)``.
Events of different devices cannot be compared directly, hence one origin
each, all taken right after a full synchronise.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from dnibench.runtimes.streams.stream import StreamEvent, StreamOrderError


@dataclass(frozen=True)
class CudaEvent:
    """A recorded timing event and the device it lives on."""

    raw: torch.cuda.Event
    device_index: int

    def query(self) -> bool:
        return bool(self.raw.query())


class CudaStream:
    """One stage's CUDA stream on ``device``."""

    executes_inline = False

    def __init__(self, name: str, device: torch.device) -> None:
        if device.type != "cuda":
            raise ValueError(f"CudaStream needs a CUDA device, got {device}")
        self.name = name
        self.device = device
        self.index = device.index if device.index is not None else torch.cuda.current_device()
        self.raw = torch.cuda.Stream(device=self.index)

    @contextlib.contextmanager
    def activate(self) -> Iterator[None]:
        with torch.cuda.device(self.index), torch.cuda.stream(self.raw):
            yield

    def record(self) -> CudaEvent:
        event = torch.cuda.Event(enable_timing=True)
        event.record(self.raw)
        return CudaEvent(event, self.index)

    def wait(self, event: StreamEvent) -> None:
        if not isinstance(event, CudaEvent):
            raise StreamOrderError(
                f"stream {self.name}: cannot wait on {type(event).__name__}, not a CUDA event"
            )
        self.raw.wait_event(event.raw)

    def adopt(self, tensor: Tensor) -> None:
        if tensor.is_cuda:
            tensor.record_stream(self.raw)

    def synchronize(self) -> None:
        self.raw.synchronize()


class CudaTimebase:
    """Host times of CUDA events, through one origin event per device."""

    def __init__(self, device_indices: Sequence[int]) -> None:
        self._origins: dict[int, tuple[torch.cuda.Event, int]] = {}
        for index in sorted(set(device_indices)):
            torch.cuda.synchronize(index)
            origin = torch.cuda.Event(enable_timing=True)
            origin.record(torch.cuda.current_stream(index))
            origin.synchronize()
            self._origins[index] = (origin, time.perf_counter_ns())

    def ns(self, event: StreamEvent) -> int:
        if not isinstance(event, CudaEvent):
            raise StreamOrderError(f"{event!r} is not a CUDA event")
        origin, host_ns = self._origins[event.device_index]
        return host_ns + round(origin.elapsed_time(event.raw) * 1e6)
