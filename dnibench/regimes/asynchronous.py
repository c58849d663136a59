"""The rules of the asynchronous modes, as plain data (no torch).

An asynchronous pipeline never flushes: each stage keeps its own run of
forwards and backwards going across step boundaries, so a microbatch's
forward may see weights that later updates have already replaced. What
separates PipeDream, PipeDream-2BW and PipeMare is which *weight version*
each microbatch's forward and backward use, and when the optimiser runs;
DGL removes the backward's cross-stage dependency instead, with a local loss
per stage. The mode table (:mod:`dnibench.modes`) gives each asynchronous
mode one :class:`AsyncRule`; the stages (:mod:`dnibench.regimes.async_stages`)
read it, and docs/async.md states it in words.

Vocabulary: a stage's *weight version* v is its parameters after v
optimiser updates (version 0 is the initialisation). The *weight delay* of
an update is the number of versions between the one a gradient was computed
on and the one it is applied to. It is not ``staleness``, which is DNI's
bound on microbatches awaiting their delta.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Versions(enum.Enum):
    """Which weight version a microbatch's forward uses, and whether its backward uses it too."""

    #: PipeDream: the forward uses the live version; the backward the same one, stashed.
    STASHED = "forward on the live version, backward on the same version (stashed)"
    #: PipeDream-2BW: every microbatch of step s runs forward and backward on version s - 1
    #: (version 0 for step 0), so an update applies a gradient one version old.
    PREVIOUS_STEP = "forward and backward on the version before the current step's (two buffers)"
    #: PipeMare: the forward uses the live version; the backward whatever is live then (no stash).
    UNSTASHED = "forward on the live version, backward on the live version at backward time"
    #: DGL: synchronous, every stage updates once a step on its own local loss.
    LOCAL = "synchronous: the live version throughout the step (local losses)"


@dataclass(frozen=True)
class AsyncRule:
    """What an asynchronous mode does differently from an exact schedule.

    - ``versions``: the weight versions each microbatch uses (:class:`Versions`).
    - ``update_every_microbatch``: the optimiser runs after every backward, so
      its batch is the microbatch; the learning rate is then divided by the
      microbatches per step m and each microbatch's loss is not scaled (a
      step's m updates move SGD weights as far as one flushing step's).
      Otherwise gradients accumulate over the step's m microbatches (losses
      scaled by 1/m) and the learning rate is the flushing schedules' own.
    - ``pipemare``: PipeMare's learning-rate rescheduling and discrepancy
      correction (Yang et al., MLSys 2021) are on.
    - ``local_loss``: every stage but the last trains on an auxiliary head's
      loss and sends no gradient upstream (DGL, Belilovsky et al., ICML 2020).
    """

    versions: Versions
    update_every_microbatch: bool
    pipemare: bool = False
    local_loss: bool = False

    def loss_scale(self, microbatches: int) -> float:
        """What each microbatch's loss is multiplied by: 1 per-microbatch, else 1/m."""
        return 1.0 if self.update_every_microbatch else 1.0 / microbatches

    @property
    def stashes(self) -> bool:
        """Whether a stage keeps old weight versions (a version store with stashed bytes)."""
        return self.versions in (Versions.STASHED, Versions.PREVIOUS_STEP)


#: PipeMare (Yang et al., "PipeMare: Asynchronous Pipeline Parallel DNN Training", MLSys 2021),
#: as implemented here (docs/async.md): learning-rate rescheduling gives a stage of weight delay
#: tau the rate lr * (tau + 1) ** -(1 - min(t / T, 1)) at its update t, T = PIPEMARE_WARMUP_UPDATES
#: (lr / (tau + 1) at first, lr from update T on); the discrepancy correction's velocity (a moving
#: average of the stage's weight steps) decays by gamma = PIPEMARE_DECAY ** (1 / (tau + 1)).
PIPEMARE_WARMUP_UPDATES = 100
PIPEMARE_DECAY = 0.1


def stage_delay(stage: int, num_stages: int) -> int:
    """The weight delay of stage ``stage`` (0-based) under per-microbatch 1F1B: K - k - 1.

    Stage k runs K - k - 1 warm-up forwards, so the microbatch whose gradient
    it applies at its i-th update was forwarded on version i - (K - k - 1).
    """
    return num_stages - stage - 1


__all__ = ["PIPEMARE_DECAY", "PIPEMARE_WARMUP_UPDATES", "AsyncRule", "Versions", "stage_delay"]
