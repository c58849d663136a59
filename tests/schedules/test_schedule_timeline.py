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
    zero_bubble_h1,
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


def _drawing_in_docstring(function: object) -> str:
    """The ``stage N: ...`` lines of a builder's docstring, indentation removed."""
    lines = (getattr(function, "__doc__", "") or "").splitlines()
    return "\n".join(line.strip() for line in lines if line.strip().startswith("stage "))


def test_render_zero_bubble_h1_is_the_picture_in_its_docstring() -> None:
    drawn = render(zero_bubble_h1(3, 4))
    assert drawn == "\n".join(
        [
            "stage 0: F0 F1 F2 .  .  D0 W0 F3 D1 W1 D2 W2 D3 W3",
            "stage 1: .  F0 F1 .  D0 F2 D1 W0 F3 D2 W1 D3 W2 W3",
            "stage 2: .  .  F0 D0 F1 D1 F2 D2 W0 F3 D3 W1 W2 W3",
        ]
    )
    assert _drawing_in_docstring(zero_bubble_h1) == drawn


@pytest.mark.parametrize(("num_stages", "microbatches"), [(2, 4), (3, 4), (4, 8), (4, 16)])
def test_zero_bubble_h1_cuts_the_1f1b_bubble_to_about_a_third(
    num_stages: int, microbatches: int
) -> None:
    """With D = W = F and B = D + W, only the warm-up bubble of K-1 forwards is left."""
    zb = makespan(simulate(zero_bubble_h1(num_stages, microbatches)))
    fused = makespan(simulate(one_f_one_b(num_stages, microbatches)))
    work = 3 * microbatches  # F + D + W (= F + B) per microbatch on each stage
    assert fused == work + 3 * (num_stages - 1)  # 1F1B: (K-1) (F + B) of bubble
    assert zb == work + (num_stages - 1)  # ZB-H1: (K-1) F of bubble
    assert fused - work == 3 * (zb - work)


@pytest.mark.parametrize("num_stages", range(1, 6))
@pytest.mark.parametrize("microbatches", range(1, 9))
def test_zero_bubble_h1_keeps_the_peak_activation_memory_of_1f1b(
    num_stages: int, microbatches: int
) -> None:
    """A graph is held from F to W; the most any stage holds is 1F1B's first stage's."""
    zb = peak_in_flight(zero_bubble_h1(num_stages, microbatches))
    one = peak_in_flight(one_f_one_b(num_stages, microbatches))
    assert zb == [min(microbatches, num_stages)] * num_stages
    assert max(zb) == max(one)
