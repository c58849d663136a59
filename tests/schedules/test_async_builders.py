"""The asynchronous schedules: 1F1B without a flush, valid for every size."""

from __future__ import annotations

import pytest

from dnibench.schedules import Action, Op, Schedule, ScheduleError, validate
from dnibench.schedules.async_builders import dgl, pipedream, pipedream_2bw, pipemare

BUILDERS = [pipedream, pipedream_2bw, pipemare, dgl]


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_every_size_validates(builder) -> None:
    for stages in range(1, 6):
        for microbatches in range(1, 6):
            for steps in (1, 3):
                schedule = builder(stages, microbatches, steps)
                validate(schedule)
                assert schedule.microbatches == microbatches * steps


def test_pipedream_is_drawn_as_in_its_docstring() -> None:
    assert str(pipedream(3, 2, 2)).splitlines() == [
        "stage 0: F0 F1 F2 B0 U F3 B1 U B2 U B3 U",
        "stage 1: F0 F1 B0 U F2 B1 U F3 B2 U B3 U",
        "stage 2: F0 B0 U F1 B1 U F2 B2 U F3 B3 U",
    ]


def test_updates_after_every_backward_or_after_each_steps_last() -> None:
    for builder, per_step in ((pipedream, False), (pipemare, False), (pipedream_2bw, True)):
        schedule = builder(3, 4, 2)
        for stage in schedule.actions:
            updates = sum(action.op is Op.UPDATE for action in stage)
            assert updates == (2 if per_step else 8)


def test_no_flush_the_next_steps_forward_comes_before_the_last_backward() -> None:
    stage0 = [str(a) for a in pipedream_2bw(3, 3, 2).stage_actions(0)]
    assert stage0.index("F3") < stage0.index("B2")
    with pytest.raises(ValueError, match="at least one step"):
        pipedream(2, 2, 0)


def test_dgl_runs_forward_and_local_backward_and_nothing_waits_on_a_backward() -> None:
    schedule = dgl(3, 2, 2)
    assert str(schedule).splitlines()[1] == "stage 1: F0 L0 F1 L1 U F2 L2 F3 L3 U"
    assert schedule.dependencies(0, Action(Op.LOCAL_BACKWARD, 0)) == ()
    # A true backward above a local one waits for a delta that never comes.
    mixed = Schedule.from_lines(["F0 B0 U", "F0 L0 U"], microbatches=1)
    with pytest.raises(ScheduleError, match="deadlock"):
        validate(mixed)
    with pytest.raises(ScheduleError, match="comes before F0"):
        validate(Schedule.from_lines(["L0 F0 U"], microbatches=1))
