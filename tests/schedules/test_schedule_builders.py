"""The built-in schedules: every one validates, and each has its textbook shape."""

from __future__ import annotations

import itertools

import pytest

from dnibench.errors import UserError
from dnibench.modes import SCHEDULE_NAMES, build_schedule
from dnibench.schedules import (
    Op,
    cdni,
    dni,
    gpipe,
    one_f_one_b,
    sequential,
    simulate,
    unlock,
    validate,
    zero_bubble_h1,
)
from dnibench.schedules.actions import Action


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
@pytest.mark.parametrize("num_stages", range(1, 6))
def test_every_builder_validates(name: str, num_stages: int) -> None:
    for microbatches in range(1, 9):
        for staleness in range(3):
            schedule = build_schedule(name, num_stages, microbatches, staleness)
            validate(schedule)
            assert schedule.name == name
            assert schedule.num_stages == num_stages
            assert schedule.microbatches == microbatches


def test_sequential_and_gpipe_orders() -> None:
    assert str(sequential(2, 3)) == ("stage 0: F0 B0 F1 B1 F2 B2 U\nstage 1: F0 B0 F1 B1 F2 B2 U")
    assert str(gpipe(2, 3)) == "stage 0: F0 F1 F2 B0 B1 B2 U\nstage 1: F0 F1 F2 B0 B1 B2 U"
    assert gpipe(2, 3).forward_locked
    assert gpipe(2, 3).staleness is None


def test_sequential_keeps_one_microbatch_in_flight_pipeline_wide() -> None:
    timeline = simulate(sequential(4, 5))
    spans = []
    for i in range(5):
        times = [(s, e) for stage in timeline for a, s, e in stage if a.mb == i]
        spans.append((min(s for s, _ in times), max(e for _, e in times)))
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start


def test_one_f_one_b_order() -> None:
    assert str(one_f_one_b(4, 6)) == (
        "stage 0: F0 F1 F2 F3 B0 F4 B1 F5 B2 B3 B4 B5 U\n"
        "stage 1: F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 B4 B5 U\n"
        "stage 2: F0 F1 B0 F2 B1 F3 B2 F4 B3 F5 B4 B5 U\n"
        "stage 3: F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5 U"
    )
    # Fewer microbatches than warm-up slots: the first stages become GPipe.
    assert str(one_f_one_b(4, 2)).splitlines()[0] == "stage 0: F0 F1 B0 B1 U"


def test_dni_places_each_sg_update_at_its_staleness_deadline() -> None:
    assert str(dni(2, 3)) == (
        "stage 0: F0 S0 U G0 F1 S1 U G1 F2 S2 U G2\nstage 1: F0 B0 U F1 B1 U F2 B2 U"
    )
    stale = dni(3, 4, staleness=1)
    assert stale.stage_actions(0) == stale.stage_actions(1)
    assert " ".join(map(str, stale.stage_actions(0))) == (
        "F0 S0 U F1 S1 U G0 F2 S2 U G1 F3 S3 U G2 G3"
    )
    assert stale.forward_locked
    assert stale.staleness == 1


def test_large_staleness_leaves_every_sg_update_to_the_end() -> None:
    schedule = dni(2, 3, staleness=5)
    assert " ".join(map(str, schedule.stage_actions(0))) == "F0 S0 U F1 S1 U F2 S2 U G0 G1 G2"


def test_cdni_is_dni_under_its_own_name() -> None:
    assert build_schedule("cdni", 3, 4, 1).name == "cdni"
    assert cdni(3, 4, 1).name != dni(3, 4, 1).name
    assert cdni(3, 4, 1).actions == dni(3, 4, 1).actions


def test_unlock_adds_si_updates_and_unlocks_forwards() -> None:
    schedule = unlock(3, 2)
    assert not schedule.forward_locked
    assert str(schedule) == (
        "stage 0: F0 S0 U G0 F1 S1 U G1\n"
        "stage 1: F0 S0 U I0 G0 F1 S1 U I1 G1\n"
        "stage 2: F0 B0 U I0 F1 B1 U I1"
    )
    single = unlock(1, 2)
    assert all(a.op not in (Op.SI_UPDATE, Op.SG_UPDATE) for a in single.stage_actions(0))


def test_last_stage_of_unlocked_schedules_uses_the_true_loss() -> None:
    for builder in (dni, cdni, unlock):
        last = builder(4, 3).stage_actions(3)
        assert not any(a.op in (Op.SYNTH_BACKWARD, Op.SG_UPDATE) for a in last)
        assert sum(a.op is Op.UPDATE for a in last) == 3


def test_build_schedule_rejects_unknown_names_with_a_hint() -> None:
    with pytest.raises(UserError, match=r"unknown schedule 'gpip'.*Did you mean 'gpipe'"):
        build_schedule("gpip", 2, 2)


@pytest.mark.parametrize(
    ("num_stages", "microbatches", "staleness", "fragment"),
    [(0, 1, 0, "stage"), (1, 0, 0, "microbatch"), (2, 2, -1, "staleness")],
)
@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_build_schedule_rejects_bad_sizes(
    name: str, num_stages: int, microbatches: int, staleness: int, fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        build_schedule(name, num_stages, microbatches, staleness)


def test_zero_bubble_h1_order() -> None:
    assert str(zero_bubble_h1(4, 6)) == (
        "stage 0: F0 F1 F2 F3 D0 W0 F4 D1 W1 F5 D2 W2 D3 W3 D4 W4 D5 W5 U\n"
        "stage 1: F0 F1 F2 D0 F3 D1 W0 F4 D2 W1 F5 D3 W2 D4 W3 D5 W4 W5 U\n"
        "stage 2: F0 F1 D0 F2 D1 F3 D2 W0 F4 D3 W1 F5 D4 W2 D5 W3 W4 W5 U\n"
        "stage 3: F0 D0 F1 D1 F2 D2 F3 D3 W0 F4 D4 W1 F5 D5 W2 W3 W4 W5 U"
    )
    assert build_schedule("zb", 4, 6).actions == zero_bubble_h1(4, 6).actions
    assert zero_bubble_h1(2, 2).forward_locked
    assert zero_bubble_h1(2, 2).staleness is None


@pytest.mark.parametrize("num_stages", range(1, 7))
@pytest.mark.parametrize("microbatches", range(1, 10))
def test_zero_bubble_h1_is_1f1b_with_each_backward_split_and_w_deferred(
    num_stages: int, microbatches: int
) -> None:
    """Fusing each D back into a B and dropping the W's gives 1F1B exactly."""
    zb = zero_bubble_h1(num_stages, microbatches)
    validate(zb)
    for k in range(num_stages):
        actions = zb.stage_actions(k)
        fused = tuple(
            Action(Op.BACKWARD, a.mb) if a.op is Op.BACKWARD_INPUT else a
            for a in actions
            if a.op is not Op.BACKWARD_WEIGHT
        )
        assert fused == one_f_one_b(num_stages, microbatches).stage_actions(k)
        for op in (Op.FORWARD, Op.BACKWARD_INPUT, Op.BACKWARD_WEIGHT):
            assert sorted(a.mb for a in actions if a.op is op) == list(range(microbatches))
        # Stage k defers its first k weight passes (as many as its forwards allow):
        # its first W runs after that many D's, plus the D the W follows if one is left.
        kinds = [a.op for a in actions]
        inputs_before_first_w = kinds[: kinds.index(Op.BACKWARD_WEIGHT)].count(Op.BACKWARD_INPUT)
        deferred = min(k, microbatches - min(microbatches, num_stages - k - 1))
        assert inputs_before_first_w == min(microbatches, deferred + 1)
