"""Idealised timing of a schedule: when each action would run, drawn as ASCII.

With per-op costs and free communication, a schedule's timeline is fixed by
its action lists and dependency rules alone. That gives the textbook numbers
(GPipe's bubble (K-1)/(m+K-1), 1F1B's activation bound) as checkable facts,
and a picture of each schedule for docs and tests, before any measurement.
"""

from __future__ import annotations

from collections.abc import Mapping

from dnibench.schedules.actions import Action, Op, Schedule
from dnibench.schedules.validate import execution_order

DEFAULT_COSTS: dict[Op, float] = {
    Op.FORWARD: 1.0,
    Op.BACKWARD: 2.0,
    Op.SYNTH_BACKWARD: 1.0,
    Op.SG_UPDATE: 0.0,
    Op.SI_UPDATE: 0.0,
    Op.UPDATE: 0.0,
    Op.BACKWARD_INPUT: 1.0,
    Op.BACKWARD_WEIGHT: 1.0,
    Op.LOCAL_BACKWARD: 2.0,
}
"""A backward costs about two forwards (gradients for inputs and weights); a
synthetic backward skips the downstream wait but here costs one forward, and
the small SG/SI regressions and the optimiser step are taken as free. The
two halves of a split backward (D, W) cost one forward each, so D + W = B, as
in the zero-bubble paper's idealised model."""

Timeline = list[list[tuple[Action, float, float]]]


def _costs(costs: Mapping[Op, float] | None) -> dict[Op, float]:
    merged = dict(DEFAULT_COSTS)
    if costs:
        merged.update(costs)
    for op, cost in merged.items():
        if cost < 0:
            raise ValueError(f"cost of {op.value} must be >= 0, got {cost}")
    return merged


def simulate(schedule: Schedule, costs: Mapping[Op, float] | None = None) -> Timeline:
    """Per stage, ``(action, start, end)`` in list order, under ``costs``.

    ``costs`` overrides :data:`DEFAULT_COSTS` per op. Each action starts when
    its stage is free and its cross-stage dependencies have ended; sends take
    no time. Raises :class:`~dnibench.schedules.validate.ScheduleError` on a
    deadlock.
    """
    cost = _costs(costs)
    free = [0.0] * schedule.num_stages
    ended: dict[tuple[int, Op, int | None], float] = {}
    timeline: Timeline = [[] for _ in range(schedule.num_stages)]
    # execution_order is a topological order of stage order plus dependencies,
    # so every dependency's end time is known when an action is reached.
    for k, action in execution_order(schedule):
        start = free[k]
        for dep in schedule.dependencies(k, action):
            keys = [(dep.stage, op, dep.mb) for op in dep.ops]
            start = max(start, min(ended[key] for key in keys if key in ended))
        end = start + cost[action.op]
        ended[(k, action.op, action.mb)] = end
        free[k] = end
        timeline[k].append((action, start, end))
    return timeline


def makespan(timeline: Timeline) -> float:
    """When the last action of the step ends."""
    return max((end for stage in timeline for _, _, end in stage), default=0.0)


def bubble_fraction(schedule: Schedule, costs: Mapping[Op, float] | None = None) -> float:
    """Idle share of all stages' time over the step: idle / (K * makespan)."""
    timeline = simulate(schedule, costs)
    span = makespan(timeline)
    if span == 0:
        return 0.0
    busy = sum(end - start for stage in timeline for _, start, end in stage)
    return (schedule.num_stages * span - busy) / (schedule.num_stages * span)


def peak_in_flight(schedule: Schedule) -> list[int]:
    """Per stage, the most microbatches with F done and their backward not yet done.

    That is the number of autograd graphs a stage holds at once, the
    activation-memory figure that separates 1F1B (at most K-k) from GPipe (m).
    A split backward holds its graph until W (the weight half still needs the
    saved activations), so it counts until W, not D.
    """
    peaks = []
    for stage in schedule.actions:
        live = peak = 0
        for action in stage:
            if action.op is Op.FORWARD:
                live += 1
                peak = max(peak, live)
            elif action.op in (
                Op.BACKWARD, Op.SYNTH_BACKWARD, Op.BACKWARD_WEIGHT, Op.LOCAL_BACKWARD
            ):  # fmt: skip
                live -= 1
        peaks.append(peak)
    return peaks


def render(schedule: Schedule, costs: Mapping[Op, float] | None = None) -> str:
    """ASCII timeline: one row per stage, one column per time unit, ``.`` when idle.

    An action spanning several units repeats its label in each; zero-cost
    actions take no column. Costs must give whole-unit start and end times.
    """
    timeline = simulate(schedule, costs)
    span = makespan(timeline)
    columns = round(span)
    rows: list[list[str]] = [["."] * columns for _ in timeline]
    for k, stage in enumerate(timeline):
        for action, start, end in stage:
            if start != round(start) or end != round(end):
                raise ValueError(
                    f"cannot draw {action} on stage {k} at {start}..{end}: "
                    "render needs whole-unit costs"
                )
            for t in range(round(start), round(end)):
                rows[k][t] = str(action)
    width = max((len(cell) for row in rows for cell in row), default=1)
    label = len(str(schedule.num_stages - 1))
    return "\n".join(
        f"stage {k:>{label}}: " + " ".join(cell.ljust(width) for cell in row).rstrip()
        for k, row in enumerate(rows)
    )
