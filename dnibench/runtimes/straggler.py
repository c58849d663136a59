"""The straggler knob: one stage made slower by a real delay, the same in every runtime.

A slowed stage sleeps ``slow_factor - 1`` times the duration of each forward
and backward it has just run, inside that work's span, so its compute takes
``slow_factor`` times as long while the other stages are untouched. The stage
driver (both runtimes) and the torch peers call :func:`straggle`,
and the simulator's straggler model (``dnibench.simulate``) assumes exactly
this rule.
"""

from __future__ import annotations

import time


def straggle(slow_factor: float, started_s: float) -> None:
    """Sleep ``slow_factor - 1`` times the time since ``started_s`` (``time.perf_counter``)."""
    if slow_factor > 1.0:
        time.sleep((slow_factor - 1.0) * (time.perf_counter() - started_s))
