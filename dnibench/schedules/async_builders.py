"""Schedules of the asynchronous modes: 1F1B that never flushes, over a whole run.

An exact schedule flushes at every step: the last backward of a step ends
before the next step's first forward, so every microbatch of a step sees the
same weights. The asynchronous modes drop the flush. Their schedule is
therefore built over ``steps`` steps of ``microbatches`` each at once (a
stage's list runs from the run's first forward to its last update), with
microbatch ids global across steps; only the end of the run drains.

Every stage runs 1F1B (Narayanan et al., PipeDream, SOSP 2019): ``K - k - 1``
warm-up forwards, then one forward and one backward in turn, then the drain.
What differs between the modes is when ``U`` comes, and which weight version
a microbatch uses (the stage's business: :mod:`dnibench.regimes.asynchronous`):

- after every backward (PipeDream, PipeMare): the optimiser's batch is the
  microbatch;
- after the last backward of every step (PipeDream-2BW): gradients of a
  step's m microbatches accumulate into one update.

With K = 3 and m = 2 (two steps), PipeDream's stage lists read::

    stage 0: F0 F1 F2 B0 U F3 B1 U B2 U B3 U
    stage 1: F0 F1 B0 U F2 B1 U F3 B2 U B3 U
    stage 2: F0 B0 U F1 B1 U F2 B2 U F3 B3 U

Every builder's output passes :func:`dnibench.schedules.validate.validate`.
"""

from __future__ import annotations

from dnibench.schedules.actions import Action, Op, Schedule
from dnibench.schedules.builders import check_sizes

_U = Action(Op.UPDATE)


def _one_f_one_b_no_flush(
    name: str, num_stages: int, microbatches: int, steps: int, update_every: int
) -> Schedule:
    """1F1B over ``steps * microbatches`` microbatches, ``U`` after every ``update_every``-th B."""
    check_sizes(num_stages, microbatches)
    if steps < 1:
        raise ValueError(f"an asynchronous schedule needs at least one step, got {steps}")
    total = steps * microbatches
    stages: list[list[Action]] = []
    for k in range(num_stages):
        warmup = min(total, num_stages - k - 1)
        stage = [Action(Op.FORWARD, i) for i in range(warmup)]

        def backward(j: int, stage: list[Action] = stage) -> None:
            stage.append(Action(Op.BACKWARD, j))
            if (j + 1) % update_every == 0:
                stage.append(_U)

        for j in range(total - warmup):
            stage.append(Action(Op.FORWARD, warmup + j))
            backward(j)
        for j in range(total - warmup, total):
            backward(j)
        stages.append(stage)
    return Schedule(
        name=name,
        num_stages=num_stages,
        microbatches=total,
        actions=tuple(tuple(stage) for stage in stages),
        forward_locked=True,
        staleness=None,
    )


def pipedream(num_stages: int, microbatches: int, steps: int = 1) -> Schedule:
    """PipeDream: 1F1B with no flush, an update after every backward."""
    return _one_f_one_b_no_flush("PipeDream", num_stages, microbatches, steps, 1)


def pipedream_2bw(num_stages: int, microbatches: int, steps: int = 1) -> Schedule:
    """PipeDream-2BW: 1F1B with no flush, an update after each step's last backward."""
    return _one_f_one_b_no_flush("PipeDream-2BW", num_stages, microbatches, steps, microbatches)


def pipemare(num_stages: int, microbatches: int, steps: int = 1) -> Schedule:
    """PipeMare: PipeDream's order (update after every backward); no stash is the stage's rule."""
    return _one_f_one_b_no_flush("PipeMare", num_stages, microbatches, steps, 1)


def dgl(num_stages: int, microbatches: int, steps: int = 1) -> Schedule:
    """Synchronous DGL: every stage runs ``F i L i`` and updates after each step's last.

    ``L`` is the backward of the stage's own loss: it waits for nothing and
    sends nothing, so only the forward lock is left. Stage k's forward of
    step s still needs stage k-1's, which ran on stage k-1's version s: the
    result does not depend on how far the stages drift apart in time.
    """
    check_sizes(num_stages, microbatches)
    if steps < 1:
        raise ValueError(f"an asynchronous schedule needs at least one step, got {steps}")
    stage: list[Action] = []
    for i in range(steps * microbatches):
        stage += [Action(Op.FORWARD, i), Action(Op.LOCAL_BACKWARD, i)]
        if (i + 1) % microbatches == 0:
            stage.append(_U)
    return Schedule(
        name="DGL",
        num_stages=num_stages,
        microbatches=steps * microbatches,
        actions=tuple(tuple(stage) for _ in range(num_stages)),
        forward_locked=True,
        staleness=None,
    )


__all__ = ["dgl", "pipedream", "pipedream_2bw", "pipemare"]
