"""The seed rule shared by every suite: report seeds and calibration seeds, disjoint.

Any setting or target chosen from runs (a width, a learning rate, a target
quality) is chosen on the calibration seeds; verdicts are reported on the
report seeds. A verdict then cannot hold merely because its knobs were
tuned on the very runs it is read from.
"""

from __future__ import annotations

from collections.abc import Iterable

REPORT_SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
CALIBRATION_SEEDS: tuple[int, ...] = (100, 101, 102)


def check_disjoint(calibration: Iterable[int], report: Iterable[int], where: str = "") -> None:
    """Raise ValueError naming ``where`` when a calibration seed is also a report seed."""
    shared = sorted(set(calibration) & set(report))
    if shared:
        place = f"{where}: " if where else ""
        raise ValueError(
            f"{place}seeds {shared} are both calibration and report seeds; settings chosen "
            f"on calibration seeds must be judged on other seeds (report seeds "
            f"{list(REPORT_SEEDS)}, calibration seeds {list(CALIBRATION_SEEDS)})"
        )


__all__ = ["CALIBRATION_SEEDS", "REPORT_SEEDS", "check_disjoint"]
