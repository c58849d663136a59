"""Idealised timelines: textbook bubbles, activation bounds and the drawings."""

from __future__ import annotations

from fractions import Fraction

import pytest

from dnibench.schedules import (
    Action,
    Op,
    Schedule,
    ScheduleError,
    bubble_fraction,
    dni,
    gpipe,
    makespan,
    one_f_one_b,
    peak_in_flight,
    render,
    simulate,
    unlock,
)

UNIT = {Op.FORWARD: 1.0, Op.BACKWARD: 1.0}


@pytest.mark.parametrize("num_stages", range(1, 6))
@pytest.mark.parametrize("microbatches", [1, 2, 3, 4, 8])
def test_gpipe_bubble_is_textbook(num_stages: int, microbatches: int) -> None:
    expected = (num_stages - 1) / (microbatches + num_stages - 1)
    assert bubble_fraction(gpipe(num_stages, microbatches), UNIT) == pytest.approx(expected)
    # Backwards twice as long as forwards scale busy and idle time alike.
    assert bubble_fraction(gpipe(num_stages, microbatches)) == pytest.approx(expected)
    # 1F1B reorders work but has the same bubble.
    assert bubble_fraction(one_f_one_b(num_stages, microbatches), UNIT) == pytest.approx(expected)


def test_gpipe_makespan() -> None:
    assert makespan(simulate(gpipe(4, 4), UNIT)) == 2 * (4 + 4 - 1)
    assert makespan(simulate(gpipe(4, 4))) == 3 * (4 + 4 - 1)


def test_render_gpipe_shows_the_bubble() -> None:
    assert render(gpipe(4, 4)) == "\n".join(
        [
            "stage 0: F0 F1 F2 F3 .  .  .  .  .  .  .  .  .  B0 B0 B1 B1 B2 B2 B3 B3",
            "stage 1: .  F0 F1 F2 F3 .  .  .  .  .  .  B0 B0 B1 B1 B2 B2 B3 B3 .  .",
            "stage 2: .  .  F0 F1 F2 F3 .  .  .  B0 B0 B1 B1 B2 B2 B3 B3 .  .  .  .",
            "stage 3: .  .  .  F0 F1 F2 F3 B0 B0 B1 B1 B2 B2 B3 B3 .  .  .  .  .  .",
        ]
    )


def test_render_one_f_one_b() -> None:
    assert render(one_f_one_b(4, 4)) == "\n".join(
        [
            "stage 0: F0 F1 F2 F3 .  .  .  .  .  .  B0 B0 .  B1 B1 .  B2 B2 .  B3 B3",
            "stage 1: .  F0 F1 F2 .  .  .  .  B0 B0 F3 B1 B1 .  B2 B2 .  B3 B3 .  .",
            "stage 2: .  .  F0 F1 .  .  B0 B0 F2 B1 B1 F3 B2 B2 .  B3 B3 .  .  .  .",
            "stage 3: .  .  .  F0 B0 B0 F1 B1 B1 F2 B2 B2 F3 B3 B3 .  .  .  .  .  .",
        ]
    )


def test_render_unit_costs_and_wide_labels() -> None:
    assert render(gpipe(2, 2), UNIT) == "stage 0: F0 F1 .  .  B0 B1\nstage 1: .  F0 F1 B0 B1 ."
    wide = render(gpipe(1, 11), UNIT)
    assert wide.startswith("stage 0: F0  F1  F2 ")
    assert wide.endswith("B9  B10")


def test_render_needs_whole_unit_costs() -> None:
    with pytest.raises(ValueError, match="whole-unit"):
        render(gpipe(2, 2), {Op.FORWARD: 0.5})


def test_costs_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="cost of F"):
        simulate(gpipe(2, 2), {Op.FORWARD: -1.0})


def test_simulate_gives_start_and_end_per_action() -> None:
    timeline = simulate(gpipe(2, 1))
    assert timeline == [
        [(Action(Op.FORWARD, 0), 0.0, 1.0), (Action(Op.BACKWARD, 0), 4.0, 6.0),
         (Action(Op.UPDATE), 6.0, 6.0)],
        [(Action(Op.FORWARD, 0), 1.0, 2.0), (Action(Op.BACKWARD, 0), 2.0, 4.0),
         (Action(Op.UPDATE), 4.0, 4.0)],
    ]  # fmt: skip


def test_simulate_reports_deadlock() -> None:
    schedule = Schedule.from_lines(["F0 B0 F1 B1 U", "F0 F1 B0 B1 U"], microbatches=2)
    with pytest.raises(ScheduleError, match="deadlock"):
        simulate(schedule)


def test_dni_beats_gpipe_and_unlock_lets_every_stage_start_at_once() -> None:
    # The last stage (F + true B) is DNI's bottleneck; nobody waits for a full round trip.
    assert makespan(simulate(gpipe(4, 8))) == 33
    assert makespan(simulate(dni(4, 8, staleness=2))) == 3 + 8 * 3
    timeline = simulate(unlock(4, 8))
    assert all(stage[0][1] == 0.0 for stage in timeline)


@pytest.mark.parametrize("num_stages", range(1, 6))
@pytest.mark.parametrize("microbatches", range(1, 9))
def test_peak_in_flight(num_stages: int, microbatches: int) -> None:
    one = peak_in_flight(one_f_one_b(num_stages, microbatches))
    assert one == [min(microbatches, num_stages - k) for k in range(num_stages)]
    assert all(peak <= num_stages - k for k, peak in enumerate(one))
    assert peak_in_flight(gpipe(num_stages, microbatches)) == [microbatches] * num_stages
    assert peak_in_flight(dni(num_stages, microbatches, 2)) == [1] * num_stages


def test_bubble_fraction_of_one_stage_is_zero() -> None:
    assert bubble_fraction(gpipe(1, 3)) == 0.0
    assert Fraction(bubble_fraction(gpipe(3, 3), UNIT)).limit_denominator(100) == Fraction(2, 5)
