"""Exact evaluation under asynchrony: each stage's parameters, copied on a fixed sample grid.

A pipeline's stages do not stand at the same point of training at the same
moment: under 1F1B the last stage has applied step s while the first is
still on its backward, and under DNI, cDNI or complete unlock a stage runs
ahead of the gradients its neighbours will send. Pausing the pipeline to
evaluate "the model now" would therefore evaluate a model that never
existed, and would change the schedule being measured. Instead every stage
copies its own parameters (and buffers) right after the update that
consumes sample N, for N on a grid fixed before the run (:func:`eval_points`);
the copies of one N, from every stage, are the model after N samples, and
are composed and evaluated after the run, off the clock
(:mod:`~dnibench.runtimes.snapshot_eval`).

The asynchronous modes need nothing more: the driver reports every update
with the number of backwards done so far, so pipedream and pipemare, which
update after every microbatch, copy at the first update whose microbatches
reach N (one copy per grid point, however many updates a step holds), and
pipedream-2bw and dgl, which update once a step, copy as the exact schedules do.

The copy itself happens on the stage's loop, so its time is taken out of the
stage's clocks: a snapshot's ``wall_s`` and ``cpu_s`` are the stage's elapsed
wall and CPU seconds since the run started minus the time its own earlier
copies took (``copy_s`` records each copy's duration, so a report can show
how small the correction is). A copy on one stage can still delay a
neighbour that waits on it; that delay is not removed, and is at most the
sum of the other stages' ``copy_s``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from torch import Tensor

from dnibench.instrument import cpu_times
from dnibench.modes import Family
from dnibench.regimes.stage import Stage
from dnibench.runtimes.peer_schedules import PEERS
from dnibench.runtimes.spec import BenchSpec


@dataclass(frozen=True)
class StageSnapshot:
    """One stage's parameters and buffers after the update that consumed ``samples`` samples."""

    stage: int
    """The (virtual) stage index in the pipeline."""
    rank: int
    samples: int
    state: dict[str, Tensor]
    wall_s: float
    """The stage's wall seconds since the run started, its own earlier copies removed."""
    cpu_s: float
    """Its process's CPU seconds since the run started, its own earlier copies removed."""
    copy_s: float
    """Wall seconds this copy took."""


def eval_points(eval_every: int, steps: int, batch_size: int) -> list[int]:
    """The sample grid: every ``eval_every``-th step's end, and the last step's (``train``'s)."""
    if eval_every < 1:
        return []
    ends = [step for step in range(1, steps + 1) if step % eval_every == 0 or step == steps]
    return [step * batch_size for step in ends]


class SnapshotTaker:
    """Copies ``stages``' parameters when an update crosses the next grid point.

    Call :meth:`start` when the timed run starts and :meth:`after_update`
    with the number of microbatches whose gradients the stages' optimisers
    have consumed, right after each update.
    """

    def __init__(
        self,
        points: Sequence[int],
        microbatch_size: int,
        stages: Sequence[tuple[int, Stage]],
        rank: int,
    ) -> None:
        self.points = sorted(points)
        self.microbatch_size = microbatch_size
        self.stages = list(stages)
        self.rank = rank
        self.snapshots: list[StageSnapshot] = []
        self._next = 0
        self._wall0 = time.perf_counter()
        self._cpu0 = cpu_times()
        self._copy_wall = 0.0
        self._copy_cpu = 0.0

    def start(self) -> None:
        """The run's clock starts now."""
        self._wall0 = time.perf_counter()
        self._cpu0 = cpu_times()
        self._copy_wall = self._copy_cpu = 0.0

    def after_update(self, microbatches_done: int) -> None:
        """Snapshot every grid point that this update reaches (normally at most one)."""
        samples = microbatches_done * self.microbatch_size
        while self._next < len(self.points) and samples >= self.points[self._next]:
            self._take(self.points[self._next])
            self._next += 1

    def _take(self, point: int) -> None:
        wall, cpu = time.perf_counter(), cpu_times()
        elapsed_wall = wall - self._wall0 - self._copy_wall
        elapsed_cpu = cpu - self._cpu0 - self._copy_cpu
        states = [
            (index, {k: v.detach().cpu().clone() for k, v in stage.module.state_dict().items()})
            for index, stage in self.stages
        ]
        copy_wall = time.perf_counter() - wall
        self._copy_wall += copy_wall
        self._copy_cpu += cpu_times() - cpu
        for index, state in states:
            self.snapshots.append(
                StageSnapshot(
                    stage=index,
                    rank=self.rank,
                    samples=point,
                    state=state,
                    wall_s=elapsed_wall,
                    cpu_s=elapsed_cpu,
                    copy_s=copy_wall,
                )
            )


def snapshot_taker(
    spec: BenchSpec, stages: Sequence[Stage], rank: int, world: int
) -> SnapshotTaker | None:
    """The snapshots of ``rank``'s (virtual) stages when ``spec.eval_every`` asks, else None."""
    points = eval_points(spec.eval_every, spec.steps, spec.batch_size)
    if not points:
        return None
    indices = [rank]
    if spec.mode_row.family is Family.PEER:
        indices = list(PEERS[spec.mode].local_stages(rank, world))
    own = [(index, stages[index]) for index in indices]
    return SnapshotTaker(points, spec.microbatch_size, own, rank)


__all__ = ["SnapshotTaker", "StageSnapshot", "eval_points", "snapshot_taker"]
