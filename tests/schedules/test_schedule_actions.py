"""Actions and schedules as data: parsing, printing, shape checks, dependency rules."""

from __future__ import annotations

import pytest

from dnibench.schedules import Action, Dependency, Op, Schedule


@pytest.mark.parametrize("text", ["F0", "F3", "B12", "S0", "G7", "I1", "U"])
def test_parse_and_str_round_trip(text: str) -> None:
    action = Action.parse(text)
    assert str(action) == text
    assert Action.parse(str(action)) == action


def test_parse_reads_op_and_microbatch() -> None:
    assert Action.parse("S4") == Action(Op.SYNTH_BACKWARD, 4)
    assert Action.parse(" U ") == Action(Op.UPDATE)
    assert Action.parse("U").mb is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "cannot parse action ''"),
        ("X1", "unknown op 'X'"),
        ("F", "F needs a microbatch"),
        ("U3", "U concerns no microbatch"),
        ("F-1", "cannot parse action 'F-1'"),
        ("F01", "cannot parse action 'F01'"),
        ("3F", "cannot parse action '3F'"),
        ("f3", "cannot parse action 'f3'"),
        ("FB1", "cannot parse action 'FB1'"),
    ],
)
def test_parse_rejects_junk_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="cannot parse action") as info:
        Action.parse(text)
    assert fragment in str(info.value)


def test_action_rejects_malformed_fields() -> None:
    with pytest.raises(ValueError, match="needs a microbatch"):
        Action(Op.FORWARD)
    with pytest.raises(ValueError, match="no microbatch"):
        Action(Op.UPDATE, 0)
    with pytest.raises(ValueError, match="non-negative"):
        Action(Op.BACKWARD, -1)
    with pytest.raises(TypeError, match="must be an Op"):
        Action("F", 0)  # type: ignore[arg-type]


def test_op_values_are_the_action_letters() -> None:
    # New ops are appended: letters already in schedule listings never change meaning.
    assert [op.value for op in Op] == ["F", "B", "S", "G", "I", "U", "D", "W", "L"]
    assert Op("S") is Op.SYNTH_BACKWARD
    assert Op("D") is Op.BACKWARD_INPUT
    assert Op("W") is Op.BACKWARD_WEIGHT
    assert Op("L") is Op.LOCAL_BACKWARD


def test_schedule_str_and_stage_actions() -> None:
    schedule = Schedule.from_lines(["F0 F1 B0 B1 U", "F0 B0 F1 B1 U"], microbatches=2)
    assert str(schedule) == "stage 0: F0 F1 B0 B1 U\nstage 1: F0 B0 F1 B1 U"
    assert schedule.num_stages == 2
    assert schedule.stage_actions(1)[1] == Action(Op.BACKWARD, 0)
    with pytest.raises(IndexError):
        schedule.stage_actions(2)


def test_schedule_stores_tuples_and_checks_its_shape() -> None:
    schedule = Schedule("s", 1, 1, [[Action(Op.FORWARD, 0)]])  # type: ignore[arg-type]
    assert isinstance(schedule.actions, tuple)
    assert isinstance(schedule.actions[0], tuple)
    with pytest.raises(ValueError, match="2 action lists for 1 stages"):
        Schedule("s", 1, 1, ((), ()))
    with pytest.raises(ValueError, match="at least one microbatch"):
        Schedule("s", 1, 0, ((),))
    with pytest.raises(ValueError, match="at least one stage"):
        Schedule("s", 0, 1, ())
    with pytest.raises(ValueError, match="staleness"):
        Schedule("s", 1, 1, ((),), staleness=-1)


def test_dependencies_follow_the_op_rules() -> None:
    locked = Schedule.from_lines(["F0", "F0", "F0"], microbatches=1)
    unlocked = Schedule.from_lines(["F0", "F0", "F0"], microbatches=1, forward_locked=False)
    from_below = frozenset({Op.BACKWARD, Op.SYNTH_BACKWARD, Op.BACKWARD_INPUT})
    assert locked.dependencies(0, Action(Op.FORWARD, 0)) == ()
    assert locked.dependencies(1, Action(Op.FORWARD, 0)) == (
        Dependency(0, frozenset({Op.FORWARD}), 0),
    )
    assert unlocked.dependencies(1, Action(Op.FORWARD, 0)) == ()
    assert locked.dependencies(1, Action(Op.BACKWARD, 2)) == (Dependency(2, from_below, 2),)
    assert locked.dependencies(2, Action(Op.BACKWARD, 2)) == ()
    assert locked.dependencies(0, Action(Op.SYNTH_BACKWARD, 0)) == ()
    assert locked.dependencies(0, Action(Op.SG_UPDATE, 1)) == (Dependency(1, from_below, 1),)
    assert unlocked.dependencies(2, Action(Op.SI_UPDATE, 3)) == (
        Dependency(1, frozenset({Op.FORWARD}), 3),
    )
    assert locked.dependencies(1, Action(Op.UPDATE)) == ()
    # D waits for the delta like B; W needs nothing from another stage.
    assert locked.dependencies(1, Action(Op.BACKWARD_INPUT, 2)) == (Dependency(2, from_below, 2),)
    assert locked.dependencies(2, Action(Op.BACKWARD_INPUT, 2)) == ()
    assert locked.dependencies(0, Action(Op.BACKWARD_WEIGHT, 1)) == ()
    assert str(Dependency(2, from_below, 1)) == "stage 2's B1 or D1 or S1"
