"""When a learning curve first reaches a target: the one reading of "samples (seconds) to target".

The first evaluation at which the metric meets the target, with no
interpolation between evaluations, as MLPerf's time-to-train rule reads it:
the run has reached the target only when an evaluation says so. The figure
therefore moves in steps of the evaluation interval, and a benchmark that
wants a finer figure evaluates more often.

Every reader uses this function: the training and recurrent benchmarks when
they write ``samples_to_target`` and ``seconds_to_target`` into results.csv,
and the reports when they read the same figure off a learning curve, so a
results row and a report cell never disagree. Torch-free and import-free, so
the reports can use it without loading torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def first_reach(
    points: Iterable[tuple[float, float, float]], target: float, *, higher_is_better: bool
) -> tuple[float, float]:
    """(samples, seconds) of the first ``(samples, seconds, metric)`` point whose metric meets
    ``target`` (at least it when ``higher_is_better``, at most it otherwise); NaN, NaN if
    none does. Points are taken in evaluation order; a NaN metric never meets a target."""
    for samples, seconds, metric in points:
        reached = metric >= target if higher_is_better else metric <= target
        if reached:
            return float(samples), float(seconds)
    return math.nan, math.nan


__all__ = ["first_reach"]
