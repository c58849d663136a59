"""The asynchronous schedules: 1F1B without a flush, valid for every size."""

from __future__ import annotations

import pytest

from dnibench.schedules import Op, validate
from dnibench.schedules.async_builders import pipedream, pipedream_2bw, pipemare

BUILDERS = [pipedream, pipedream_2bw, pipemare]


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
