"""Where a learning curve first reaches a target: what "characters to target" means.

Shared by the runs (a suite's ``target_bpc``) and the rnn report (tbptt-40's
best validation BPC), so both read a curve the same way. Torch-free, so the
report does not load torch to read a run directory.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence


def first_crossing(
    points: Sequence[tuple[float, float, float]], target: float
) -> tuple[float, float]:
    """(characters, seconds) where the BPC of ``(chars, seconds, bpc)`` points first reaches
    ``target``, interpolated linearly inside the interval of the crossing, so the figure
    does not snap to the evaluation grid; NaN if it never does."""
    for before, point in itertools.pairwise(points):
        if point[2] <= target:
            if before[2] <= target:
                return float(before[0]), float(before[1])
            share = (before[2] - target) / (before[2] - point[2])
            return (
                float(before[0] + share * (point[0] - before[0])),
                float(before[1] + share * (point[1] - before[1])),
            )
    return math.nan, math.nan


__all__ = ["first_crossing"]
