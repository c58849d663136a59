"""Each stage's actions for a whole simulated run, compact and shared between stages.

The dist runtime repeats a backprop schedule's one-step list every step and
builds an unlocked schedule over all ``steps * m`` microbatches (so deltas
may stay outstanding across a step boundary); :func:`run_programs` does the
same, from the schedule builders of :mod:`dnibench.modes`, so the simulator runs
exactly the lists the runtime runs.

Building every stage's list for K = 1024 would cost more than simulating
it. Most stages share a list: every stage of ``sequential`` and ``gpipe``;
all but the first and last of an unlocked schedule; every 1F1B stage whose
warm-up is the full m (the same for ZB-H1). So a small schedule with one stage per distinct list
is built and each stage points at its list; the tests check the mapping
against the full schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

from dnibench.errors import unknown_name
from dnibench.modes import Mode, StageLists, find_mode, simulated_mode_names
from dnibench.schedules import Op, Schedule

__all__ = [
    "OP_B", "OP_D", "OP_F", "OP_G", "OP_I", "OP_L", "OP_S", "OP_U", "OP_W", "RunPrograms",
    "run_programs",
]  # fmt: skip

OP_F, OP_B, OP_S, OP_G, OP_I, OP_U, OP_D, OP_W, OP_L = range(9)
_CODE = {
    Op.FORWARD: OP_F,
    Op.BACKWARD: OP_B,
    Op.SYNTH_BACKWARD: OP_S,
    Op.SG_UPDATE: OP_G,
    Op.SI_UPDATE: OP_I,
    Op.UPDATE: OP_U,
    Op.BACKWARD_INPUT: OP_D,
    Op.BACKWARD_WEIGHT: OP_W,
    Op.LOCAL_BACKWARD: OP_L,
}


@dataclass(frozen=True)
class RunPrograms:
    """Per-stage action streams of a run, as (op codes, microbatches) pairs of lists.

    ``lists[stage_list[k]]`` is stage k's stream; the op codes are
    ``OP_F`` .. ``OP_U``; microbatch ids are global across steps (-1 for U).
    """

    name: str
    num_stages: int
    microbatches: int
    steps: int
    forward_locked: bool
    unlocked: bool
    lists: tuple[tuple[list[int], list[int]], ...]
    stage_list: tuple[int, ...]

    def stream(self, k: int) -> list[tuple[int, int]]:
        """Stage ``k``'s (op, mb) pairs (for tests and small runs)."""
        ops, mbs = self.lists[self.stage_list[k]]
        return list(zip(ops, mbs, strict=True))


def _encode(actions: tuple, offset: int = 0) -> tuple[list[int], list[int]]:
    ops = [_CODE[a.op] for a in actions]
    mbs = [-1 if a.mb is None else a.mb + offset for a in actions]
    return ops, mbs


def _repeat(one_step: tuple, microbatches: int, steps: int) -> tuple[list[int], list[int]]:
    """A backprop step's list repeated ``steps`` times, microbatch ids made global."""
    ops: list[int] = []
    mbs: list[int] = []
    for step in range(steps):
        step_ops, step_mbs = _encode(one_step, step * microbatches)
        ops += step_ops
        mbs += step_mbs
    return ops, mbs


def _representative(
    mode: Mode, num_stages: int, microbatches: int, steps: int, staleness: int, update_every: int
) -> tuple[Schedule, list[int]]:
    """A small schedule holding every distinct stage list, and each stage's index into it."""
    K, m = num_stages, microbatches
    if mode.asynchronous is not None:
        # No flush: lists span the run; stage k warms up with min(steps * m, K-k-1) forwards.
        small = 1 if mode.stage_lists is StageLists.SAME else min(K, steps * m + 1)
        schedule = mode.build_schedule(small, m, steps=steps)
        return schedule, [max(0, k - (K - small)) for k in range(K)]
    if mode.stage_lists is StageLists.ENDS:
        small = min(K, 3)
        schedule = mode.build_schedule(small, steps * m, staleness, update_every)
        mapping = [0 if k == 0 else small - 1 if k == K - 1 else 1 for k in range(K)]
        return schedule, mapping
    if mode.stage_lists is StageLists.WARMUP:
        # Stage k warms up with min(m, K-k-1) forwards: stages far from the end share m.
        # ZB-H1 also defers min(k, m - warm-up) weight passes, which the small schedule's
        # stage k - (K - small) matches, having the same warm-up and m - warm-up <= k.
        small = min(K, m + 1)
        return mode.build_schedule(small, m), [max(0, k - (K - small)) for k in range(K)]
    return mode.build_schedule(1, m), [0] * K


def run_programs(
    name: str,
    num_stages: int,
    microbatches: int,
    steps: int,
    *,
    staleness: int = 0,
    update_every: int | None = None,
) -> RunPrograms:
    """The action streams the dist runtime would execute for this run.

    ``update_every`` (unlocked schedules) defaults to ``microbatches``: one
    optimiser step per training step, the runtime's default.
    """
    mode = find_mode(name)
    if mode is None or not mode.simulated:
        raise unknown_name("schedule", name, simulated_mode_names())
    if steps < 1:
        raise ValueError(f"a run needs at least one step, got {steps}")
    every = microbatches if update_every is None else update_every
    schedule, mapping = _representative(mode, num_stages, microbatches, steps, staleness, every)
    if mode.unlocked or mode.asynchronous is not None:  # already the whole run's lists
        lists = tuple(_encode(schedule.stage_actions(j)) for j in range(schedule.num_stages))
    else:
        lists = tuple(
            _repeat(schedule.stage_actions(j), microbatches, steps)
            for j in range(schedule.num_stages)
        )
    return RunPrograms(
        name=name,
        num_stages=num_stages,
        microbatches=microbatches,
        steps=steps,
        forward_locked=schedule.forward_locked,
        unlocked=mode.unlocked,
        lists=lists,
        stage_list=tuple(mapping),
    )
