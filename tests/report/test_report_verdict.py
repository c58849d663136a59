"""The one Target type and its verdict words (dnibench.report.verdict)."""

from __future__ import annotations

import math

import pytest

from dnibench.report.verdict import Target, Verdict


def test_vocabulary_is_the_issue_words() -> None:
    assert [str(v) for v in Verdict] == [
        "met", "missed", "inconclusive", "not testable", "not measured", "not reached",
        "diverged", "not applicable", "quoted (no goal)",
    ]  # fmt: skip


def test_detail_row_states_the_gap_in_the_goal_units() -> None:
    missed = Target("eff", 0.85, 0.9, ">=", detail="throughput / ideal")
    assert missed.detail_row() == "| eff | 0.850 | >= 0.9 | missed by 0.050 | throughput / ideal |"
    assert Target("idle", 4.0, 5.0, "<=").detail_row().split(" | ")[3] == "met"


def test_unmeasured_and_untestable_are_never_met_or_missed() -> None:
    assert Target("a", math.nan, 1.0, ">=").verdict == "not measured"
    assert "not measured" in Target("a", math.nan, 1.0, ">=").detail_row()
    assert Target("a", 2.0, 1.0, ">=", untestable="no premise").verdict.startswith("not testable")
    assert Target("a", 2.0, math.nan, ">=").verdict == "quoted (no goal)"


def test_unknown_comparator_is_refused() -> None:
    with pytest.raises(ValueError, match="better"):
        Target("a", 1.0, 1.0, "=>")
