"""How dnibench runs PyTorch's pipeline schedules as peers, and where each one applies.

A peer is named by its mode (``torch-1f1b``, ``torch-zbv``, ...); its row in
:mod:`dnibench.modes` says which ``torch.distributed.pipelining`` class runs
it, how many virtual stages each rank holds and where they go (``loop``:
rank r holds stages r, r + K, ...; ``v``: rank r holds r and 2K - 1 - r),
and the stage and microbatch rules of PyTorch's constructors, which specs
check when they are built. What is left for run time is what depends on the
installed torch: a class it lacks is recorded as ``not_applicable`` with the
reason instead of failing inside a rank.

It is plain data with no torch import at module level, so the benchmark
spec can validate modes without loading ``torch.distributed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnibench.errors import NotApplicable
from dnibench.modes import (
    Family,
    Mode,
    find_mode,
    mode_names,
    modes_of,
    split_backward_mode_names,
)


@dataclass(frozen=True)
class PeerSchedule:
    """One of PyTorch's schedules as dnibench runs it (read from its mode's row)."""

    mode: str
    class_name: str
    #: Virtual stages per rank: 1 for single-stage schedules, 2 for the looped and V ones.
    stages_per_rank: int = 1
    #: ``loop`` or ``v`` (only meaningful when ``stages_per_rank`` > 1).
    placement: str = "loop"
    #: The schedule passes a list of stages (``PipelineScheduleMulti``) rather than one.
    multi: bool = False

    @classmethod
    def of(cls, mode: Mode) -> PeerSchedule:
        assert mode.torch_class is not None, f"{mode.name} is not a peer"
        return cls(mode.name, mode.torch_class, mode.stages_per_rank, mode.placement, mode.multi)

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
    mode.name: PeerSchedule.of(mode) for mode in modes_of(Family.PEER)
}
PEER_MODES = mode_names(Family.PEER)
#: The peers whose backward is split into an input part and a weight part.
SPLIT_BACKWARD_PEERS = split_backward_mode_names(Family.PEER)


def stages_per_rank(mode: str) -> int:
    """Virtual stages one rank holds under ``mode`` (1 for anything but a looped/V peer)."""
    row = find_mode(mode)
    return row.stages_per_rank if row is not None else 1


def why_not_applicable(mode: str) -> str | None:
    """Why the installed torch cannot run the peer ``mode``, or None.

    The stage and microbatch rules of PyTorch's constructors are the mode's
    (:meth:`dnibench.modes.Mode.problem`), refused when the spec is built; a
    spec that got here passed them. What remains is whether the installed
    torch has the class at all.
    """
    peer = PEERS.get(mode)
    if peer is None:
        return None
    import torch
    from torch.distributed import pipelining

    if not hasattr(pipelining, peer.class_name):
        return f"torch {torch.__version__} has no torch.distributed.pipelining.{peer.class_name}"
    return None


def require_applicable(name: str, mode: str) -> None:
    """Raise :class:`NotApplicable` (recorded, not a failure) when torch lacks the peer."""
    reason = why_not_applicable(mode)
    if reason is not None:
        raise NotApplicable(f"{name}: {reason}")


__all__ = [
    "PEERS", "PEER_MODES", "SPLIT_BACKWARD_PEERS", "PeerSchedule", "require_applicable",
    "stages_per_rank", "why_not_applicable",
]  # fmt: skip
