"""Point-to-point messages between neighbouring stages, with timeouts.

Stage k talks only to k-1 (gradients go up) and k+1 (activations go down).
Every message is tagged with its global microbatch index, so a receive can be
posted long before the matching send and consumed whenever the schedule
wants it: that is what lets an unlocked stage receive deltas without
blocking. Every wait has a timeout, and the error names the stage waited on,
so a dead or hung neighbour fails the run instead of hanging it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import Tensor

TAG_SPACE = 1 << 24


class StageTimeout(RuntimeError):
    """A neighbouring stage did not deliver within the timeout (or died)."""


@dataclass
class PendingRecv:
    """A posted receive: the buffer fills when the neighbour's send arrives."""

    work: dist.Work
    buffer: Tensor
    what: str
    peer: int

    def ready(self) -> bool:
        return bool(self.work.is_completed())


class NeighbourLinks:
    """Sends and receives of stage ``rank`` in a ``world``-stage pipeline."""

    def __init__(
        self,
        rank: int,
        world: int,
        timeout_s: float,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.rank = rank
        self.world = world
        self.timeout = timedelta(seconds=timeout_s)
        self.timeout_s = timeout_s
        self.device = device
        self.dtype = dtype  # the run's precision: receive buffers match what neighbours send
        self._sends: list[dist.Work] = []

    def _send(self, tensor: Tensor, peer: int, mb: int) -> None:
        work = dist.isend(tensor.contiguous(), dst=peer, tag=mb % TAG_SPACE)
        assert work is not None  # None only for ranks outside the group, never here
        self._sends.append(work)
        self._reap()

    def _reap(self) -> None:
        self._sends = [work for work in self._sends if not work.is_completed()]

    def _recv(self, shape: tuple[int, ...], peer: int, mb: int, what: str) -> PendingRecv:
        buffer = torch.empty(shape, dtype=self.dtype, device=self.device)
        work = dist.irecv(buffer, src=peer, tag=mb % TAG_SPACE)
        assert work is not None  # None only for ranks outside the group, never here
        return PendingRecv(work=work, buffer=buffer, what=what, peer=peer)

    def send_activation(self, tensor: Tensor, mb: int) -> None:
        """Send h_k(mb) to stage k+1."""
        self._send(tensor, self.rank + 1, mb)

    def send_gradient(self, tensor: Tensor, mb: int) -> None:
        """Send dL/dh_{k-1}(mb) to stage k-1."""
        self._send(tensor, self.rank - 1, mb)

    def recv_activation(self, shape: tuple[int, ...], mb: int) -> PendingRecv:
        """Post the receive of h_{k-1}(mb) from stage k-1."""
        return self._recv(shape, self.rank - 1, mb, f"the activation of microbatch {mb}")

    def recv_gradient(self, shape: tuple[int, ...], mb: int) -> PendingRecv:
        """Post the receive of dL/dh_k(mb) from stage k+1."""
        return self._recv(shape, self.rank + 1, mb, f"the gradient of microbatch {mb}")

    def wait(self, pending: PendingRecv) -> Tensor:
        """Block until ``pending`` arrives; :class:`StageTimeout` names the late stage."""
        try:
            pending.work.wait(self.timeout)
        except Exception as err:  # gloo raises RuntimeError subclasses, nccl others
            raise StageTimeout(
                f"stage {self.rank} did not get {pending.what} from stage {pending.peer} "
                f"(waited up to {self.timeout_s:g} s; stage {pending.peer} died, hung or "
                f"raised): {err}"
            ) from err
        return pending.buffer

    def flush(self) -> None:
        """Wait for every send still in flight (end of a run)."""
        for work in self._sends:
            try:
                work.wait(self.timeout)
            except Exception as err:
                raise StageTimeout(
                    f"stage {self.rank}: a send did not complete within {self.timeout_s:g} s: {err}"
                ) from err
        self._sends.clear()
