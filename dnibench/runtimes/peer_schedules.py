"""Which of PyTorch's pipeline schedules dnibench runs as peers, and where each one applies.

A peer is named by its mode (``torch-1f1b``, ``torch-zbv``, ...). This table
says which ``torch.distributed.pipelining`` class runs it, how many virtual
stages each rank holds and where they go (``loop``: rank r holds stages r,
r + K, ...; ``v``: rank r holds r and 2K - 1 - r), and what PyTorch's own
constructors refuse. Those refusals are checked here, before any process
starts, so a combination a schedule cannot run is recorded as
``not_applicable`` with PyTorch's reason instead of failing inside a rank.

It is plain data with no torch import at module level, so the benchmark
spec can validate modes without loading ``torch.distributed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnibench.errors import NotApplicable


@dataclass(frozen=True)
class PeerSchedule:
    """One of PyTorch's schedules as dnibench runs it."""

    mode: str
    class_name: str
    #: Virtual stages per rank: 1 for single-stage schedules, 2 for the looped and V ones.
    stages_per_rank: int = 1
    #: ``loop`` or ``v`` (only meaningful when ``stages_per_rank`` > 1).
    placement: str = "loop"
    #: The schedule passes a list of stages (``PipelineScheduleMulti``) rather than one.
    multi: bool = False
    #: PyTorch's constructor refuses fewer microbatches than (virtual) stages.
    needs_m_at_least_stages: bool = False

    def virtual_stages(self, ranks: int) -> int:
        return ranks * self.stages_per_rank

    def local_stages(self, rank: int, ranks: int) -> list[int]:
        """The global indices of the virtual stages ``rank`` holds, in execution order."""
        if self.stages_per_rank == 1:
            return [rank]
        if self.placement == "v":
            return [rank, 2 * ranks - 1 - rank]
        return [rank + j * ranks for j in range(self.stages_per_rank)]


PEERS: dict[str, PeerSchedule] = {
    peer.mode: peer
    for peer in (
        PeerSchedule("torch-gpipe", "ScheduleGPipe"),
        PeerSchedule("torch-1f1b", "Schedule1F1B", needs_m_at_least_stages=True),
        # ScheduleInterleavedZeroBubble (ZB1P) with one stage per rank: the peer of dnibench's zb.
        PeerSchedule("torch-zb", "ScheduleInterleavedZeroBubble", multi=True),
        PeerSchedule("torch-interleaved-1f1b", "ScheduleInterleaved1F1B", 2, "loop", True),
        PeerSchedule("torch-looped-bfs", "ScheduleLoopedBFS", 2, "loop", True),
        PeerSchedule("torch-interleaved-zb", "ScheduleInterleavedZeroBubble", 2, "loop", True),
        PeerSchedule("torch-zbv", "ScheduleZBVZeroBubble", 2, "v", True),
        PeerSchedule("torch-dualpipev", "ScheduleDualPipeV", 2, "v", True, True),
    )
}
PEER_MODES = tuple(PEERS)
#: The peers whose backward is split into an input part and a weight part.
SPLIT_BACKWARD_PEERS = ("torch-zb", "torch-interleaved-zb", "torch-zbv", "torch-dualpipev")


def stages_per_rank(mode: str) -> int:
    """Virtual stages one rank holds under ``mode`` (1 for anything but a looped/V peer)."""
    peer = PEERS.get(mode)
    return peer.stages_per_rank if peer is not None else 1


def why_not_applicable(mode: str, ranks: int, microbatches: int) -> str | None:
    """PyTorch's reason for refusing ``mode`` on ``ranks`` ranks at ``microbatches``, or None.

    The rules are those of the installed torch's schedule constructors
    (``torch/distributed/pipelining/schedules.py``): a class the installed
    torch lacks; DualPipeV (and 1F1B) with fewer microbatches than stages;
    the looped schedules' rounds (``max(1, m // ranks)``) not dividing m.
    """
    peer = PEERS.get(mode)
    if peer is None:
        return None
    import torch
    from torch.distributed import pipelining

    if not hasattr(pipelining, peer.class_name):
        return f"torch {torch.__version__} has no torch.distributed.pipelining.{peer.class_name}"
    stages = peer.virtual_stages(ranks)
    if peer.needs_m_at_least_stages and microbatches < stages:
        return (
            f"{peer.class_name} needs at least as many microbatches as stages: "
            f"{microbatches} microbatches, {stages} stages"
        )
    if peer.multi:
        rounds = max(1, microbatches // ranks)
        if microbatches % rounds:
            return (
                f"{peer.class_name} needs the microbatches ({microbatches}) to be a multiple of "
                f"its rounds (max(1, m // ranks) = {rounds})"
            )
    return None


def require_applicable(name: str, mode: str, ranks: int, microbatches: int) -> None:
    """Raise :class:`NotApplicable` (recorded, not a failure) when PyTorch refuses the peer."""
    reason = why_not_applicable(mode, ranks, microbatches)
    if reason is not None:
        raise NotApplicable(f"{name}: {reason}")


__all__ = [
    "PEERS", "PEER_MODES", "SPLIT_BACKWARD_PEERS", "PeerSchedule", "require_applicable",
    "stages_per_rank", "why_not_applicable",
]  # fmt: skip
