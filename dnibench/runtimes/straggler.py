"""The straggler knob: one stage made slower by a real delay, the same in every runtime.

A slowed stage sleeps ``slow_factor - 1`` times the duration of each forward
and backward it has just run, inside that work's span, so its compute takes
``slow_factor`` times as long while the other stages are untouched. The stage
driver (both runtimes) and the torch peers call :func:`straggle`,
and the simulator's straggler model (``dnibench.simulate``) assumes exactly
this rule. Which stage is slowed, and by how much, is :func:`slow_factor_of`,
the one selection every runtime makes from a spec's ``slow_stage`` and
``slow_factor``.
"""

from __future__ import annotations

import time


def slow_factor_of(slow_stage: int | None, slow_factor: float, stage: int) -> float:
    """The factor ``stage`` is slowed by when ``slow_stage`` is the straggler (1: not slowed)."""
    return slow_factor if slow_stage == stage else 1.0


def straggle(slow_factor: float, started_s: float) -> None:
    """Sleep ``slow_factor - 1`` times the time since ``started_s`` (``time.perf_counter``)."""
    if slow_factor > 1.0:
        time.sleep((slow_factor - 1.0) * (time.perf_counter() - started_s))


__all__ = ["slow_factor_of", "straggle"]
