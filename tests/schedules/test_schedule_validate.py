"""The validator rejects each kind of broken schedule and names the stage at fault."""

from __future__ import annotations

import dataclasses

import pytest

from dnibench.schedules import (
    Action,
    Schedule,
    ScheduleError,
    dni,
    execution_order,
    gpipe,
    unlock,
    validate,
    zero_bubble_h1,
)


def _schedule(*lines: str, microbatches: int = 2, **kwargs: object) -> Schedule:
    return Schedule.from_lines(list(lines), microbatches=microbatches, **kwargs)  # type: ignore[arg-type]


def _drop(schedule: Schedule, stage: int, text: str) -> Schedule:
    """``schedule`` with the action ``text`` removed from ``stage``."""
    gone = Action.parse(text)
    actions = list(schedule.actions)
    actions[stage] = tuple(a for a in actions[stage] if a != gone)
    return dataclasses.replace(schedule, actions=tuple(actions))


def _reject(schedule: Schedule, *fragments: str) -> str:
    with pytest.raises(ScheduleError) as info:
        validate(schedule)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_schedule_error_is_a_value_error() -> None:
    assert issubclass(ScheduleError, ValueError)


def test_a_real_deadlock_names_every_stuck_stage() -> None:
    # Stage 0 wants B0 before it sends F1; stage 1 wants F1 before it does B0.
    # Both links keep FIFO order (0 then 1), so only the simulation catches it.
    schedule = _schedule("F0 B0 F1 B1 U", "F0 F1 B0 B1 U")
    message = _reject(
        schedule,
        "deadlock",
        "stage 0 waits at B0 for stage 1's B0 or D0 or S0",
        "stage 1 waits at F1 for stage 0's F1",
    )
    assert "out of order" not in message


def test_deadlock_through_an_sg_update() -> None:
    # Stage 0 insists on G0 before sending F1, but the last stage needs F1 before B0.
    schedule = _schedule("F0 S0 G0 F1 S1 U G1", "F0 F1 B0 B1 U", staleness=0)
    _reject(schedule, "stage 0 waits at G0 for stage 1's B0 or D0 or S0", "stage 1 waits at F1")


def test_a_gradient_fifo_mismatch_is_not_a_deadlock() -> None:
    # Stage 1 sends deltas for 0 then 1; stage 0 reads the first as B1's gradient.
    schedule = _schedule("F0 F1 B1 B0 U", "F0 B0 F1 B1 U")
    assert len(execution_order(schedule)) == 10  # every action can run: no deadlock
    _reject(schedule, "deltas from stage 1 to stage 0 out of order", "reads it at B1")


def test_an_activation_fifo_mismatch() -> None:
    schedule = _schedule("F0 F1 B0 B1 U", "F1 F0 B0 B1 U")
    _reject(schedule, "activations from stage 0 to stage 1 out of order", "reads it at F1")


def test_sg_updates_must_read_deltas_in_send_order() -> None:
    schedule = _schedule("F0 S0 U F1 S1 U G1 G0", "F0 B0 U F1 B1 U", staleness=2)
    _reject(schedule, "deltas from stage 1 to stage 0 out of order", "G1")


def test_si_updates_must_read_activations_in_send_order() -> None:
    schedule = _schedule(
        "F0 S0 U F1 S1 U G0 G1", "F0 B0 U F1 B1 U I1 I0", forward_locked=False, staleness=2
    )
    _reject(schedule, "activations from stage 0 to stage 1 out of order", "I1")


def test_a_dropped_forward_is_named() -> None:
    _reject(_drop(gpipe(3, 4), 1, "F2"), "stage 1", "drops microbatch 2: no F2")


def test_a_dropped_backward_is_named() -> None:
    _reject(_drop(gpipe(3, 4), 2, "B3"), "stage 2", "drops microbatch 3: no B3")
    _reject(_drop(dni(3, 4), 0, "S1"), "stage 0", "drops microbatch 1: no B1, D1 or S1")


def test_a_missing_sg_update_is_a_dropped_microbatch() -> None:
    _reject(_drop(dni(3, 4), 1, "G2"), "stage 1", "drops microbatch 2: S2 without G2")


def test_a_missing_si_update_is_a_dropped_microbatch() -> None:
    _reject(_drop(unlock(3, 4), 2, "I0"), "stage 2", "drops microbatch 0: no I0")


def test_duplicates_are_rejected() -> None:
    _reject(_schedule("F0 F1 F1 B0 B1 U", microbatches=2), "stage 0", "F1 twice")
    _reject(_schedule("F0 B0 B0 U", microbatches=1), "B0 twice")
    _reject(_schedule("F0 S0 B0 U G0", "F0 B0 U", microbatches=1), "both S0 and B0")


def test_out_of_range_microbatch() -> None:
    _reject(_schedule("F0 F2 B0 B2 U", microbatches=2), "F2 names microbatch 2, out of range 0..1")


def test_synthetic_backward_on_the_last_stage() -> None:
    _reject(
        _schedule("F0 S0 U G0", "F0 S0 U", microbatches=1),
        "stage 1",
        "S0 on the last stage",
        "use B0",
    )


def test_sg_update_where_it_does_not_belong() -> None:
    _reject(_schedule("F0 B0 U G0", microbatches=1), "G0 on the last stage")
    _reject(_schedule("F0 B0 U G0", "F0 B0 U", microbatches=1), "G0 but B0 is a true backward")


def test_si_update_where_it_does_not_belong() -> None:
    _reject(
        _schedule("F0 B0 U I0", "F0 B0 U", microbatches=1, forward_locked=False),
        "stage 0",
        "first stage",
    )
    _reject(_schedule("F0 B0 U", "F0 B0 U I0", microbatches=1), "forward-locked")


def test_every_stage_needs_a_closing_update() -> None:
    _reject(_schedule("F0 B0", microbatches=1), "no U")
    _reject(_schedule("F0 U B0", microbatches=1), "B0 after the last U")
    # SG and SI updates may follow the last U: they step their own optimisers.
    validate(_schedule("F0 S0 U G0", "F0 B0 U", microbatches=1, staleness=0))


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (("B0 F0 U",), "B0 comes before F0"),
        (("F0 G0 S0 U", "F0 B0 U"), "G0 comes before S0"),
        (("F0 S0 U G0", "I0 F0 B0 U"), "I0 comes before F0"),
    ],
)
def test_each_microbatch_runs_in_order_on_its_stage(lines: tuple[str, ...], fragment: str) -> None:
    _reject(_schedule(*lines, microbatches=1, forward_locked="I0" not in lines[-1]), fragment)


def test_staleness_bound_is_enforced() -> None:
    # Built for staleness 2, declared as staleness 0: G0 now comes too late.
    loose = dni(3, 4, staleness=2)
    _reject(
        dataclasses.replace(loose, staleness=0),
        "stage 0",
        "F1 starts before G0",
        "staleness 0",
    )
    validate(dataclasses.replace(loose, staleness=3))


def test_staleness_bound_covers_si_updates() -> None:
    # Stage 0 keeps the bound; the last stage leaves I0 until after F1.
    schedule = _schedule(
        "F0 S0 U G0 F1 S1 U G1", "F0 B0 U F1 B1 U I0 I1", forward_locked=False, staleness=0
    )
    _reject(schedule, "stage 1: F1 starts before I0", "staleness 0")
    validate(dataclasses.replace(schedule, staleness=1))
    loose = unlock(3, 4, staleness=1)
    _reject(dataclasses.replace(loose, staleness=0), "stage 0: F1 starts before G0")


def test_backprop_schedules_have_no_staleness_check() -> None:
    validate(gpipe(3, 4))


# -- the split backward (D, W) --------------------------------------------


def test_a_split_backward_needs_both_halves_once() -> None:
    zb = zero_bubble_h1(3, 4)
    validate(zb)
    _reject(_drop(zb, 1, "W2"), "stage 1", "drops microbatch 2: D2 without W2")
    _reject(_drop(zb, 2, "D3"), "stage 2", "drops microbatch 3: no B3 or D3")
    _reject(_drop(zb, 0, "D0"), "stage 0", "drops microbatch 0: no B0, D0 or S0")
    _reject(_schedule("F0 D0 W0 W0 U", microbatches=1), "W0 twice")
    _reject(_schedule("F0 B0 D0 W0 U", microbatches=1), "both B0 and D0")
    _reject(_schedule("F0 B0 W0 U", microbatches=1), "W0 but B0 is not a split backward")


def test_w_comes_after_d_and_before_the_update() -> None:
    _reject(_schedule("F0 W0 D0 U", microbatches=1), "W0 comes before D0")
    _reject(_schedule("F0 D0 U W0", microbatches=1), "W0 after the last U")


def test_d_reads_deltas_in_send_order_and_waits_for_them() -> None:
    # Stage 1 sends D1 before D0, stage 0 reads D0 first: mis-paired messages.
    _reject(
        _schedule("F0 F1 D0 W0 D1 W1 U", "F0 F1 D1 D0 W0 W1 U"),
        "deltas from stage 1 to stage 0 out of order",
    )
    # A D on stage 0 waits for stage 1's D (or B) of the same microbatch: a real wait cycle.
    _reject(_schedule("F0 D0 F1 W0 D1 W1 U", "F0 F1 D0 W0 D1 W1 U"), "deadlock")
    validate(_schedule("F0 F1 D0 W0 D1 W1 U", "F0 B0 F1 B1 U"))  # D may read a fused B's delta


def test_split_backward_only_in_locked_schedules() -> None:
    _reject(
        _schedule("F0 S0 U G0", "F0 D0 W0 U I0", microbatches=1, forward_locked=False),
        "D0 in an unlocked schedule",
    )
