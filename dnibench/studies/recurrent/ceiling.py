"""The SG ceiling: the best any linear synthetic gradient could do, refitted at each checkpoint.

A learned SG's cosine near 0 cannot tell a useless SG from an unpredictable
target: even the ideal E[g | s] has a small cosine with one realised future.
The ceiling measures how predictable the target is. During training,
:class:`BoundaryStates` keeps recent chunk-boundary states of the training
streams (calibration windows); at every checkpoint their realised future
gradient is computed with the current core, exactly as the probe computes it
(:func:`sg_quality.true_gradient`: the per-example gradient of the next
``HORIZON`` characters' losses, discounted per chunk), a ridge regression
from state to that gradient is fitted on them (alpha by cross-validation,
:mod:`ridge`), and it is scored on held-out windows of the valid split,
reached the way the probe reaches them. The learned SG is scored on the same
held-out windows with the same target, so the two R^2 sit side by side.

Both are computed at the run's bootstrap discount gamma (what M is trained
towards) and the ceiling also at gamma = 1 (the undiscounted future).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import torch
from torch import Tensor

from dnibench.studies.recurrent.core import LSTMCore, State
from dnibench.studies.recurrent.ridge import mean_cosine, r2, ridge_score
from dnibench.studies.recurrent.sg_quality import (
    WARMUP,
    Predict,
    horizon_chunks,
    probe_length,
    probe_windows,
    true_gradient,
)

CALIBRATION_ROWS = 1024
HELD_OUT_WINDOWS = 256


@dataclass(frozen=True)
class CeilingPoint:
    """Held-out R^2 and cosine of the learned SG and of the ridge ceiling (NaN: not measured)."""

    learned_r2: float
    learned_cosine: float
    ceiling_r2: float
    ceiling_cosine: float
    undiscounted_r2: float
    undiscounted_cosine: float
    alpha: float = math.nan

    @classmethod
    def missing(cls) -> CeilingPoint:
        return cls(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)


class BoundaryStates:
    """Recent boundary states of the training streams and where each was met.

    ``observe`` is called once per trained chunk with the state the next chunk
    starts from; every ``stride``-th call keeps the batch's states (detached
    copies), the newest ``capacity`` rows in all, when the streams hold the
    next ``horizon`` characters after that point.
    """

    def __init__(self, streams: Tensor, truncation: int, capacity: int, stride: int) -> None:
        self.streams = streams
        self.truncation = truncation
        self.horizon = horizon_chunks(truncation) * truncation
        self.stride = max(1, stride)
        self._kept: deque[tuple[Tensor, int]] = deque(maxlen=max(1, capacity // streams.shape[0]))
        self._calls = 0

    @classmethod
    def for_run(
        cls, streams: Tensor, truncation: int, eval_every: int, capacity: int = CALIBRATION_ROWS
    ) -> BoundaryStates:
        """Spread ``capacity`` rows over one evaluation interval of training."""
        batch = streams.shape[0]
        chunks_per_interval = max(1, eval_every // (truncation * batch))
        blocks = max(1, capacity // batch)
        return cls(streams, truncation, capacity, chunks_per_interval // blocks)

    def observe(self, core: LSTMCore, state: State | None, position: int) -> None:
        """Keep ``state`` (met at ``position`` of every stream) on every ``stride``-th call."""
        self._calls += 1
        if state is None or self._calls % self.stride:
            return
        if position + self.horizon + 1 > self.streams.shape[1]:
            return
        self._kept.append((core.join(state).detach().clone(), position))

    @property
    def rows(self) -> int:
        return sum(vector.shape[0] for vector, _ in self._kept)

    def windows(self) -> tuple[Tensor, Tensor, Tensor]:
        """States (N, d), the next ``horizon`` inputs and targets (N, horizon) of every row kept."""
        states, inputs, targets = [], [], []
        for vector, position in self._kept:
            states.append(vector)
            inputs.append(self.streams[:, position : position + self.horizon])
            targets.append(self.streams[:, position + 1 : position + self.horizon + 1])
        return torch.cat(states), torch.cat(inputs), torch.cat(targets)


def sg_ceiling(
    core: LSTMCore,
    predict: Predict,
    boundary: BoundaryStates,
    held_ids: Tensor,
    gamma: float,
    windows: int = HELD_OUT_WINDOWS,
) -> CeilingPoint:
    """The learned SG and the ridge ceiling on held-out windows of ``held_ids`` (see module)."""
    truncation = boundary.truncation
    length = probe_length(truncation)
    if boundary.rows == 0 or held_ids.numel() <= length + windows:
        return CeilingPoint.missing()
    rows = probe_windows(held_ids, length, windows)
    held_inputs, held_targets = rows[:, WARMUP:-1], rows[:, WARMUP + 1 :]
    calibration, inputs, targets = boundary.windows()
    was_training = core.training
    core.eval()
    try:
        with torch.no_grad():
            held = core.join(core(rows[:, :WARMUP], None)[1])
            learned = predict(held)
        fits = {}
        for discount in {gamma, 1.0}:
            y_cal = true_gradient(core, inputs, targets, calibration, truncation, discount)
            y_held = true_gradient(core, held_inputs, held_targets, held, truncation, discount)
            fits[discount] = (ridge_score(calibration, y_cal, held, y_held), y_held)
    finally:
        core.train(was_training)
    score, y_held = fits[gamma]
    undiscounted = fits[1.0][0]
    return CeilingPoint(
        learned_r2=r2(learned, y_held),
        learned_cosine=mean_cosine(learned, y_held),
        ceiling_r2=score.r2,
        ceiling_cosine=score.cosine,
        undiscounted_r2=undiscounted.r2,
        undiscounted_cosine=undiscounted.cosine,
        alpha=score.alpha,
    )


__all__ = [
    "CALIBRATION_ROWS",
    "HELD_OUT_WINDOWS",
    "BoundaryStates",
    "CeilingPoint",
    "sg_ceiling",
]
