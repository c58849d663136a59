"""Pipeline schedules as plain data, with a validator and an idealised timeline.

A schedule lists, per stage, the operations of one training step
(:class:`Action` such as ``F3``, ``B0``, ``S2``, ``G1``, ``I1``, ``U``). Tests
check schedules without processes; runtimes execute them.
"""

from dnibench.schedules.actions import Action, Dependency, Op, Schedule
from dnibench.schedules.builders import (
    cdni,
    check_sizes,
    dni,
    gpipe,
    one_f_one_b,
    sequential,
    unlock,
    zero_bubble_h1,
)
from dnibench.schedules.timeline import (
    DEFAULT_COSTS,
    bubble_fraction,
    makespan,
    peak_in_flight,
    render,
    simulate,
)
from dnibench.schedules.validate import ScheduleError, execution_order, validate

__all__ = [
    "DEFAULT_COSTS",
    "Action",
    "Dependency",
    "Op",
    "Schedule",
    "ScheduleError",
    "bubble_fraction",
    "cdni",
    "check_sizes",
    "dni",
    "execution_order",
    "gpipe",
    "makespan",
    "one_f_one_b",
    "peak_in_flight",
    "render",
    "sequential",
    "simulate",
    "unlock",
    "validate",
    "zero_bubble_h1",
]
