"""The seed rule: report and calibration seeds are disjoint, and overlap is refused."""

from __future__ import annotations

import pytest

from dnibench.stats import CALIBRATION_SEEDS, REPORT_SEEDS, check_disjoint


def test_the_two_seed_sets_are_disjoint() -> None:
    assert not set(REPORT_SEEDS) & set(CALIBRATION_SEEDS)
    assert REPORT_SEEDS == (0, 1, 2, 3, 4)
    assert CALIBRATION_SEEDS == (100, 101, 102)


def test_overlap_is_refused_with_the_place_named() -> None:
    with pytest.raises(ValueError, match=r"suites/ttq.toml: seeds \[2\]"):
        check_disjoint([100, 2], REPORT_SEEDS, "suites/ttq.toml")
    check_disjoint(CALIBRATION_SEEDS, REPORT_SEEDS)
